"""The ``civicml`` command line: parse, call the library, print. No logic lives here.

Heavy libraries (pandas, scikit-learn, LightGBM) are imported inside the commands that need
them, so ``civicml --help`` starts fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from civicml._text import terminal_text
from civicml.cli._common import (
    ByOpt,
    JsonOpt,
    RegisterOpt,
    RegistryOpt,
    SpecArg,
    console,
    emit_json,
    err_console,
    fail,
    handle_errors,
    progress_bar,
    progress_line,
    set_debug,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="civicml",
    help=(
        "Governed, explainable machine learning for UK public-sector teams.\n\n"
        "Start with 'civicml init', edit civicml.yaml, then 'civicml run civicml.yaml'."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

#: ``--engine``: where training trials run (``train`` and ``run``).
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        envvar="CIVICML_ENGINE",
        help="Where trials run: local, or dask://HOST:8786 (overrides 'engine' in the spec).",
    ),
]

#: ``--resume``: continue a killed search from its checkpoint (``train`` and ``run``).
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue the search a killed run left beside the bundle (.civicml-checkpoint), "
        "without repeating its finished trials. With max_trials the remaining trials run; with "
        "a time budget the run gets the budget that was left. Other data or settings are "
        "refused.",
    ),
]

#: ``--data-parallel``: the final LightGBM trained on the Dask cluster (``train`` and ``run``).
DataParallelOpt = Annotated[
    bool,
    typer.Option(
        "--data-parallel",
        help="Train the final LightGBM data-parallel on the Dask cluster named by --engine "
        "dask://HOST:PORT: the workers read the whole file, this machine holds only a sample "
        "(the search's) and the held-out rows it assesses (sets 'data_parallel: true').",
    ),
]


#: ``--out-of-core/--in-memory``: stream the file through DuckDB (``contract``, ``validate``).
OutOfCoreOpt = Annotated[
    bool | None,
    typer.Option(
        "--out-of-core/--in-memory",
        help="Stream the file through DuckDB in bounded memory, or load it whole (default: "
        "stream folders, globs and CSV/Parquet files over 256 MiB).",
        show_default=False,
    ),
]


def _peak_memory_line(what: str) -> None:
    """Say, on stderr, how much memory the command has used at most (its peak RSS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    mib = peak / (1024 if sys.platform != "darwin" else 1024 * 1024)  # bytes on macOS
    err_console.print(f"{what}; peak memory {mib:,.0f} MiB.")


def _version(value: bool) -> None:
    if value:
        from civicml import __version__

        console.print(f"civicml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    set_debug(debug)


@app.command()
@handle_errors
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for civicml.yaml.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented civicml.yaml to start a project."""
    from civicml.spec import write_template

    path = write_template(directory, force=force)
    console.print(f"Wrote {path}. Edit 'data', 'target' and 'owner', then run:")
    console.print(f"  civicml run {path}")


@app.command()
@handle_errors
def validate(
    data: Annotated[Path | None, typer.Argument(help="Data file to check.")] = None,
    contract: Annotated[
        Path | None, typer.Option("--contract", "-c", help="A contract JSON file.")
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", "-b", help="Check against a bundle's contract.")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", "-s", help="Check a civicml.yaml and its training data."),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    out_of_core: OutOfCoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a data file against a contract (exit 0 clean, 1 violations, 2 unusable input).

    Folders, globs and files over 256 MiB are read through DuckDB in batches (same report,
    row numbers from the top of the file, bounded memory). With --spec, check the project
    spec and its training data instead: the training-table checks and the UK personal-data
    scan (on a table too large for memory, on a reproducible 200,000-row DuckDB sample, and
    the output says so).
    """
    from civicml._errors import SpecError

    if spec is not None:
        _validate_spec(spec, json_out, out_of_core)
        return
    if data is None or (contract is None) == (bundle is None):
        raise SpecError.build(
            "validate needs a data file and exactly one of --contract or --bundle (or --spec)",
            fix="Run 'civicml validate DATA --contract contract.json', or see --help",
        )
    from civicml.data import DataContract, is_large, read_table, validate_data, validate_source

    serving: dict[str, Any] = {}
    if bundle is not None:
        from civicml.bundle import verify_bundle

        checked = verify_bundle(bundle)
        found = DataContract.from_dict(checked.read_json("contract.json"))
        info = checked.info if isinstance(checked.info, dict) else {}
        # against a bundle: the verdict serve and predict give (their policies, their inputs)
        serving = {
            "inputs": list(info.get("features") or []) or None,
            "passthrough": list(info.get("id_columns") or []),
            "unknown_category": "reject",
            "out_of_range": "reject",
            "extra_columns": "reject",
        }
    else:
        found = DataContract.load(contract)  # type: ignore[arg-type]
    stream = is_large(data) if out_of_core is None else out_of_core
    if stream:
        report = validate_source(data, found, strict=strict, **serving)
        _peak_memory_line(f"Validated {report.n_rows:,} rows through DuckDB in batches")
    else:
        report = validate_data(read_table(data), found, strict=strict, **serving)
    if json_out:
        emit_json(report.to_dict())
    else:
        console.print(terminal_text(report.render()), markup=False, soft_wrap=True)
    raise typer.Exit(0 if report.ok else 1)


def _validate_spec(spec_path: Path, json_out: bool, out_of_core: bool | None = None) -> None:
    from civicml.data import check_spec_data
    from civicml.spec import load_spec

    spec = load_spec(spec_path)
    found = check_spec_data(spec, out_of_core=out_of_core)
    findings = found.findings
    declared = {*spec.columns.id, *spec.columns.drop, *spec.personal_data.allow}
    undeclared = [f for f in findings if f.column not in declared]
    if json_out:
        emit_json({"ok": not undeclared, **found.to_dict()})
    else:
        console.print(
            f"{spec_path}: {found.rows_total:,} rows × {found.columns} columns; spec is valid."
        )
        if found.note:
            console.print(f"note: {found.note}", markup=False, soft_wrap=True)
        for w in found.warnings:
            console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
        for f in findings:
            tag = "declared" if f.column in declared else "[red]NOT DECLARED[/]"
            console.print(f"personal data: {f.column!r} holds {f.kind} in {f.summary} ({tag})")
        if not findings:
            console.print("No UK personal data found.")
    if found.sampled:
        _peak_memory_line(f"Checked a sample of {found.rows_checked:,} rows through DuckDB")
    raise typer.Exit(1 if undeclared else 0)


@app.command()
@handle_errors
def contract(
    data: Annotated[Path, typer.Argument(help="Data file to learn the contract from.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON.")] = Path(
        "contract.json"
    ),
    target: Annotated[str | None, typer.Option(help="The target column.")] = None,
    out_of_core: OutOfCoreOpt = None,
) -> None:
    """Infer a data contract (types, roles, ranges, categories) and save it as JSON.

    Folders, globs and files over 256 MiB are read through DuckDB: roles from a sample,
    every statistic over every row, in bounded memory; the contract is the one the whole file
    would give in memory."""
    from civicml.data import infer_contract, infer_contract_duckdb, is_large, read_table

    stream = is_large(data) if out_of_core is None else out_of_core
    if stream:
        found = infer_contract_duckdb(data, target=target)
    else:
        found = infer_contract(read_table(data), target=target)
    path = found.save(out)
    console.print(f"Wrote the contract for {len(found.columns)} columns to {path}.")
    if stream:
        _peak_memory_line(f"Read {found.n_rows:,} rows through DuckDB")


@app.command()
@handle_errors
def train(
    spec: SpecArg = Path("."),
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle folder to write.")] = Path(
        "out/bundle"
    ),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing bundle.")
    ] = False,
    registry: RegistryOpt = None,
    engine: EngineOpt = None,
    resume: ResumeOpt = False,
    data_parallel: DataParallelOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Train and compare candidates with cross-validation; save the winner as a bundle.

    The run is recorded (see 'civicml runs list'), as failed if it fails: in the registry, or
    with --registry https://... (a civicml server, whose runs are read only) in the project's
    own database."""
    from civicml.cli._common import is_remote, local_registry
    from civicml.spec import load_spec

    loaded = _with_engine(load_spec(spec), engine, data_parallel=data_parallel)
    runs_uri = local_registry(loaded.base_dir) if is_remote(registry) else registry
    outcome = _with_progress(
        "run_training",
        loaded,
        out,
        overwrite=overwrite,
        runs_uri=runs_uri,
        quiet=json_out,
        **({"resume": True} if resume else {}),
    )
    if json_out:
        emit_json({**_summary(outcome), "run_id": outcome.run_id})
    else:
        _print_outcome(outcome)
        console.print(f"Run {outcome.run_id} recorded: civicml runs show {outcome.run_id[:8]}")


@app.command()
@handle_errors
def run(
    spec: SpecArg = Path("."),
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for all outputs.")] = Path("out"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace earlier outputs.")] = True,
    pdf: Annotated[
        bool, typer.Option("--pdf/--no-pdf", help="Also print the report to PDF.")
    ] = True,
    register: RegisterOpt = True,
    registry: RegistryOpt = None,
    by: ByOpt = None,
    engine: EngineOpt = None,
    resume: ResumeOpt = False,
    data_parallel: DataParallelOpt = False,
    json_out: JsonOpt = False,
    project_dir: Annotated[
        Path | None,
        typer.Option(
            "--project-dir",
            envvar="CIVICML_PROJECT",
            help="Project folder whose .civicml/ records the run and the version (default: "
            "the spec's folder).",
        ),
    ] = None,
) -> None:
    """The main job: validate the spec and data, train, save a verified bundle, write the
    report, model card and ATRS record, and register the bundle as a new (unpromoted) version.

    The registrant is your OS login (not verified); with --registry https://... the bundle is
    registered on that civicml server as whoever $CIVICML_TOKEN belongs to (the run itself is
    recorded in the project's own database)."""
    from civicml.bandits import is_bandit_spec
    from civicml.cli._common import current_actor, is_remote, local_registry
    from civicml.cli._registry_open import register_remote
    from civicml.spec import load_spec

    remote = is_remote(registry)
    local_as = current_actor().name if register and not remote else None
    if is_bandit_spec(spec):  # a 'bandit:' section: the adaptive-trial job
        from civicml.cli._bandits import run_bandit_spec

        run_bandit_spec(
            spec, out, overwrite, pdf, local_as, registry, json_out, remote=register and remote
        )
        return
    loaded = _with_engine(load_spec(spec), engine, data_parallel=data_parallel)

    project = _with_progress(
        "run_project",
        loaded,
        out,
        overwrite=overwrite,
        pdf=pdf,
        register_as=local_as,
        registry_uri=(
            local_registry(project_dir or loaded.base_dir)
            if remote
            else registry or (local_registry(project_dir) if project_dir else None)
        ),
        quiet=json_out,
        **({"resume": True} if resume else {}),
    )
    if register and remote:
        project.registered = register_remote(
            registry, project.training.bundle.path, loaded.name, "civicml run"
        )
    outputs = project.outputs()
    run_id = project.training.run_id
    if json_out:
        emit_json({**_summary(project.training), "outputs": outputs, "run_id": run_id})
        return
    _print_outcome(project.training)
    if project.report is not None and project.report.pdf is None:
        err_console.print(f"[yellow]note:[/] no PDF: {project.report.pdf_note}", soft_wrap=True)
    console.print("\nOutputs:")
    width = max(len(k) for k in outputs)
    for key, path in outputs.items():
        console.print(f"  {key.ljust(width)}  {path}", soft_wrap=True)
    console.print(f"\nVerify the bundle with: civicml verify {outputs['bundle']}")
    console.print(f"Run {run_id} recorded: civicml runs show {(run_id or '')[:8]}")


@app.command()
@handle_errors
def verify(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder.")],
    signer: Annotated[
        str | None,
        typer.Option("--signer", help="Also require this key fingerprint to have signed it."),
    ] = None,
) -> None:
    """Check every file of a bundle against its manifest and its signature, and load its
    model safely. Exit 2 when anything does not match (e.g. a rewritten manifest)."""
    from civicml.bundle import load_bundle

    b = load_bundle(bundle)
    signed = f"signed by {b.signer}" if b.signer else "unsigned (no signature.json)"
    if signer and not (b.signer or "").startswith(signer.strip().lower()):
        raise fail(f"{bundle} is {signed}, not by the key {signer} that --signer requires")
    console.print(f"OK: {len(b.files)} files verified; bundle sha256 {b.digest}; {signed}")


def _with_engine(spec: Any, engine: str | None, *, data_parallel: bool = False) -> Any:
    """The spec with ``--engine`` (and ``--data-parallel``) applied, validated like the spec's
    own keys."""
    if data_parallel and not spec.data_parallel:
        spec = _with_engine(spec, engine)
        from civicml.spec import spec_from_dict

        raw = spec.model_dump(mode="json", exclude_unset=True)
        raw["data_parallel"] = True
        return spec_from_dict(raw, base_dir=spec.base_dir, source="--data-parallel")
    if not engine:
        return spec
    from civicml.spec import spec_from_dict

    raw = spec.model_dump(mode="json", exclude_unset=True)
    raw["engine"] = engine
    return spec_from_dict(raw, base_dir=spec.base_dir, source="--engine")


# --- printing helpers -------------------------------------------------------------------------


def _with_progress(job: str, spec: Any, out: Path, *, quiet: bool, **kwargs: Any) -> Any:
    import civicml.workflow

    progress = progress_bar()
    state: dict[str, Any] = {}

    def on_event(kind: str, **kw: Any) -> None:
        if not quiet and not console.is_terminal:  # cron, CI, a log file: plain lines on stdout
            line = progress_line(kind, kw)  # (stderr keeps errors to their one line)
            if line:
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        if kind == "stage" and not quiet and err_console.is_terminal:
            err_console.print(f"[dim]· {kw['name']}[/]")
        elif kind == "warning" and not quiet:
            err_console.print(f"[yellow]warning:[/] {kw['message']}", soft_wrap=True)
        elif kind == "search_start":
            state["task"] = progress.add_task(
                "cross-validating", total=kw["n_candidates"] * kw["n_folds"]
            )
        elif kind == "candidate_start" and "task" in state:
            progress.update(state["task"], description=f"cross-validating {kw['name']}")
        elif kind == "fold_done" and "task" in state:
            progress.advance(state["task"])

    with progress:
        return getattr(civicml.workflow, job)(spec, out, on_event=on_event, **kwargs)


def _summary(outcome: Any) -> dict[str, Any]:
    r = outcome.result
    return {
        "bundle": str(outcome.bundle.path),
        "bundle_sha256": outcome.bundle.digest,
        "task": r.task,
        "metric": r.metric,
        "best": r.best,
        "test_metrics": r.test_metrics,
        "threshold": r.threshold.value if r.threshold else None,
        "leaderboard": r.leaderboard.to_dict(),
        "warnings": outcome.warnings,
    }


def _print_outcome(outcome: Any) -> None:
    from rich.table import Table

    r = outcome.result
    metric = r.metric
    table = Table(title=f"Leaderboard ({r.task}, {r.n_train:,} training rows, {metric} by CV)")
    for col in ("rank", "candidate", metric, "± sd", "fit s", "predict µs/row", "status"):
        table.add_column(col, justify="left" if col in ("candidate", "status") else "right")
    for i, e in enumerate(r.leaderboard.ranked(), start=1):
        table.add_row(
            str(i),
            e.name,
            _fmt(e.cv_mean.get(metric)),
            _fmt(e.cv_std.get(metric)),
            f"{e.fit_seconds:.2f}",
            f"{e.predict_us_per_row:.1f}",
            e.status,
        )
    console.print(table)
    test = ", ".join(f"{k} {v:.3f}" for k, v in r.test_metrics.items() if v == v)
    console.print(f"Chosen: [bold]{r.best}[/]. Held-out test ({r.n_test:,} rows): {test}")
    if r.threshold is not None:
        t = r.threshold
        console.print(
            f"Decision threshold {t.value:.3f} ({t.rule}; FP cost {t.cost_false_positive:g}, "
            f"FN cost {t.cost_false_negative:g}): expected cost {t.expected_cost_per_1000:.0f} "
            "per 1,000 cases out of fold."
        )
    _print_checks(getattr(outcome, "checks", None) or [])
    console.print(f"Bundle: {outcome.bundle.path} (sha256 {outcome.bundle.digest[:16]}…)")


def _print_checks(checks: list[Any]) -> None:
    """One line per check that failed or was not made, failures first, so the terminal never
    shows only the flattering numbers (the report has them all)."""
    failed = [c for c in checks if getattr(c, "passed", True) is False]
    unchecked = [c for c in checks if getattr(c, "passed", True) is None]
    passed = len(checks) - len(failed) - len(unchecked)
    if not checks:
        return
    console.print(
        f"Checks before promotion: {len(failed)} failed, {len(unchecked)} not checked, "
        f"{passed} passed."
    )
    for c in failed:
        console.print(f"  FAILED {c.name}: {c.evidence}", markup=False)
    for c in unchecked:
        console.print(f"  not checked {c.name}: {c.evidence}", markup=False)


def _fmt(v: float | None) -> str:
    return "—" if v is None or v != v else f"{v:.4f}"


def main() -> None:
    """Entry point of the ``civicml`` console script.

    Files the process creates are its owner's only (``umask 077``): a belt over the modes every
    store sets itself, which library use relies on."""
    os.umask(0o077)
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        err_console.print("Interrupted.")
        sys.exit(130)


def _mount() -> None:
    """Attach the commands that live in their own modules."""
    from civicml.cli import _atrs, _data, _keys, _models, _pipeline, _runs, _tokens
    from civicml.cli._bandits import bandits_app
    from civicml.cli._deploy import deploy_app
    from civicml.cli._monitor import monitor_app
    from civicml.cli._predict import predict
    from civicml.cli._report import report_app
    from civicml.cli._serve import serve
    from civicml.cli._server import server_app
    from civicml.cli._ui import ui

    app.command("predict")(predict)
    app.add_typer(report_app, name="report")
    app.command("serve")(serve)
    app.command("ui")(ui)
    app.add_typer(_models.app, name="models")
    app.add_typer(_tokens.app, name="tokens")
    app.add_typer(_keys.app, name="keys")
    app.add_typer(bandits_app, name="bandits")
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(_runs.app, name="runs")
    app.add_typer(_data.app, name="data")
    app.add_typer(_pipeline.app, name="pipeline")
    app.add_typer(deploy_app, name="deploy")
    app.add_typer(server_app, name="server")
    app.add_typer(_atrs.app, name="atrs")


_mount()
