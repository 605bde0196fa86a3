"""Finish and publish an ATRS record: the generated part plus a person's answers, checked for
gaps, then written as the final JSON, the GOV.UK-styled HTML page and a spreadsheet in the
template's order.

The record of a registered version is built from its bundle (:func:`bundle_atrs`), a person's
answers are put in (:func:`civicml.report.apply_answers`), :func:`civicml.report.find_gaps`
lists what is left, and :func:`publish_atrs` refuses while anything is.

Examples
--------
>>> rows = spreadsheet_rows(ATRSRecord(tier1={"name": "Letters"}))
>>> rows[0]
('Metadata', 'Record id', 'metadata.id', '')
>>> [r for r in rows if r[2] == "tier1.name"]
[('Tier 1', 'Name', 'tier1.name', 'Letters')]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicml._files import create_private_dir, make_private
from civicml.report._atrs_schema import ATRSRecord, find_gaps, mark_complete, record_fields

__all__ = [
    "PublishedATRS",
    "bundle_atrs",
    "publish_atrs",
    "read_atrs_spreadsheet",
    "spreadsheet_rows",
]

SHEET = "ATRS record"
HEADER = ("Section", "Field", "Id", "Value")


@dataclass(frozen=True)
class PublishedATRS:
    """The three files :func:`publish_atrs` writes."""

    json: Path
    html: Path
    xlsx: Path


def bundle_atrs(
    bundle_dir: str | Path,
    *,
    registry_info: dict[str, Any] | None = None,
    approval: dict[str, Any] | None = None,
) -> ATRSRecord:
    """The ATRS record civicml generates for a bundle (what ``civicml report`` writes as
    atrs.json, or for an adaptive trial's bundle what ``civicml bandits run`` writes), with the
    registry's approval record of its version."""
    from civicml.bundle import load_bundle
    from civicml.report._atrs import build_atrs
    from civicml.report._atrs_bandit import build_bandit_atrs
    from civicml.report._atrs_fill import record_approval
    from civicml.report._render import _context

    bundle = load_bundle(bundle_dir)
    if bundle.info.get("task") == "bandit":
        record = build_bandit_atrs(
            report=bundle.read_json("report.json"),
            checks=bundle.read_json("checks.json").get("checks", []),
            lineage=bundle.read_json("lineage.json") if bundle.has("lineage.json") else {},
            digest=bundle.digest,
            registry_info=registry_info,
        )
        return record_approval(record, approval)
    ctx = _context(bundle, registry_info)
    record = build_atrs(
        {**ctx, "leaderboard": ctx["board_raw"]}, digest=bundle.digest, registry_info=registry_info
    )
    return record_approval(record, approval)


def _cell(value: Any) -> Any:
    """A field's value as the spreadsheet holds it: text, a number, Yes/No, or "" for none.

    >>> _cell(None), _cell(True), _cell(["2026-01-02", "2026-02-03"]), _cell(0.5)
    ('', 'Yes', '2026-01-02; 2026-02-03', 0.5)
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return "; ".join(str(x) for x in value)
    if isinstance(value, int | float):
        return value
    return str(value)


def spreadsheet_rows(record: ATRSRecord) -> list[tuple[str, str, str, Any]]:
    """``(section, field, id, value)`` for every field, in the template's order."""
    out = []
    for f in record_fields(record):
        section, _, name = f.label.partition(": ")
        out.append((section, name, f.id, _cell(f.value)))
    return out


def _write_xlsx(record: ATRSRecord, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    ws.append(list(HEADER))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in spreadsheet_rows(record):
        ws.append(list(row))
        for cell in ws[ws.max_row]:  # a person's answer is text, never a live formula
            if isinstance(cell.value, str) and cell.data_type == "f":
                cell.data_type = "s"
    for col, width in zip("ABCD", (32, 40, 36, 90), strict=True):
        ws.column_dimensions[col].width = width
    for row_cells in ws.iter_rows(min_row=2):
        for cell in row_cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    wb.save(path)


def read_atrs_spreadsheet(path: str | Path) -> dict[str, Any]:
    """The values of a spreadsheet :func:`publish_atrs` wrote, by field id ("" for none)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        ws = wb[SHEET]
        rows = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    if not rows or tuple(rows[0]) != HEADER:
        from civicml._errors import BundleError

        raise BundleError.build(
            f"{str(path)!r} is not an ATRS spreadsheet civicml wrote",
            expected=f"a sheet {SHEET!r} headed {list(HEADER)}",
            got=list(rows[0]) if rows else "an empty sheet",
        )
    return {str(r[2]): ("" if r[3] is None else r[3]) for r in rows[1:]}


def publish_atrs(
    record: ATRSRecord, out_dir: str | Path, *, date: str | None = None
) -> PublishedATRS:
    """Mark ``record`` complete (dated ``date``, default today) and write ``atrs.json``,
    ``atrs.html`` and ``atrs.xlsx`` under ``out_dir``.

    Raises
    ------
    GovernanceError
        While :func:`~civicml.report.find_gaps` lists anything (nothing is written).
    """
    from civicml._errors import GovernanceError
    from civicml.report._render import page_context, write_atrs

    gaps = find_gaps(record)
    if gaps:
        raise GovernanceError.build(
            f"The ATRS record cannot be published while {len(gaps)} gap(s) remain",
            expected="no gaps",
            got=[f"{g.label} {g.problem}" for g in gaps[:3]],
            fix="Run 'civicml atrs check NAME VERSION' for the list, then 'civicml atrs fill'",
        )
    final = mark_complete(record, date=date or record.metadata.date_completion)
    out = create_private_dir(out_dir)
    digest = str(final.civicml.get("bundle_digest") or "")
    json_path, html_path = write_atrs(out, final, {**page_context(), "digest": digest})
    xlsx = out / "atrs.xlsx"
    _write_xlsx(final, xlsx)
    make_private(xlsx)  # like every file civicml writes; publish by copying
    return PublishedATRS(json_path, html_path, xlsx)
