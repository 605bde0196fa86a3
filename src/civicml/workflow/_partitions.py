"""Where partitioned batch scoring reads and writes: the input partitions and their identity
(name and content hash), output part names keyed by that identity, the output folder's
manifest, and its temporary files, on a local disk or any fsspec URL (``s3://...``)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from civicml._errors import DataError

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "HashingFile",
    "check_rows",
    "clean_temporaries",
    "file_sha256",
    "input_root",
    "inspect_output",
    "is_remote",
    "list_partitions",
    "location",
    "manifest_entry",
    "open_location",
    "output_name",
    "partition_name",
    "parts_on_disk",
    "plan_run",
    "read_manifest",
    "refuse_other_bundle",
    "refuse_output_inside_input",
    "write_manifest",
]

MANIFEST_NAME = "_manifest.json"
#: the manifest's format: inputs keyed by name, each with its content hash and its output's
MANIFEST_FORMAT = "civicml.scored-partitions/2"
_SUFFIXES = (".parquet", ".pq", ".csv")
_CHUNK = 8 << 20


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


def list_partitions(data: str | Path) -> list[Path]:
    """The input partitions: a file, every Parquet/CSV file under a directory, or a glob.

    Sorted by path, so the order is the same on every run. Files and folders whose names start
    with ``.`` or ``_`` (``_SUCCESS``, ``.tmp``) are skipped. A URL (``s3://bucket/prefix/``,
    ``s3://bucket/*/*.parquet``) lists Parquet objects through fsspec, with the credentials of
    the environment (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ...); the partitions are
    then URL strings.

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


# -- identity -----------------------------------------------------------------------------------


def input_root(data: str | Path) -> str:
    """The folder (or URL prefix) that partition names are relative to: a folder itself, the
    folder holding a single file, or the part of a glob before its first wildcard.

    >>> input_root("s3://b/claims/*/*.parquet"), input_root("s3://b/claims/")
    ('s3://b/claims', 's3://b/claims')
    >>> input_root("data/month=*/x.parquet") == str(Path("data").resolve())
    True
    """
    text = str(data)
    if is_remote(text):
        import fsspec

        protocol = text.split("://", 1)[0]
        if any(c in text for c in "*?["):
            head = re.split(r"[*?\[]", text, maxsplit=1)[0]
            return head.rsplit("/", 1)[0]
        fs, where = fsspec.core.url_to_fs(text)
        if not text.endswith("/") and fs.isfile(where):
            where = where.rsplit("/", 1)[0]
        return f"{protocol}://{where.rstrip('/')}"
    p = Path(text)
    if any(c in text for c in "*?["):
        head = re.split(r"[*?\[]", text, maxsplit=1)[0]
        p = Path(head) if head.endswith(("/", "\\")) else Path(head).parent
    elif p.is_file():
        p = p.parent
    return str(p.resolve())


def partition_name(partition: str | Path, root: str) -> str:
    """A partition's name: its path relative to :func:`input_root`, with ``/`` separators.

    >>> partition_name("s3://b/claims/month=1/a.parquet", "s3://b/claims")
    'month=1/a.parquet'
    """
    if is_remote(partition):
        text = str(partition)
        return text[len(root) :].lstrip("/") if text.startswith(root + "/") else text
    path = Path(partition).resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def output_name(name: str, sha256: str) -> str:
    """The output part for the input ``name`` with content ``sha256``: readable, and keyed by
    both, so a different input (another name, or the same name with other content) never
    gets the same part.

    >>> output_name("month=1/data.parquet", "0" * 64)
    'part-month=1_data-a672337c14df38f9.parquet'
    """
    stem = str(PurePosixPath(name).with_suffix(""))
    slug = re.sub(r"[^A-Za-z0-9_.=\-]+", "_", stem)[:80].strip("._") or "p"
    key = hashlib.sha256(f"{name}\n{sha256}".encode()).hexdigest()[:16]
    return f"part-{slug}-{key}.parquet"


def file_sha256(path: str | Path) -> dict[str, Any]:
    """``sha256`` and ``size`` of a file's bytes (local or through fsspec), read in chunks,
    and ``rows`` from a Parquet file's footer (``None`` for CSV). Runs on an engine worker."""
    h, size = hashlib.sha256(), 0
    if is_remote(path):
        import fsspec

        opened: Any = fsspec.open(str(path), "rb")
    else:
        opened = open(path, "rb")  # noqa: SIM115 - closed by the with below
    with opened as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    rows = None
    if str(path).lower().endswith((".parquet", ".pq")):
        rows = _footer_rows(str(path))
    return {"sha256": h.hexdigest(), "size": size, "rows": rows}


def _footer_rows(path: str) -> int:
    import fsspec
    import pyarrow.parquet as pq

    with fsspec.open(path, "rb") as fh:
        return int(pq.read_metadata(fh).num_rows)


def inspect_output(path: str) -> dict[str, Any] | None:
    """:func:`file_sha256` of a written part, ``None`` when it does not exist or is not a
    readable Parquet file. Runs on an engine worker."""
    fs, where = open_location(path)
    if not fs.exists(where):
        return None
    try:
        return file_sha256(path)
    except (OSError, ValueError):  # truncated or not Parquet: not a verified part
        return None


class HashingFile:
    """A write-only file that hashes and counts what passes through it (Parquet writes in one
    pass, so a part's sha256 needs no second read)."""

    def __init__(self, fh: Any) -> None:
        self.fh, self.sha, self.size, self.closed = fh, hashlib.sha256(), 0, False

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.fh.write(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.fh.flush()

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


# -- the output folder --------------------------------------------------------------------------


def location(out: str | Path) -> str:
    """The output folder as workers receive it: a URL as given (without a trailing ``/``), or
    an absolute local path.

    >>> location("s3://bucket/scored/")
    's3://bucket/scored'
    """
    text = str(out)
    if is_remote(text):
        return text.rstrip("/")
    if text.startswith("file://"):
        text = text[len("file://") :]
    return str(Path(text).resolve())


def open_location(where: str) -> tuple[Any, str]:
    """The fsspec filesystem and path for a :func:`location` (or a file in one)."""
    import fsspec

    return fsspec.core.url_to_fs(where)


def clean_temporaries(fs: Any, root: str) -> list[str]:
    """Remove the temporary parts and manifests an interrupted run left in ``root``; their
    partitions are not in the manifest, so they are scored again. Returns the names removed."""
    removed = []
    fs.invalidate_cache(root)  # another process (a worker, a killed run) wrote here
    for path in fs.ls(root, detail=False) if fs.exists(root) else []:
        name = str(path).rstrip("/").rsplit("/", 1)[-1]
        if name.startswith((".part-", f".{MANIFEST_NAME}.")):
            fs.rm(path)
            removed.append(name)
    return sorted(removed)


def read_manifest(fs: Any, root: str) -> dict[str, Any] | None:
    """The output folder's manifest, ``None`` when there is none; a manifest of another
    format (an earlier civicml named parts by position) is refused."""
    path = f"{root}/{MANIFEST_NAME}"
    if not fs.exists(path):
        return None
    try:
        doc = json.loads(fs.cat_file(path).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError.build(
            f"The scoring manifest {path!r} is not valid JSON",
            got=str(exc)[:120],
            fix="Score into a new --out folder (or delete this one to score everything again)",
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise DataError.build(
            f"{path!r} was written by an earlier civicml, whose part names followed the input "
            "files' positions and so could be overwritten by another file's results",
            fix="Score into a new --out folder (or delete this one to score everything again)",
        )
    return doc


def write_manifest(fs: Any, root: str, doc: dict[str, Any]) -> None:
    """Write the manifest atomically: a temporary file renamed into place."""
    tmp = f"{root}/.{MANIFEST_NAME}.{uuid.uuid4().hex[:12]}.tmp"
    fs.pipe_file(tmp, json.dumps(doc, indent=1, sort_keys=True).encode("utf-8"))
    fs.mv(tmp, f"{root}/{MANIFEST_NAME}")


# -- planning a run and checking its result -----------------------------------------------------

_NEW_FOLDER = "Score into a new --out folder"


def refuse_output_inside_input(out: str, files: list[str]) -> None:
    """Refuse an output folder that holds input partitions: its parts would be read back as
    inputs by the next run."""
    if is_remote(out):
        inside = [f for f in files if f.startswith(out + "/")]
    else:
        inside = [f for f in files if not is_remote(f) and Path(f).is_relative_to(out)]
    if inside:
        raise DataError.build(
            f"The output folder {out!r} holds input partitions ({inside[0]!r})",
            fix="Write the predictions to a folder outside the data being scored",
        )


def refuse_other_bundle(doc: dict[str, Any], digest: str, out: str) -> None:
    """Refuse to add one bundle's predictions to a folder holding another bundle's."""
    if doc["inputs"] and doc.get("bundle_sha256") != digest:
        raise DataError.build(
            f"{out!r} holds predictions of another bundle (sha256 "
            f"{str(doc.get('bundle_sha256'))[:12]}), not of this one ({digest[:12]})",
            fix=f"{_NEW_FOLDER} (or delete this one to score everything with this bundle)",
        )
    doc["bundle_sha256"] = digest


def parts_on_disk(fs: Any, root: str) -> set[str]:
    """Names of the ``part-*.parquet`` files in the output folder (listed afresh)."""
    fs.invalidate_cache(root)
    return {str(p).rsplit("/", 1)[-1] for p in fs.glob(f"{root}/part-*.parquet")}


def plan_run(
    doc: dict[str, Any],
    fs: Any,
    root: str,
    out: str,
    names: list[str],
    idents: list[dict[str, Any]],
    engine: Any,
) -> tuple[list[int], int]:
    """Which inputs to score: (their indices, how many of them had a part that failed
    verification). Drops manifest entries whose part was deleted; refuses (nothing written)
    a changed input, parts of inputs not in this run and part files the manifest lacks."""
    on_disk = parts_on_disk(fs, root)
    entries: dict[str, Any] = doc["inputs"]
    for name in [n for n, e in entries.items() if e["output"] not in on_disk]:
        del entries[name]  # its part was deleted: score it again
    wanted = {n: output_name(n, i["sha256"]) for n, i in zip(names, idents, strict=True)}
    changed = [n for n in names if n in entries and entries[n]["output"] != wanted[n]]
    if changed:
        e = entries[changed[0]]
        raise DataError.build(
            f"{len(changed)} input(s) changed since they were scored into {out!r}: "
            f"{changed[0]!r} had sha256 {e['input_sha256'][:12]}, so {e['output']!r} holds the "
            "predictions of its earlier content",
            fix=f"Delete {e['output']!r} (and the parts of the other changed inputs) and rerun "
            "to score them again, or score into a new --out folder",
        )
    foreign = sorted(n for n in entries if n not in wanted)
    if foreign:
        shown = ", ".join(f"{n!r} -> {entries[n]['output']!r}" for n in foreign[:3])
        raise DataError.build(
            f"{out!r} holds the parts of {len(foreign)} input(s) that are not in this run "
            f"({shown}), so its rows would not be this input's rows",
            fix=f"{_NEW_FOLDER}, or delete those parts and rerun",
        )
    stray = sorted(on_disk - {e["output"] for e in entries.values()} - set(wanted.values()))
    if stray:
        raise DataError.build(
            f"{out!r} holds {len(stray)} part file(s) its manifest does not list "
            f"({', '.join(map(repr, stray[:3]))})",
            fix=f"{_NEW_FOLDER}, or delete those files and rerun",
        )
    done = [i for i, n in enumerate(names) if n in entries]
    checks = engine.map(inspect_output, [f"{out}/{entries[names[i]]['output']}" for i in done])
    todo = [i for i, n in enumerate(names) if n not in entries]
    for i, got in zip(done, checks, strict=True):
        e = entries[names[i]]
        if got is None or got["sha256"] != e["output_sha256"] or got["rows"] != e["rows_out"]:
            del entries[names[i]]  # damaged or replaced: its own input's part, so redo it
            todo.append(i)
    return sorted(todo), len(todo) - (len(names) - len(done))


def manifest_entry(
    src: str, ident: dict[str, Any], part: str, result: dict[str, Any]
) -> dict[str, Any]:
    """The manifest's record of one scored input; an :class:`~civicml._errors.IntegrityError`
    when the rows read differ from the rows written or from the Parquet footer's count."""
    from civicml._errors import IntegrityError

    expected = ident["rows"] if ident["rows"] is not None else result["rows_in"]
    if not result["rows_in"] == result["rows_out"] == expected:
        raise IntegrityError.build(
            f"Scoring {src!r} read {result['rows_in']:,} rows and wrote {result['rows_out']:,}"
            + (f"; its footer says {expected:,}" if ident["rows"] is not None else ""),
            fix="Check the file is not being written to, then rerun (the part was not recorded)",
        )
    return {
        "input": src,
        "input_sha256": ident["sha256"],
        "input_size": ident["size"],
        "rows_in": result["rows_in"],
        "output": part.rsplit("/", 1)[-1],
        "output_sha256": result["sha256"],
        "output_size": result["size"],
        "rows_out": result["rows_out"],
    }


def check_rows(
    fs: Any, root: str, out: str, doc: dict[str, Any], names: list[str]
) -> tuple[int, int]:
    """The final check: every input of this run is in the manifest, every part on disk is
    listed, and each part's footer holds its input's rows. Returns (rows in, rows out); an
    :class:`~civicml._errors.IntegrityError` naming the differences otherwise."""
    from civicml._errors import IntegrityError

    entries: dict[str, Any] = doc["inputs"]
    on_disk = parts_on_disk(fs, root)
    problems = [f"{n!r} has no part" for n in names if n not in entries]
    listed = {e["output"] for e in entries.values()}
    problems += [f"{p!r} is not in the manifest" for p in sorted(on_disk - listed)]
    rows_in = sum(int(e["rows_in"]) for e in entries.values())
    rows_out = 0
    for name, e in sorted(entries.items()):
        if e["output"] not in on_disk:
            problems.append(f"{e['output']!r} (from {name!r}) is missing")
            continue
        got = _footer_rows(f"{out}/{e['output']}")
        rows_out += got
        if got != e["rows_in"]:
            problems.append(f"{e['output']!r} holds {got:,} rows for {name!r}'s {e['rows_in']:,}")
    if problems or rows_in != rows_out:
        raise IntegrityError.build(
            f"Rows in and out of {out!r} do not match ({rows_in:,} in, {rows_out:,} out): "
            + "; ".join(problems[:5])
            + (f"; and {len(problems) - 5} more" if len(problems) > 5 else ""),
            fix="Rerun the same command to score what is missing; if it persists, score into "
            "a new --out folder",
        )
    return rows_in, rows_out
