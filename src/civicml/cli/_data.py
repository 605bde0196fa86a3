"""``civicml data``: build the training table from the spec's sources, diff two runs' data, and
profile a file (statistics, an accessible HTML page and a dataset card).

The lead mounts this app as ``civicml data``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from civicml._text import guard_csv_cells, terminal_safe
from civicml.cli._common import (
    JsonOpt,
    ProjectOpt,
    RegistryOpt,
    SpecArg,
    console,
    emit_json,
    handle_errors,
)
from civicml.cli._runs import open_store

__all__ = ["app"]

app = typer.Typer(
    help="Data pipelines: run the spec's ETL, compare the data two runs read, profile a file.",
    no_args_is_help=True,
)


@app.command("etl")
@handle_errors
def etl(
    spec: SpecArg = Path("."),
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the table (.csv or .parquet).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Read the sources, run the transform steps (rows in → out per step), fingerprint all."""
    from rich.table import Table

    from civicml.data import run_etl
    from civicml.spec import load_spec

    result = run_etl(load_spec(spec))
    if out is not None:
        if out.suffix.lower() == ".parquet":
            result.frame.to_parquet(out, index=False)
        else:
            guard_csv_cells(result.frame).to_csv(out, index=False)  # formulas shown as text
    if json_out:
        emit_json(result.to_dict())
        return
    table = Table(title="Transform steps")
    for col in ("#", "step", "output", "inputs", "rows in", "rows out", "note"):
        table.add_column(col, justify="right" if col.startswith(("#", "rows")) else "left")
    for s in result.steps:
        table.add_row(
            str(s.index),
            _safe(s.kind),
            _safe(s.name),
            _safe(", ".join(s.inputs)),
            f"{s.rows_in:,}",
            f"{s.rows_out:,}",
            _safe(s.note),
        )
    console.print(table)
    for v in result.data_versions():
        console.print(
            f"{terminal_safe(v.role)} {terminal_safe(v.name)}: {v.rows:,} rows × {v.columns} "
            f"columns, sha256 {v.sha256[:16]}…",
            markup=False,
        )
    if out is not None:
        console.print(f"Wrote {out}", markup=False)


@app.command("diff")
@handle_errors
def diff(
    run_a: Annotated[str, typer.Argument(help="The first run (id or prefix).")],
    run_b: Annotated[str, typer.Argument(help="The second run (id or prefix).")],
    all_columns: Annotated[
        bool, typer.Option("--all", help="Show every column, not only the shifted ones.")
    ] = False,
    registry: RegistryOpt = None,
    project_dir: ProjectOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Schema changes, row-count changes and per-column distribution shifts between the data
    two runs read."""
    from rich.table import Table

    from civicml.tracking import diff_data

    with open_store(registry, project_dir) as store:
        a, b = store.get_run(run_a), store.get_run(run_b)
    doc = diff_data(a, b)
    if json_out:
        emit_json(doc)
        return
    for t in doc["tables"]:
        title = f"{terminal_safe(t['role'])} {terminal_safe(t['name'])}"
        if "only_in" in t:
            which = "A" if t["only_in"] == "a" else "B"
            console.print(f"{title}: only in run {which}", markup=False)
            continue
        ra, rb, delta = t["rows"]
        same = "same content" if t["same_content"] else "content changed"
        console.print(f"[bold]{escape(title)}[/]: {ra:,} → {rb:,} rows ({delta:+,}); {same}")
        schema = t["schema"]
        for key in ("added", "removed"):
            if schema[key]:
                names = ", ".join(terminal_safe(c) for c in schema[key])
                console.print(f"  columns {key}: {names}", markup=False)
        for col, (x, y) in schema["retyped"].items():
            console.print(
                f"  column {terminal_safe(col)} type {terminal_safe(x)} → {terminal_safe(y)}",
                markup=False,
            )
        shown = {c: d for c, d in t["columns"].items() if all_columns or d["flagged"]}
        if not shown:
            console.print("  no column shifted beyond the thresholds")
            continue
        table = Table(title=f"{title}: column shifts")
        for col in ("column", "kind", "measure", "shift", "missing A → B", "flagged"):
            table.add_column(col)
        for col, d in shown.items():
            na, nb = d["null_share"]
            table.add_row(
                _safe(col),
                _safe(d["kind"]),
                d["measure"],
                _num(d["shift"]),
                f"{_num(na)} → {_num(nb)}",
                "yes" if d["flagged"] else "",
            )
        console.print(table)


@app.command("profile")
@handle_errors
def profile(
    data: Annotated[Path, typer.Argument(help="A CSV or Parquet file, a folder or a glob.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the three files.")],
    target: Annotated[
        str | None, typer.Option("--target", help="Compare this column with every other.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=100, help="Categories shown.")] = 10,
    minimal: Annotated[
        bool,
        typer.Option(
            "--minimal",
            help="Per-column statistics only: no missingness pattern, correlations or "
            "associations.",
        ),
    ] = False,
    protected: Annotated[
        list[str] | None,
        typer.Option(
            "--protected",
            help="CHARACTERISTIC=COLUMN (repeatable), e.g. sex=sex: group counts for it.",
        ),
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help='JSON file of the population served, {"column": {"group": share}}: each '
            "group's share in the data beside it.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Profile a file through DuckDB: profile.json, an offline profile.html, dataset_card.md
    and dataset_card.json (the ATRS data fields). Values of free text, identifiers and personal
    data are never written."""
    from civicml._files import create_private_dir, write_private_bytes, write_private_text
    from civicml.bundle import dumps_json
    from civicml.data import dataset_card, dataset_card_data, profile_data
    from civicml.report import write_profile_page

    doc = profile_data(
        data,
        target=target,
        top=top,
        minimal=minimal,
        protected=_pairs(protected or [], "--protected"),
        reference_shares=_reference(reference),
    )
    folder = create_private_dir(out)
    paths = {
        "profile_json": write_private_bytes(folder / "profile.json", dumps_json(doc)),
        "profile_html": write_profile_page(doc, folder / "profile.html"),
        "dataset_card": write_private_text(folder / "dataset_card.md", dataset_card(doc)),
        "dataset_card_json": write_private_bytes(
            folder / "dataset_card.json", dumps_json(dataset_card_data(doc))
        ),
    }
    if json_out:
        emit_json({k: str(v) for k, v in paths.items()} | {"rows": doc["rows"]})
        return
    console.print(
        f"Profiled {doc['rows']:,} rows × {doc['n_columns']} columns in {doc['seconds']:.2f} s; "
        f"{doc['duplicate_rows']:,} duplicate rows.",
        markup=False,
    )
    for p in paths.values():
        console.print(f"Wrote {terminal_safe(p)}", markup=False)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict; a malformed one is one clear line (exit 2)."""
    from civicml._errors import SpecError

    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SpecError.build(
                f"{option} is not CHARACTERISTIC=COLUMN",
                got=item,
                fix=f"Pass e.g. {option} sex=sex {option} age=age_band",
            )
        out[key.strip()] = value.strip()
    return out


def _reference(path: Path | None) -> dict[str, dict[str, float]] | None:
    """The --reference JSON file: {column: {group: share}} (checked again by profile_data)."""
    import json

    from civicml._errors import DataError

    if path is None:
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError.build(
            f"The --reference file {path} cannot be read as JSON",
            expected='{"column": {"group": share}}',
            got=type(exc).__name__,
            fix="Pass a JSON file of each column's group shares in the population served",
        ) from None
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise DataError.build(
            f"The --reference file {path} is not {{column: {{group: share}}}}",
            got=type(doc).__name__,
            fix='Write it as {"sex": {"female": 0.51, "male": 0.49}}',
        )
    return doc


def _safe(value: Any) -> str:
    """A value from data or a spec for a Rich table cell or markup line: control and bidi
    characters escaped, long values shortened, Rich markup inert."""
    return escape(terminal_safe(value))


def _num(v: Any) -> str:
    return "—" if v is None else f"{v:.3g}"
