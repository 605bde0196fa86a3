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
    project's lock or the input is unusable. The registrant is your OS login (not verified);
    with --registry https://... the bundle is registered on that civicml server as whoever
    $CIVICML_TOKEN belongs to, once the other steps have finished."""
    from civicml.cli._common import current_actor, is_remote, local_registry
    from civicml.cli._models import register_remote
    from civicml.spec import load_spec
    from civicml.workflow import run_pipeline

    def on_event(kind: str, **kw: Any) -> None:
        if json_out:
            return
        if kind == "step_done":
            err_console.print(f"[green]✓[/] {kw['step']}")
        elif kind == "warning":
            err_console.print(f"[yellow]warning:[/] {kw['message']}", soft_wrap=True)

    loaded = load_spec(spec)
    remote = is_remote(registry)
    outcome = run_pipeline(
        loaded,
        out,
        register_as=current_actor().name if register and not remote else None,
        registry_uri=local_registry(loaded.base_dir) if remote else registry,
        pdf=pdf,
        on_event=on_event,
    )
    if register and remote and not outcome.nothing_to_do:
        v = register_remote(registry, out / "bundle", loaded.name, "civicml pipeline run")
        on_event("step_done", step=f"register ({v.name} version {v.version} on the server)")
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
