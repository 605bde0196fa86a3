"""``civicml report BUNDLE -o DIR``: the HTML report, PDF, model card and ATRS record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicml.cli._common import console, handle_errors

__all__ = ["report"]


@handle_errors
def report(
    bundle: Annotated[Path, typer.Argument(help="The bundle folder (from 'civicml run').")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for report.html, report.pdf and the rest.")
    ] = Path("out/report"),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print a PDF.")] = True,
) -> None:
    """Write the plain-English report, its PDF, the model card and the ATRS record."""
    from civicml.report import write_report

    paths = write_report(bundle, out, pdf=pdf)
    console.print(f"report       {paths.html}")
    if paths.pdf is not None:
        console.print(f"pdf          {paths.pdf}")
    else:
        console.print(f"pdf          not written ({paths.pdf_note})")
    console.print(f"model card   {paths.model_card}")
    console.print(f"ATRS record  {paths.atrs_json}  and  {paths.atrs_html}")
