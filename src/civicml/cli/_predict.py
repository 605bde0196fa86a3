"""``civicml predict``: score a file, a folder or a glob of partitions with a verified bundle.

Mounted by the main app as ``civicml predict`` (``app.command("predict")(predict)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicml._text import terminal_safe
from civicml.cli._common import ProjectOpt, RegistryOpt, console, handle_errors, progress_bar

__all__ = ["predict"]


@handle_errors
def predict(
    model: Annotated[
        str,
        typer.Argument(
            metavar="BUNDLE|NAME@ALIAS",
            help="A bundle folder, or a registered model: NAME@ALIAS (e.g. claims@production) "
            "or NAME/VERSION, fetched from the registry (or a civicml server: --registry "
            "https://..., $CIVICML_TOKEN) and verified.",
        ),
    ],
    data: Annotated[
        str,
        typer.Argument(
            help="CSV/Parquet file, a folder of them, a glob ('d/*.parquet'), or an S3 URL of "
            "Parquet objects ('s3://bucket/prefix/')."
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Output .csv/.parquet file, or a folder for partitioned output; a local path "
            "or an fsspec URL (s3://bucket/scored/).",
        ),
    ] = "predictions.csv",
    batch_rows: Annotated[int, typer.Option(min=1, help="Rows per batch.")] = 50_000,
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="Input columns to copy to the output.")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            envvar="CIVICML_ENGINE",
            help="Where partitions run: local or dask://HOST:PORT.",
        ),
    ] = "local",
    runtime: Annotated[str, typer.Option(help="auto (ONNX when verified), onnx or skops.")] = (
        "auto"
    ),
    unknown_category: Annotated[
        str,
        typer.Option(help="Categories never seen in training: reject (as serve) or allow."),
    ] = "reject",
    out_of_range: Annotated[
        str, typer.Option(help="Numbers outside the training range: reject (as serve) or allow.")
    ] = "reject",
    extra_columns: Annotated[
        str,
        typer.Option(
            help="Columns the model does not use (ids and --keep columns aside): reject (as "
            "serve) or allow."
        ),
    ] = "reject",
    registry: RegistryOpt = None,
    project_dir: ProjectOpt = Path("."),
) -> None:
    """Score data in batches with a verified bundle.

    One input file and ``-o x.csv|x.parquet`` writes one file atomically; in a CSV, text
    that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) starts with
    ``'``. A folder or glob of partitions (or ``-o`` a folder) writes one part per input,
    named from the input's name and content hash, plus ``_manifest.json`` (input -> part,
    rows and sha256 of both). A rerun skips inputs whose part is there and verifies, removes
    what a killed run left, and refuses (exit 2) to mix in another bundle's, a changed
    input's or an unlisted part. The last line checks rows in = rows out (exit 2 if not).
    ``-o`` may be an fsspec URL such as ``s3://bucket/scored/``.

    Rows are checked against the model's data contract first, as ``civicml serve`` checks a
    request (same policies, same defaults): an unseen category, an out-of-range number, a
    date not written as the contract says or a value of the wrong type stops the run with
    exit 2 and one line naming the columns and rows; nothing is written.

    A registered model is fetched into the project's ``.civicml/cache/`` and verified; with a
    Dask engine that folder must be one the workers can read (a shared filesystem).
    """
    from civicml.workflow import score_file, score_partitions

    policies = {
        "unknown_category": unknown_category,
        "out_of_range": out_of_range,
        "extra_columns": extra_columns,
    }
    bundle = _bundle_for(model, registry, project_dir)

    single = Path(data).is_file() and out.lower().endswith((".csv", ".parquet"))
    if single:
        n = score_file(
            bundle,
            data,
            out,
            batch_rows=batch_rows,
            keep=keep or [],
            progress=progress_bar(),
            policies=policies,
        )
        console.print(f"Scored {n:,} rows → {terminal_safe(out)}", markup=False)
        return
    res = score_partitions(
        bundle,
        data,
        out,
        engine=engine,
        batch_rows=batch_rows,
        keep=keep or [],
        runtime=runtime,
        progress=progress_bar(),
        policies=policies,
    )
    if res["cleaned"]:
        console.print(
            f"Removed {res['cleaned']} temporary file(s) an interrupted run left", markup=False
        )
    redone = f", {res['rescored']} redone after failing verification" if res["rescored"] else ""
    console.print(
        f"Scored {res['rows']:,} rows in {res['scored']} partition(s) with {res['runtime']}"
        f" ({res['skipped']} already done{redone}) → {terminal_safe(out.rstrip('/'))}/",
        markup=False,
        soft_wrap=True,
    )
    console.print(
        f"Checked: {res['parts']} input(s), {res['rows_in']:,} rows in = {res['rows_out']:,} "
        "rows out (_manifest.json)",
        markup=False,
        soft_wrap=True,
    )


def _bundle_for(model: str, registry: str | None, project_dir: Path) -> Path:
    """The bundle folder to score with: ``model`` itself, or the registered version it names."""
    import re

    folder = Path(model)
    if folder.exists() or not re.fullmatch(r"[A-Za-z0-9][\w.\-]*(@[\w.\-]+|/[0-9]+)", model):
        return folder  # a folder (a missing one gets the bundle loader's clear error)
    from civicml.cli._registry_open import open_from_cli

    # the embedded registry, or a civicml server (https://..., $CIVICML_TOKEN) whose verified
    # bundle is downloaded into the project's .civicml/cache
    with open_from_cli(registry, None, project_dir) as reg:
        bundle = reg.load_version(model)
    console.print(
        f"Scoring with {terminal_safe(model)} (sha256 {bundle.digest[:12]})", markup=False
    )
    return Path(bundle.path)
