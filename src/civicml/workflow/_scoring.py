"""Batch scoring with a verified bundle: one file written atomically (:func:`score_file`), or a
partitioned dataset streamed through an engine into Parquet parts, resumably
(:func:`score_partitions`)."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import ContractError, DataError
from civicml._text import guard_csv_cells

__all__ = [
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
    and renamed into place, so a failure never leaves a half-written file. In a CSV, text
    cells (and column names) that a spreadsheet would run as a formula (starting ``=``, ``+``,
    ``-``, ``@``, tab or CR) get a leading ``'``; numbers stay numbers. Returns the number of
    rows scored.
    """
    from civicml.bundle import Predictor, iter_batches, load_bundle

    out_path = Path(out)
    suffix = out_path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise DataError.build(
            f"Cannot write predictions to {str(out_path)!r}",
            expected="a path ending in .csv or .parquet",
            got=out_path.name,
            fix="Pass --out predictions.csv or --out predictions.parquet",
        )
    predictor = Predictor(load_bundle(bundle_dir))
    keep_cols = list(dict.fromkeys([*predictor.id_columns, *(keep or [])]))
    checker = _input_check(predictor.bundle, keep_cols, policies)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
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
        os.replace(tmp, out_path)
    finally:
        if writer is not None:
            writer.close()
        if progress is not None:
            progress.stop()
        tmp.unlink(missing_ok=True)
    return n


# -- partitioned batch scoring on an engine -----------------------------------------------------

MANIFEST_NAME = "_manifest.json"
_SUFFIXES = (".parquet", ".pq", ".csv")


def list_partitions(data: str | Path) -> list[Path]:
    """The input partitions: a file, every Parquet/CSV file under a directory, or a glob.

    Sorted by path, so partition ``i`` is the same file on every run. A URL (``s3://bucket/
    prefix/``, ``s3://bucket/*/*.parquet``) lists Parquet objects through fsspec, with the
    credentials of the environment (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ...); the
    partitions are then URL strings.

    >>> list_partitions("no/such/*.parquet")
    Traceback (most recent call last):
    ...
    civicml._errors.DataError: No Parquet or CSV files match 'no/such/*.parquet'. Pass a file, a folder of .parquet/.csv files, or a glob such as 'data/*.parquet'.
    """
    import glob

    if is_remote(data):
        return _remote_partitions(str(data))  # type: ignore[return-value]
    p = Path(data)
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = [f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _SUFFIXES]
        files = [
            f
            for f in files
            if not any(part.startswith((".", "_")) for part in f.parts[len(p.parts) :])
        ]
    else:
        files = [Path(f) for f in glob.glob(str(data), recursive=True)]
        files = [f for f in files if f.is_file() and f.suffix.lower() in _SUFFIXES]
    if not files:
        raise DataError.build(
            f"No Parquet or CSV files match {str(data)!r}",
            fix="Pass a file, a folder of .parquet/.csv files, or a glob such as 'data/*.parquet'",
        )
    return sorted(files)


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
    """Score one input partition into one Parquet part, written atomically (runs on a worker).

    Each batch is checked as :func:`score_file` checks one (:class:`InputCheck`); a partition
    with rows that fail writes no part and raises one error naming them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src: Path | str = job[0] if is_remote(job[0]) else Path(job[0])
    dst = Path(job[1])
    scorer = _scorer(bundle_dir, runtime)
    checker = InputCheck(
        scorer.rt.contract,
        scorer.features,
        passthrough=[*keep, *scorer.rt.id_columns],
        policies=policies,
    )
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    writer = None
    n = 0
    t0 = time.perf_counter()
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
            for name, values in out.items():
                arrays.append(pa.array(values.tolist() if values.dtype == object else values))
                fields.append(name)
            table = pa.Table.from_arrays(arrays, names=fields)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
            n += batch.num_rows
        if checker.found:
            raise checker.error(f"Partition {str(src)!r}")
        if writer is None:  # an empty partition still gets a (schema-less) part
            pq.write_table(pa.table({}), tmp)
        else:
            writer.close()
            writer = None
        os.replace(tmp, dst)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return {"rows": n, "seconds": time.perf_counter() - t0, "runtime": scorer.runtime}


def _fingerprint(path: Path | str) -> dict[str, Any]:
    if is_remote(path):
        import fsspec

        fs, where = fsspec.core.url_to_fs(str(path))
        info = fs.info(where)
        version = info.get("ETag") or info.get("LastModified") or info.get("mtime")
        return {"size": int(info.get("size") or 0), "version": str(version)}
    st = Path(path).stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def is_remote(data: str | Path) -> bool:
    """Whether ``data`` is a URL to read through fsspec (``s3://``, ``gs://``, ...), not a path.

    >>> is_remote("s3://bucket/claims/"), is_remote("data/*.parquet"), is_remote(Path("x"))
    (True, False, False)
    """
    return (
        isinstance(data, str)
        and re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", data) is not None
        and not data.startswith("file://")
    )


def _remote_partitions(url: str) -> list[str]:
    """The Parquet objects a URL names: one object, every one under a prefix, or a glob."""
    import fsspec

    try:
        fs, where = fsspec.core.url_to_fs(url)
        if any(c in where for c in "*?["):
            found = fs.glob(where)
        elif fs.isfile(where):
            found = [where]
        else:
            prefix = where.rstrip("/")
            found = [
                f
                for f in fs.find(prefix)
                if not any(part.startswith((".", "_")) for part in f[len(prefix) :].split("/"))
            ]
    except (OSError, ValueError, ImportError) as exc:
        raise DataError.build(
            f"Cannot list {url!r}",
            got=f"{type(exc).__name__}: {str(exc)[:200]}",
            fix="Check the URL and the credentials in the environment (for S3: "
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL for MinIO and the like)",
        ) from None
    csv = [f for f in found if f.lower().endswith(".csv")]
    if csv:
        raise DataError.build(
            f"{url!r} holds CSV objects ({csv[0]!r}); remote inputs must be Parquet",
            fix="Convert the files to Parquet, or copy them to a filesystem the workers share",
        )
    files = [f for f in found if f.lower().endswith((".parquet", ".pq"))]
    if not files:
        raise DataError.build(
            f"No Parquet objects match {url!r}",
            fix="Pass a bucket prefix holding .parquet objects, or a glob such as "
            "'s3://bucket/claims/*.parquet'",
        )
    protocol = url.split("://", 1)[0]
    return sorted(f"{protocol}://{f}" for f in files)


def _write_manifest(out_dir: Path, doc: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST_NAME}.", dir=out_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
    os.replace(tmp, out_dir / MANIFEST_NAME)


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
    """Score a partitioned dataset into a folder of Parquet parts, resumably.

    Every batch is checked against the bundle's data contract first, as :func:`score_file`
    does (``policies`` as :data:`POLICIES`); a partition with rows that fail stops the run
    with one error naming the partition, columns, rules and rows (the parts finished before
    it are kept, so a rerun after the fix resumes).

    Each input partition (see :func:`list_partitions`) becomes ``part-NNNNN.parquet`` in
    ``out_dir``, written atomically by whichever engine worker scored it, read in row batches of
    ``batch_rows`` (memory is bounded by a batch, not a partition). ``_manifest.json`` lists
    the finished partitions (input path, size and mtime, part name, rows) and is rewritten
    atomically after each one; a rerun skips partitions already listed with an unchanged input,
    so scoring resumes after a crash. With a Dask engine, workers must see the same paths
    (a shared filesystem or the same machine).

    Returns
    -------
    dict
        ``rows`` (scored now), ``skipped`` and ``scored`` (partition counts), ``parts``,
        ``runtime`` (``onnxruntime`` or ``skops``), ``seconds``.

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
    from civicml.engines import open_engine

    started = time.perf_counter()
    files = list_partitions(data)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bundle = load_bundle(bundle_dir)  # verified here once, before any worker starts
    keep_cols = list(dict.fromkeys([*Predictor(bundle).id_columns, *(keep or [])]))
    _input_check(bundle, keep_cols, policies)  # a bad policy or contract: refused before any work
    manifest_path = out / MANIFEST_NAME
    doc: dict[str, Any] = {"bundle_sha256": bundle.digest, "partitions": {}}
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if old.get("bundle_sha256") == bundle.digest:
            doc = old
    todo: list[tuple[str, str]] = []
    for i, f in enumerate(files):
        key = str(f) if is_remote(f) else str(Path(f).resolve())
        part = out / f"part-{i:05d}.parquet"
        entry = doc["partitions"].get(key)
        if entry and entry.get("input") == _fingerprint(f) and (out / entry["part"]).exists():
            continue
        todo.append((key, str(part)))
    skipped = len(files) - len(todo)
    task = None
    if progress is not None:
        progress.start()
        task = progress.add_task("scoring partitions", total=len(files), completed=skipped)
    rows, used = 0, "none"
    eng = open_engine(engine)
    try:
        results = eng.map(
            score_partition,
            todo,
            str(Path(bundle_dir).resolve()),
            batch_rows,
            keep_cols,
            runtime,
            dict(policies or {}),
        )
        for (src, dst), res in zip(todo, results, strict=True):
            rows += int(res["rows"])
            used = res["runtime"]
            doc["partitions"][src] = {
                "input": _fingerprint(src if is_remote(src) else Path(src)),
                "part": Path(dst).name,
                "rows": res["rows"],
            }
            _write_manifest(out, doc)
            if progress is not None:
                progress.update(task, advance=1)
    finally:
        if eng is not engine:
            eng.close()
        if progress is not None:
            progress.stop()
    if not todo:
        _write_manifest(out, doc)
    return {
        "rows": rows,
        "scored": len(todo),
        "skipped": skipped,
        "parts": len(files),
        "runtime": used,
        "seconds": time.perf_counter() - started,
    }
