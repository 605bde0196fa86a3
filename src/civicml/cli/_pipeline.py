"""``civicml pipeline run``: ETL → train → report → register as one idempotent, resumable,
locked job for cron or a CI schedule. The lead mounts this app as ``civicml pipeline``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from civicml.cli._common import (
    ByOpt,
    JsonOpt,
    RegisterOpt,
    RegistryOpt,
    SpecArg,
    console,
    emit_json,
    err_console,
    handle_errors,
)

__all__ = ["app"]

app = typer.Typer(
    help="Scheduled retraining: ETL → train → report → register, resumable and locked.",
    no_args_is_help=True,
)


@app.command("run")
@handle_errors
def run(
    spec: SpecArg = Path("."),
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for all outputs.")] = Path("out"),
    register: RegisterOpt = True,
    registry: RegistryOpt = None,
    by: ByOpt = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print a PDF report.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Run the pipeline. Exit 0 when done (or nothing to do), 2 when another run holds the
    project's lock or the input is unusable."""
    from civicml.cli._models import default_actor
    from civicml.spec import load_spec
    from civicml.workflow import run_pipeline

    def on_event(kind: str, **kw: Any) -> None:
        if json_out:
            return
        if kind == "step_done":
            err_console.print(f"[green]✓[/] {kw['step']}")
        elif kind == "warning":
            err_console.print(f"[yellow]warning:[/] {kw['message']}", soft_wrap=True)

    outcome = run_pipeline(
        load_spec(spec),
        out,
        register_as=default_actor(by) if register else None,
        registry_uri=registry,
        pdf=pdf,
        on_event=on_event,
    )
    if json_out:
        emit_json(outcome.to_dict())
        return
    if outcome.nothing_to_do:
        console.print(
            f"Nothing to do: every step already finished for these inputs "
            f"(fingerprint {outcome.fingerprint[:12]}…) in {out}.",
            markup=False,
        )
        return
    resumed = f" (resumed; already done: {', '.join(outcome.skipped)})" if outcome.skipped else ""
    console.print(
        f"Pipeline finished: ran {', '.join(outcome.ran)}{resumed}. Run {outcome.run_id}.",
        markup=False,
    )
