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
    progress_line,
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
    from civicml.cli._registry_open import register_remote
    from civicml.spec import load_spec
    from civicml.workflow import run_pipeline

    def on_event(kind: str, **kw: Any) -> None:
        if json_out:
            return
        line = None if console.is_terminal else progress_line(kind, kw)
        if line:  # cron, CI, a log file: one plain line per stage and finished candidate
            console.print(line, markup=False, highlight=False, soft_wrap=True)
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
    print_pipeline_summary(out, outcome.state)


def print_pipeline_summary(out: Path, state: dict[str, Any]) -> None:
    """What ``civicml run`` prints, from the pipeline's output folder: the leaderboard, the
    checks that failed or were not made, the registered version and where everything is."""
    import json

    import pandas as pd

    board_path, checks_path = out / "leaderboard.csv", out / "bundle" / "checks.json"
    if board_path.is_file():
        board = pd.read_csv(board_path)
        # rank, candidate, the primary metric and its sd (the first metric column), status
        metric = next((c for c in board.columns if f"{c}_sd" in board.columns), None)
        shown = ["rank", "candidate", *([metric, f"{metric}_sd"] if metric else []), "status"]
        shown = [c for c in shown if c in board.columns]
        console.print("Leaderboard:", markup=False)
        console.print(board[shown].head(10).to_string(index=False), markup=False)
    steps = state.get("steps", {})
    best = (steps.get("train") or {}).get("best")
    if best:
        console.print(f"Chosen: {best}.", markup=False)
    if checks_path.is_file():
        checks = json.loads(checks_path.read_text(encoding="utf-8")).get("checks", [])
        failed = [c for c in checks if c.get("passed") is False]
        unchecked = [c for c in checks if c.get("passed") is None]
        console.print(
            f"Checks before promotion: {len(failed)} failed, {len(unchecked)} not checked, "
            f"{len(checks) - len(failed) - len(unchecked)} passed.",
            markup=False,
        )
        for c in [*failed, *unchecked]:
            tag = "FAILED" if c in failed else "not checked"
            console.print(f"  {tag} {c.get('name')}: {c.get('evidence', '')}", markup=False)
    registered = steps.get("register") or {}
    outputs = {
        "bundle": out / "bundle",
        "leaderboard": board_path,
        "contract": out / "contract.json",
        "report": out / "report" / "report.html",
    }
    console.print("Outputs:", markup=False)
    for key, path in outputs.items():
        if path.exists():
            console.print(f"  {key.ljust(11)}  {path}", markup=False, soft_wrap=True)
    if registered:
        version = registered.get("version")
        console.print(f"  registered   {registered.get('model')} version {version}", markup=False)
