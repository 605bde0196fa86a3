"""Disposal on retirement: the decision-log retention policy applied, and a disposal record.

When a version is retired (``civicml models retire``), :func:`dispose_retired` applies the
retention period to the model's decision log — the bundle's ``retention_days:`` (civicml.yaml),
else ``--retention-days``/``$CIVICML_LOG_RETENTION_DAYS`` — deleting the parts older than it,
each deletion recorded beside the log with its row count and sha256 and, on a registry this
process writes to, in the audit log (``decision_log.delete``). It then writes the disposal
record, ``.civicml/disposals/NAME-vVERSION.json``: who retired what, when and why, the ATRS
phase (Retired, with ``date_archive``), what was deleted and what remains of the log with the
date its last part falls due, and what is kept (the bundle, for audit). The record's sha256
goes into the audit log as ``disposal.record``.

With no retention period anywhere nothing is deleted and the record says so plainly: the log
is kept until a period is set. A log shared with other versions of the same model is one
folder per model (``.civicml/decisions/NAME``), so the period applies to all of its parts.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from civicml._files import create_private_dir, write_private_bytes
from civicml.serve._governance import record_deletion
from civicml.serve._retention import apply_retention, check_retention_days, retention_days_from_env

__all__ = ["DISPOSAL_ACTION", "dispose_retired"]

#: the audit action that carries the disposal record's sha256
DISPOSAL_ACTION = "disposal.record"
_STAMP = re.compile(r"^part-(\d{8}T\d{12})-")


def _bundle_retention(registry: Any, name: str, version: int) -> float | None:
    """``retention_days`` from the version's verified bundle spec (None when unset)."""
    try:
        bundle = registry.load_version(f"{name}/{version}")
        spec = bundle.read_json("spec.json") if bundle.has("spec.json") else {}
    except Exception:  # an old or unreachable bundle: the CLI's period or none
        return None
    value = spec.get("retention_days") if isinstance(spec, dict) else None
    return None if value is None else check_retention_days(value, setting="retention_days")


def _remaining(folder: Path, days: float | None) -> dict[str, Any]:
    """What is left of the log: parts, oldest part's date and when the last one falls due."""
    stamps = []
    for sub in ("predictions", "reviews"):
        for path in (folder / sub).glob("part-*.parquet"):
            m = _STAMP.match(path.name)
            if m:
                stamps.append(_dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S%f"))
    out: dict[str, Any] = {"parts": len(stamps)}
    if stamps:
        out["oldest"] = min(stamps).strftime("%Y-%m-%d")
        out["newest"] = max(stamps).strftime("%Y-%m-%d")
        if days is not None:
            due = max(stamps) + _dt.timedelta(days=days)
            out["all_deleted_by"] = due.strftime("%Y-%m-%d")
    return out


def dispose_retired(
    registry: Any,
    name: str,
    version: int,
    *,
    project_dir: str | Path,
    log_dir: str | Path | None = None,
    retention_days: float | None = None,
    now: _dt.datetime | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Apply the retention period to ``name``'s decision log and write the disposal record for
    the retired ``name`` v``version``; returns the record's path and content."""
    v = registry.get_version(name, version)
    if v.status != "retired":
        raise ValueError(f"{v.ref} is {v.status}, not retired")
    now = now or _dt.datetime.now(_dt.UTC)
    days, source = _bundle_retention(registry, name, version), "retention_days in civicml.yaml"
    if days is None and retention_days is not None:
        days, source = check_retention_days(retention_days, setting="--retention-days"), "CLI"
    if days is None:
        days, source = retention_days_from_env(), "$CIVICML_LOG_RETENTION_DAYS"
    root = Path(project_dir).resolve()
    folder = Path(log_dir) if log_dir is not None else root / ".civicml" / "decisions" / name
    deleted: list[dict[str, Any]] = []
    if days is not None and folder.is_dir():
        audit = None
        if getattr(registry, "store", None) is not None:
            audit = functools.partial(record_deletion, registry, folder.name)
        deleted = apply_retention(folder, days, now=now, on_delete=audit)
    retire = next(
        (d for d in reversed(registry.decisions(name, version)) if d.kind == "retire"), None
    )
    log: dict[str, Any] = {
        "folder": str(folder),
        "exists": folder.is_dir(),
        "retention_days": days,
        "retention_from": source if days is not None else None,
        "deleted": deleted,
        "deleted_rows": sum(int(d.get("rows") or 0) for d in deleted),
        "remaining": _remaining(folder, days) if folder.is_dir() else {"parts": 0},
    }
    if days is None:
        log["note"] = (
            "No retention period is set (retention_days in civicml.yaml, --retention-days or "
            "$CIVICML_LOG_RETENTION_DAYS), so nothing was deleted: the decision log is kept "
            "until a period is set or someone deletes it"
        )
    record = {
        "kind": "disposal",
        "model": name,
        "version": int(version),
        "digest": v.digest,
        "retired_at": retire.at if retire else None,
        "retired_by": retire.actor if retire else None,
        "reason": retire.reason if retire else None,
        "atrs": {"phase": "Retired", "date_archive": now.strftime("%Y-%m-%d")},
        "decision_log": log,
        "kept": "the bundle stays in the registry's artifact store under its digest, so that "
        "every decision it made can still be explained and audited",
        "written_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    path = create_private_dir(root / ".civicml" / "disposals") / f"{name}-v{int(version)}.json"
    write_private_bytes(path, body)
    _audit(registry, v.ref, hashlib.sha256(body).hexdigest(), len(deleted))
    return path, record


def _audit(registry: Any, ref: str, digest: str, deleted: int) -> None:
    store = getattr(registry, "store", None)
    if store is None:  # a registry over HTTP: the record stays beside the project only
        return
    from civicml.registry import Actor, EventDraft, os_login

    actor = Actor(os_login(), verified=False, via="os-login")
    store.append_event(
        EventDraft(
            actor.name,
            DISPOSAL_ACTION,
            ref,
            "disposal record written on retirement",
            {
                "sha256": digest,
                "deleted_parts": deleted,
                "identity": actor.identity(),
                "identity_verified": False,
            },
        )
    )
