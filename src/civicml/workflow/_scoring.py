"""Batch scoring with a verified bundle: one file written atomically (:func:`score_file`), or a
partitioned dataset streamed through an engine into Parquet parts keyed by each input's name
and content, resumably and with rows in checked against rows out (:func:`score_partitions`;
naming, manifest and output folder in :mod:`civicml.workflow._partitions`)."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import ContractError, DataError
from civicml._text import guard_csv_cells
from civicml.workflow._partitions import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    HashingFile,
    check_rows,
    clean_temporaries,
    file_sha256,
    input_root,
    is_remote,
    list_partitions,
    location,
    manifest_entry,
    open_location,
    output_name,
    partition_name,
    plan_run,
    read_manifest,
    refuse_other_bundle,
    refuse_output_inside_input,
    write_manifest,
)

__all__ = [
    "MANIFEST_NAME",
    "POLICIES",
    "BatchScorer",
    "InputCheck",
    "is_remote",
    "list_partitions",
    "score_file",
    "score_partition",
    "score_partitions",
]


#: The contract policies ``civicml predict`` applies, with the server's defaults (see
#: ``ServeOptions``): an unseen category, a number outside the training range and a column the
#: model does not use are refused unless allowed.
POLICIES: dict[str, str] = {
    "unknown_category": "reject",
    "out_of_range": "reject",
    "extra_columns": "reject",
}


class InputCheck:
    """The contract check for rows to score: :func:`civicml.data.validate_data` over the
    model's inputs with the serving policies, so a file gets the verdict ``civicml serve``
    gives the same rows in a request. Vectorised; one batch at a time, with file row numbers.

    Errors are gathered across batches by column and rule (:meth:`error` raises them as one
    :class:`~civicml._errors.ContractError`, exit 2).
    """

    def __init__(
        self,
        contract: dict[str, Any] | None,
        features: list[str],
        *,
        passthrough: list[str],
        policies: dict[str, str] | None = None,
    ) -> None:
        from civicml.data import DataContract

        got = {**POLICIES, **(policies or {})}
        for key, value in got.items():
            if key not in POLICIES or value not in ("reject", "allow"):
                raise DataError.build(
                    f"Unknown scoring policy {key}={value!r}",
                    expected=f"one of {sorted(POLICIES)}, each 'reject' or 'allow'",
                    fix="Pass --unknown-category, --out-of-range or --extra-columns reject|allow",
                )
        self.policies = got
        self.contract = DataContract.from_dict(contract or {"columns": []})
        self.features = list(features)
        self.passthrough = list(passthrough)
        self.found: dict[tuple[str, str], list[Any]] = {}

    def check(self, frame: pd.DataFrame, first_row: int, columns: list[str] | None = None) -> bool:
        """Check one batch (``first_row``: its first row's number in the file); ``columns``:
        every column of the input when ``frame`` holds only some. True when it is clean."""
        from civicml.data import validate_data

        p = self.policies
        kwargs: dict[str, Any] = {
            "inputs": self.features,
            "passthrough": self.passthrough,
            "unknown_category": p["unknown_category"],
            "out_of_range": p["out_of_range"],
            "extra_columns": p["extra_columns"],
        }
        report = validate_data(frame, self.contract, first_row=first_row, **kwargs)
        issues = list(report.errors)
        if columns is not None and first_row == 1:  # extra columns: the input's names, once
            names = validate_data(pd.DataFrame(columns=columns), self.contract, **kwargs)
            issues += [i for i in names.errors if i.rule == "extra_column"]
        for i in issues:
            seen = self.found.setdefault((i.column, i.rule), [0, [], i.message])
            seen[0] += i.n_rows or len(frame)
            seen[1] = (seen[1] + list(i.examples))[:5]
        return not issues

    def error(self, where: str) -> ContractError:
        """The gathered problems as one error naming columns, rules and rows."""
        parts = []
        for (column, rule), (count, rows, message) in list(self.found.items())[:10]:
            at = f"row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))}"
            at = at + (", ..." if count > len(rows) else "") if rows else "every row"
            rows_in_all = f"{count:,} row{'s' if count != 1 else ''}"
            parts.append(f"{column!r}: {message.rstrip('.')} ({rule}, {rows_in_all}: {at})")
        more = f"; and {len(self.found) - 10} more" if len(self.found) > 10 else ""
        return ContractError.build(
            f"{where} does not match the model's data contract, nothing was scored: "
            f"{'; '.join(parts)}{more}",
            fix="Fix the named rows (civicml validate DATA --bundle BUNDLE lists them), or "
            "score them as they are with --unknown-category allow, --out-of-range allow or "
            "--extra-columns allow",
        )


def _input_check(bundle: Any, keep: list[str], policies: dict[str, str] | None) -> InputCheck:
    info = bundle.info
    contract = bundle.read_json("contract.json") if bundle.has("contract.json") else None
    passthrough = [*keep, *(info.get("id_columns") or [])]
    return InputCheck(
        contract, list(info.get("features", [])), passthrough=passthrough, policies=policies
    )


def score_file(
    bundle_dir: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    batch_rows: int = 50_000,
    keep: list[str] | None = None,
    progress: Any = None,
    policies: dict[str, str] | None = None,
) -> int:
    """Score ``data`` (CSV or Parquet) in batches and write ``out`` (.csv or .parquet).

    Every batch is first checked against the bundle's data contract as the server checks a
    request (:class:`InputCheck`, ``policies`` as :data:`POLICIES`); rows that fail stop the
    scoring, every batch is still checked, and one :class:`~civicml._errors.ContractError`
    names each column, rule and rows. The output is written to a temporary file beside ``out``
    and renamed into place, so a failure never leaves a half-written file; ``out`` may be an
    fsspec URL (``s3://bucket/scored.parquet``), uploaded whole once written. In a CSV, text
    cells (and column names) that a spreadsheet would run as a formula (starting ``=``, ``+``,
    ``-``, ``@``, tab or CR) get a leading ``'``; numbers stay numbers. Returns the number of
    rows scored.
    """
    from civicml.bundle import Predictor, iter_batches, load_bundle

    remote = is_remote(str(out))
    out_path = Path(str(out).rsplit("/", 1)[-1]) if remote else Path(out)
    suffix = out_path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise DataError.build(
            f"Cannot write predictions to {str(out)!r}",
            expected="a path ending in .csv or .parquet",
            got=out_path.name,
            fix="Pass --out predictions.csv or --out predictions.parquet",
        )
    predictor = Predictor(load_bundle(bundle_dir))
    keep_cols = list(dict.fromkeys([*predictor.id_columns, *(keep or [])]))
    checker = _input_check(predictor.bundle, keep_cols, policies)
    if not remote:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    # a URL: written here, then uploaded whole (an object store shows only complete objects)
    where = None if remote else out_path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=where)
    os.close(fd)
    tmp = Path(tmp_name)
    writer = None
    n = 0
    task = progress.add_task("scoring", total=None) if progress is not None else None
    try:
        if progress is not None:
            progress.start()
        for i, batch in enumerate(iter_batches(data, batch_rows)):
            if i == 0:
                predictor.check_columns(batch, where=str(data))
            if not checker.check(batch, first_row=n + 1) or checker.found:
                n += len(batch)  # nothing more is scored; the rest is still checked
                continue
            scored = predictor.predict(batch)
            present = [c for c in keep_cols if c in batch.columns]
            frame = pd.concat(
                [batch[present].reset_index(drop=True), scored.reset_index(drop=True)], axis=1
            )
            if suffix == ".csv":  # opened in spreadsheets: text cells that run as formulas guarded
                guard_csv_cells(frame).to_csv(tmp, mode="a", header=(i == 0), index=False)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
            n += len(batch)
            if progress is not None:
                progress.update(task, advance=len(batch))
        if writer is not None:
            writer.close()
            writer = None
        if checker.found:
            raise checker.error(repr(str(data)))
        if n == 0:
            raise DataError.build(
                f"{str(data)!r} has no rows to score", fix="Pass a file with rows"
            )
        if remote:
            fs, target = open_location(str(out))
            fs.put_file(str(tmp), target)
        else:
            os.replace(tmp, out_path)
    finally:
        if writer is not None:
            writer.close()
        if progress is not None:
            progress.stop()
        tmp.unlink(missing_ok=True)
    return n


# -- partitioned batch scoring on an engine -----------------------------------------------------


class BatchScorer:
    """Scores record batches with a bundle: ONNX Runtime on numpy arrays when the bundle holds a
    verified ``model.onnx`` (no pandas on the hot path), else the skops pipeline.

    Both paths write the same columns, those the server answers with: ``prediction``, and for
    classifiers ``score`` and ``decision`` (binary) and ``probability``.
    """

    def __init__(self, bundle_dir: str | Path, runtime: str = "auto") -> None:
        from civicml.bundle import load_bundle
        from civicml.serve import ModelRuntime, ServeOptions

        self.rt = ModelRuntime(
            load_bundle(bundle_dir),
            name="batch",
            version="batch",
            options=ServeOptions(runtime=runtime),
        )
        self.features = self.rt.features
        self.runtime = self.rt.runtime_name

    def columns_of(self, batch: Any) -> dict[str, np.ndarray]:
        """Feature columns of a ``pyarrow.RecordBatch`` as numpy arrays (strings as objects)."""
        import pyarrow as pa

        cols: dict[str, np.ndarray] = {}
        for check, kind in zip(self.rt.schema.columns, self.rt._kinds, strict=True):
            arr = batch.column(batch.schema.get_field_index(check.name))
            if kind == "num":
                if pa.types.is_dictionary(arr.type):
                    arr = arr.dictionary_decode()
                cols[check.name] = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            else:
                cols[check.name] = np.asarray(arr.to_pylist(), dtype=object)
        return cols

    def score(self, batch: Any) -> dict[str, np.ndarray]:
        """Output columns for one record batch."""
        rt = self.rt
        cols = self.columns_of(batch)
        sess = getattr(rt, "_session", None)
        if sess is None:
            out = rt.predictor.predict(rt.frame(cols))
            return {c: out[c].to_numpy() for c in rt.output_names if c in out.columns}
        raw = sess.run(rt._onnx_output, rt.onnx_feed(cols))[0]
        if rt.task == "regression":
            return {"prediction": np.asarray(raw, dtype=np.float64).ravel()}
        proba = np.asarray(raw, dtype=np.float64)
        res: dict[str, np.ndarray] = {}
        if rt.task == "binary":
            score = proba[:, 1]
            decision = (score >= rt._t).astype(np.int64)
            res["prediction"] = rt._classes[decision]
            res["score"], res["decision"] = score, decision
        else:
            res["prediction"] = rt._classes[np.argmax(proba, axis=1)]
        res["probability"] = proba.max(axis=1)
        return res


_SCORERS: dict[str, BatchScorer] = {}


def _scorer(bundle_dir: str, runtime: str) -> BatchScorer:
    """One scorer per bundle per process (a worker scores many partitions)."""
    key = f"{Path(bundle_dir).resolve()}|{runtime}"
    if key not in _SCORERS:
        _SCORERS[key] = BatchScorer(bundle_dir, runtime)
    return _SCORERS[key]


def _record_batches(path: Path | str, batch_rows: int) -> Any:
    import pyarrow as pa

    if is_remote(path):
        import fsspec
        import pyarrow.parquet as pq

        with fsspec.open(str(path), "rb") as fh:
            yield from pq.ParquetFile(fh).iter_batches(batch_size=batch_rows)
        return
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows)
        return
    from civicml.data import sniff_csv

    encoding, delimiter = sniff_csv(path)
    for frame in pd.read_csv(path, chunksize=batch_rows, sep=delimiter, encoding=encoding):
        yield pa.RecordBatch.from_pandas(frame, preserve_index=False)


def score_partition(
    job: tuple[str, str],
    bundle_dir: str,
    batch_rows: int,
    keep: list[str],
    runtime: str,
    policies: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Score one input partition into one Parquet part (runs on a worker).

    ``job`` is (input, output part): a path or fsspec URL each. The part is written through
    fsspec to a temporary name beside it (``.part-...tmp``) and moved into place only when
    whole, so a reader never sees half a part. Each batch is checked as :func:`score_file`
    checks one (:class:`InputCheck`); a partition with rows that fail writes no part and raises
    one error naming them. Returns ``rows_in`` (rows read), ``rows_out`` (rows written),
    ``sha256`` and ``size`` of the part, ``seconds`` and ``runtime``."""
    src: Path | str = job[0] if is_remote(job[0]) else Path(job[0])
    fs, dst = open_location(job[1])
    parent, name = dst.rsplit("/", 1)
    tmp = f"{parent}/.{name}.{uuid.uuid4().hex[:12]}.tmp"
    scorer = _scorer(bundle_dir, runtime)
    checker = InputCheck(
        scorer.rt.contract,
        scorer.features,
        passthrough=[*keep, *scorer.rt.id_columns],
        policies=policies,
    )
    t0 = time.perf_counter()
    try:
        with fs.open(tmp, "wb") as raw:
            sink = HashingFile(raw)
            rows_in, rows_out = _write_part(src, sink, scorer, checker, keep, batch_rows)
        fs.mv(tmp, dst)
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)
    return {
        "rows_in": rows_in,
        "rows_out": rows_out,
        "sha256": sink.sha.hexdigest(),
        "size": sink.size,
        "seconds": time.perf_counter() - t0,
        "runtime": scorer.runtime,
    }


def _write_part(
    src: Path | str,
    sink: HashingFile,
    scorer: BatchScorer,
    checker: InputCheck,
    keep: list[str],
    batch_rows: int,
) -> tuple[int, int]:
    """Stream ``src`` through the scorer into ``sink``; (rows read, rows written)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    n = written = 0
    try:
        for batch in _record_batches(src, batch_rows):
            names = set(batch.schema.names)
            missing = [c for c in scorer.features if c not in names]
            if missing:
                raise DataError.build(
                    f"{str(src)!r} lacks {len(missing)} column(s) the model needs: {missing[:10]}",
                    fix="Add the missing columns (blank values are allowed) and try again",
                )
            feats = batch.select(scorer.features).to_pandas()
            if not checker.check(feats, n + 1, batch.schema.names) or checker.found:
                n += batch.num_rows  # nothing more is scored; the rest is still checked
                continue
            out = scorer.score(batch)
            arrays = [batch.column(batch.schema.get_field_index(c)) for c in keep if c in names]
            fields = [c for c in keep if c in names]
            for col, values in out.items():
                arrays.append(pa.array(values.tolist() if values.dtype == object else values))
                fields.append(col)
            table = pa.Table.from_arrays(arrays, names=fields)
            if writer is None:
                writer = pq.ParquetWriter(sink, table.schema)
            writer.write_table(table.cast(writer.schema))
            n += batch.num_rows
            written += table.num_rows
        if checker.found:
            raise checker.error(f"Partition {str(src)!r}")
        if writer is None:  # an empty partition still gets a (schema-less) part
            pq.write_table(pa.table({}), sink)
    finally:
        if writer is not None:
            writer.close()
    return n, written


def score_partitions(
    bundle_dir: str | Path,
    data: str | Path,
    out_dir: str | Path,
    *,
    engine: Any = "local",
    batch_rows: int = 65_536,
    keep: list[str] | None = None,
    runtime: str = "auto",
    progress: Any = None,
    policies: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Score a partitioned dataset into a folder of Parquet parts that cannot lose rows.

    Each input partition (see :func:`list_partitions`) is identified by its name (its path
    relative to the folder, prefix or glob given) and the sha256 of its bytes, and becomes
    the part :func:`~civicml.workflow._partitions.output_name` names from both, so adding,
    removing or renaming a file never touches another file's part. ``out_dir`` is a folder or
    any fsspec URL (``s3://bucket/scored/``, written with the environment's credentials).
    Parts are written by whichever engine worker scored them, through a temporary name moved
    into place, read in row batches of ``batch_rows`` (memory is bounded by a batch). Every
    batch is first checked against the bundle's data contract as :func:`score_file` does
    (``policies`` as :data:`POLICIES`); a partition that fails stops the run with one error
    (the parts finished before it are kept).

    ``_manifest.json`` records, for each input, its name, sha256, size and rows, and its
    part's name, sha256 and rows; it is rewritten atomically after each part. A rerun removes
    the temporary files a killed run left, skips an input whose part is there and verifies
    (sha256), scores the rest, and refuses (exit 2, nothing written) a folder scored with
    another bundle, an input whose content changed since its part was written, parts of
    inputs that are not in this run, and part files the manifest does not list. Last, every
    part's row count is read back: rows in must equal rows out, input by input, or an
    :class:`~civicml._errors.IntegrityError` says where they differ.

    Returns
    -------
    dict
        ``rows`` (scored now), ``scored``, ``skipped`` and ``rescored`` (partitions; rescored:
        a part that failed verification), ``parts`` (inputs), ``rows_in`` and ``rows_out``
        (the whole folder, checked equal), ``cleaned`` (temporary files removed),
        ``runtime`` (``onnxruntime``, ``skops`` or ``none``), ``seconds``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> score_partitions("no-bundle", d / "in", d / "out")
    Traceback (most recent call last):
    ...
    civicml._errors.DataError: No Parquet or CSV files match '.../in'. Pass a file, a folder of .parquet/.csv files, or a glob such as 'data/*.parquet'.
    """
    from civicml.bundle import Predictor, load_bundle

    started = time.perf_counter()
    files = [str(f) if is_remote(f) else str(Path(f).resolve()) for f in list_partitions(data)]
    root = input_root(data)
    names = [partition_name(f, root) for f in files]
    out = location(out_dir)
    refuse_output_inside_input(out, files)
    bundle = load_bundle(bundle_dir)  # verified here once, before any worker starts
    keep_cols = list(dict.fromkeys([*Predictor(bundle).id_columns, *(keep or [])]))
    _input_check(bundle, keep_cols, policies)  # a bad policy or contract: refused before any work
    fs, root_out = open_location(out)
    fs.makedirs(root_out, exist_ok=True)
    cleaned = clean_temporaries(fs, root_out)
    doc = read_manifest(fs, root_out) or {"format": MANIFEST_FORMAT, "inputs": {}}
    refuse_other_bundle(doc, bundle.digest, out)
    job = _Run(files, names, out, fs, root_out, doc)
    args = (str(Path(bundle_dir).resolve()), batch_rows, keep_cols, runtime, dict(policies or {}))
    rows, used, todo, rescored = job.run(engine, args, progress)
    rows_in, rows_out = check_rows(fs, root_out, out, doc, names)
    return {
        "rows": rows,
        "scored": len(todo),
        "skipped": len(files) - len(todo),
        "rescored": rescored,
        "parts": len(files),
        "rows_in": rows_in,
        "rows_out": rows_out,
        "cleaned": len(cleaned),
        "runtime": used,
        "seconds": time.perf_counter() - started,
    }


class _Run:
    """One run of :func:`score_partitions` on an engine: identify, plan, score, record."""

    def __init__(
        self, files: list[str], names: list[str], out: str, fs: Any, root: str, doc: Any
    ) -> None:
        self.files, self.names, self.out = files, names, out
        self.fs, self.root, self.doc = fs, root, doc

    def run(
        self, engine: Any, args: tuple[Any, ...], progress: Any
    ) -> tuple[int, str, list[int], int]:
        """(rows scored, runtime used, indices scored, parts rescored after failing checks)."""
        from civicml.engines import open_engine

        eng = open_engine(engine)
        rows, used, task = 0, "none", None
        try:
            idents = list(eng.map(file_sha256, self.files))  # on the workers: no data here
            todo, rescored = plan_run(
                self.doc, self.fs, self.root, self.out, self.names, idents, eng
            )
            if progress is not None:
                progress.start()
                done = len(self.files) - len(todo)
                task = progress.add_task(
                    "scoring partitions", total=len(self.files), completed=done
                )
            parts = [f"{self.out}/{output_name(self.names[i], idents[i]['sha256'])}" for i in todo]
            jobs = [(self.files[i], part) for i, part in zip(todo, parts, strict=True)]
            results = eng.map(score_partition, jobs, *args)
            for i, part, res in zip(todo, parts, results, strict=True):
                entry = manifest_entry(self.files[i], idents[i], part, res)
                self.doc["inputs"][self.names[i]] = entry
                write_manifest(self.fs, self.root, self.doc)
                rows += int(res["rows_in"])
                used = res["runtime"]
                if progress is not None:
                    progress.update(task, advance=1)
            if not todo:
                write_manifest(self.fs, self.root, self.doc)
        finally:
            if eng is not engine:
                eng.close()
            if progress is not None:
                progress.stop()
        return rows, used, todo, rescored
