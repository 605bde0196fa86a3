"""Decision-log retention: parts older than the retention period are deleted, and each deletion
is recorded (file, period, row count and sha256).

The period comes from ``DecisionLog(retention_days=N)`` or ``$CIVICML_LOG_RETENTION_DAYS`` (what
``civicml serve`` workers inherit). The log's writer thread applies it when it starts and once a
day after. Each deleted file is recorded in ``deletions.jsonl`` in the log folder (kept: it
holds no personal data, only which file, its period, its row count and when it was deleted) and
passed to an ``on_delete`` callback, where a registry-backed server can audit it.

Examples
--------
>>> import datetime as dt, tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> (root / "predictions").mkdir()
>>> _ = (root / "predictions" / "part-20200101T000000000000-1-000001.parquet").write_bytes(b"")
>>> _ = (root / "predictions" / "part-29990101T000000000000-1-000002.parquet").write_bytes(b"")
>>> [d["file"] for d in apply_retention(root, 30)]
['predictions/part-20200101T000000000000-1-000001.parquet']
>>> [p.name for p in (root / "predictions").iterdir()]
['part-29990101T000000000000-1-000002.parquet']
>>> read_deletions(root)[0]["reason"]
'older than the 30-day retention period'
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from civicml._errors import SpecError
from civicml._files import make_private, write_private_bytes

__all__ = [
    "RETENTION_ENV",
    "DELETIONS_FILE",
    "apply_retention",
    "read_deletions",
    "retention_days_from_env",
]

RETENTION_ENV = "CIVICML_LOG_RETENTION_DAYS"
DELETIONS_FILE = "deletions.jsonl"
_SUBFOLDERS = ("predictions", "reviews")
_STAMP = re.compile(r"^part-(\d{8}T\d{12})-")
_log = logging.getLogger("civicml.serve")


def retention_days_from_env() -> float | None:
    """``$CIVICML_LOG_RETENTION_DAYS`` as a number of days (``None`` when unset).

    >>> os.environ[RETENTION_ENV] = "90"; retention_days_from_env()
    90.0
    >>> del os.environ[RETENTION_ENV]; retention_days_from_env() is None
    True
    """
    raw = os.environ.get(RETENTION_ENV)
    if raw is None or not raw.strip():
        return None
    return check_retention_days(raw, setting=f"${RETENTION_ENV}")


def check_retention_days(value: Any, *, setting: str = "retention_days") -> float:
    """A positive number of days, or a :class:`~civicml.SpecError` naming ``setting``."""
    try:
        days = float(value)
    except (TypeError, ValueError):
        days = float("nan")
    if not days > 0 or days == float("inf"):
        raise SpecError.build(
            f"{setting} is not a retention period",
            expected="a positive number of days",
            got=value,
            fix=f"Set {setting} to how many days decision logs are kept, e.g. 365",
        )
    return days


def _written_at(path: Path) -> _dt.datetime:
    """When a part was written: the stamp in its name, else its modification time."""
    m = _STAMP.match(path.name)
    if m:
        try:
            stamp = _dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S%f")
            return stamp.replace(tzinfo=_dt.UTC)
        except ValueError:
            pass
    return _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.UTC)


def apply_retention(
    folder: str | os.PathLike[str],
    days: float,
    *,
    now: _dt.datetime | None = None,
    on_delete: Callable[[dict[str, Any]], Any] | None = None,
) -> list[dict[str, Any]]:
    """Delete the log parts written more than ``days`` ago; record and return each deletion."""
    root = Path(folder)
    now = now or _dt.datetime.now(_dt.UTC)
    cutoff = now - _dt.timedelta(days=days)
    deleted: list[dict[str, Any]] = []
    for sub in _SUBFOLDERS:
        for path in sorted((root / sub).glob("part-*.parquet")):
            try:
                written = _written_at(path)
                if written >= cutoff:
                    continue
                rows = _row_count(path)
                digest = _sha256(path)
                path.unlink()
            except FileNotFoundError:
                continue  # another worker deleted it first
            record = {
                "file": f"{sub}/{path.name}",
                "written_at": written.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "rows": rows,
                "sha256": digest,
                "deleted_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "reason": f"older than the {days:g}-day retention period",
            }
            _record(root, record)
            deleted.append(record)
            if on_delete is not None:
                try:
                    on_delete(record)
                except Exception as exc:  # the deletion happened; say the audit did not
                    _log.error(
                        "decision log deletion not audited",
                        extra={"event": "retention_audit_error", "error": type(exc).__name__},
                    )
    return deleted


def _sha256(path: Path) -> str:
    """The deleted part's sha256: what was deleted can be matched to a copy, never re-read."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _row_count(path: Path) -> int | None:
    try:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # an empty or damaged part: still deleted, count unknown
        return None


def _record(root: Path, record: dict[str, Any]) -> None:
    path = root / DELETIONS_FILE
    if not path.exists():
        write_private_bytes(path, b"")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
    make_private(path)


def read_deletions(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every deletion recorded in the log folder, oldest first."""
    path = Path(folder) / DELETIONS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
