"""``civicml models audit``: show the audit log, verify its keyed hash chain against the tables,
export its head, or record an admin's repair. Mounted on ``civicml models`` by ``cli._models``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from civicml.cli._common import (
    ArtifactsOpt,
    JsonOpt,
    ProjectOpt,
    RegistryOpt,
    console,
    current_actor,
    emit_json,
    fail,
    handle_errors,
)
from civicml.cli._registry_open import open_from_cli

__all__ = ["audit"]


@handle_errors
def audit(
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Check the keyed hash chain and replay it against the tables; exit 1 if "
            "anything differs.",
        ),
    ] = False,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="With --verify: a head saved earlier with --head; the log must still hold it.",
        ),
    ] = None,
    head: Annotated[
        bool,
        typer.Option("--head", help="Print the chain head as JSON, to keep a copy elsewhere."),
    ] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Admin: record that the listed problems were investigated (needs --reason).",
        ),
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (with --repair).")] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only events about e.g. 'benefits/3'.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest events to show.")] = 50,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log; verify it (--verify), export its head (--head) or record a repair."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        if head:
            emit_json(reg.audit_head())
        elif repair:
            _audit_repair(reg, reason)
        elif verify:
            _audit_verify(reg, _read_head(against), as_json)
        else:
            _audit_show(reg, subject, limit, as_json)


def _read_head(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return {"seq": int(doc["seq"]), "hash": str(doc["hash"])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise fail(
            f"--against {path} is not a chain head saved with 'civicml models audit --head' "
            f"({type(exc).__name__}). Expected JSON with 'seq' and 'hash'."
        ) from None


def _audit_verify(reg: Any, against: dict[str, Any] | None, as_json: bool) -> None:
    result = reg.verify_audit(against=against)
    if as_json:
        emit_json(result.to_dict())
        if not result.ok:
            raise typer.Exit(1)
        return
    keyed = (
        f"keyed ({result.keyed}"
        + (
            f"; {result.unkeyed_events} earlier events predate the key"
            if result.unkeyed_events
            else ""
        )
        + ")"
        if result.keyed
        else "NOT keyed (hashes only)"
    )
    if result.ok:
        extra = f", {result.repairs} recorded repair(s) applied" if result.repairs else ""
        partial = (
            f"; {result.not_replayed} version(s) predate full-state events and were not compared"
            if result.not_replayed
            else ""
        )
        console.print(
            f"Audit log verified: {result.events} events, {keyed}, every table row matches "
            f"the state the events record{extra}{partial}."
        )
        return
    for problem in result.problems:
        console.print(f"  event {problem['seq']}: {problem['why']}", markup=False)
    for difference in result.differences:
        console.print(f"  {difference}", markup=False)
    raise fail(
        f"The audit log does not verify: {result.reason}. This registry refuses writes until "
        "an admin investigates (compare with an exported head and your backups) and records "
        "the repair with 'civicml models audit --repair --reason TEXT'.",
        1,
    )


def _audit_repair(reg: Any, reason: str | None) -> None:
    if not reason or not reason.strip():
        raise fail("--repair needs --reason: say what was investigated and what was found.")
    event = reg.repair_audit(current_actor(), reason)
    console.print(
        f"Recorded the repair as audit event {event.seq}: "
        f"{len(event.details.get('accepted', []))} event(s) and "
        f"{sum(len(v) for v in (event.details.get('rows') or {}).values())} row(s) accepted "
        "as they stand. Writes are allowed again.",
        markup=False,
    )


def _audit_show(reg: Any, subject: str | None, limit: int, as_json: bool) -> None:
    last = int(reg.audit_head()["seq"])
    after = 0 if subject else max(0, last - limit)
    events = reg.audit_events(after=after, subject=subject)[-limit:]
    if as_json:
        emit_json({"events": [e.to_dict() for e in events]})
        return
    from rich.table import Table

    table = Table("#", "time", "actor", "action", "subject", "reason")
    for e in events:
        table.add_row(
            str(e.seq), e.time[:19].replace("T", " "), e.actor, e.action, e.subject, e.reason or ""
        )
    console.print(table)
