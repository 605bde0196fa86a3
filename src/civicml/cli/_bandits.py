"""``civicml bandits``: create adaptive trials, show their state, evaluate a new policy offline.

Mount in ``cli/_app.py`` with ``app.add_typer(bandits_app, name="bandits")``. Heavy imports
(numpy, SQLAlchemy, mabwiser, scikit-learn) happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from civicml.cli._common import (
    ByOpt,
    JsonOpt,
    ProjectOpt,
    RegistryOpt,
    console,
    emit_json,
    err_console,
    handle_errors,
)

__all__ = ["bandits_app"]

bandits_app = typer.Typer(
    no_args_is_help=True,
    help="Contextual bandits for adaptive trials (e.g. letter wordings).",
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Bandit store URL (default $CIVICML_BANDITS_DB or sqlite:///.civicml/bandits.db).",
    ),
]


@bandits_app.command("create")
@handle_errors
def create(
    name: Annotated[str, typer.Argument(help="The bandit's name (overrides the spec's).")],
    spec: Annotated[Path, typer.Option("--spec", "-s", help="The bandit.yaml.")],
    db: DbOpt = None,
    exist_ok: Annotated[
        bool, typer.Option("--exist-ok", help="Succeed if an identical bandit exists.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a bandit from its bandit.yaml."""
    from civicml.bandits import load_bandit_spec, open_bandit_store

    loaded = load_bandit_spec(spec, name=name)
    store = open_bandit_store(db)
    try:
        record = store.create_bandit(loaded, exist_ok=exist_ok)
    finally:
        store.close()
    if as_json:
        emit_json(
            {
                "name": record.name,
                "policy_version": record.policy_version,
                "policy": record.policy_config,
                "spec": record.spec,
            }
        )
        return
    console.print(
        f"Created bandit {record.name!r}: arms {loaded.arms}, policy {loaded.policy}, "
        f"floor {loaded.min_propensity} per arm."
    )
    console.print(f"  POST /bandits/{record.name}/choose and /bandits/{record.name}/reward")


@bandits_app.command("status")
@handle_errors
def status(
    name: Annotated[str, typer.Argument(help="The bandit's name.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a bandit's arms, pulls and mean rewards."""
    from civicml.bandits import bandit_report, open_bandit_store

    store = open_bandit_store(db)
    try:
        rep = bandit_report(store, name)
    finally:
        store.close()
    if as_json:
        emit_json(rep)
        return
    _print_arms(rep, ".")


@bandits_app.command("evaluate")
@handle_errors
def evaluate(
    name: Annotated[str, typer.Argument(help="The bandit's name.")],
    policy: Annotated[
        str, typer.Option("--policy", help="Candidate: linucb, thompson or epsilon_greedy.")
    ] = "linucb",
    alpha: Annotated[float, typer.Option("--alpha", help="LinUCB exploration width.")] = 1.0,
    l2: Annotated[float, typer.Option("--l2", help="LinUCB ridge penalty.")] = 1.0,
    epsilon: Annotated[float, typer.Option("--epsilon", help="Epsilon-greedy share.")] = 0.1,
    min_propensity: Annotated[
        float | None, typer.Option("--min-propensity", help="Floor (default: the bandit's).")
    ] = None,
    estimator: Annotated[str, typer.Option("--estimator", help="Gate on dr, ips or snips.")] = "dr",
    margin: Annotated[float, typer.Option("--margin", help="Required improvement.")] = 0.0,
    train_fraction: Annotated[
        float, typer.Option("--train-fraction", help="Share of the log the candidate learns from.")
    ] = 0.5,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the bootstrap.")] = 0,
    promote: Annotated[
        bool, typer.Option("--promote", help="Serve the candidate if the gate allows it.")
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Off-policy evaluation of a candidate policy from the logged propensities (IPS, SNIPS, DR)."""
    from civicml.bandits import evaluate_candidate, make_policy, open_bandit_store

    store = open_bandit_store(db)
    try:
        spec = store.spec(name)
        config: dict[str, Any] = {
            "policy": policy,
            "alpha": alpha,
            "l2": l2,
            "epsilon": epsilon,
            "min_propensity": spec.min_propensity if min_propensity is None else min_propensity,
            "seed": spec.seed,
        }
        candidate = make_policy(config, spec.arms, spec.context)
        result = evaluate_candidate(
            store.log(name),
            candidate,
            train_fraction=train_fraction,
            estimator=estimator,
            margin=margin,
            n_boot=n_boot,
            seed=seed,
        )
        promoted = None
        if promote and result.replace:
            promoted = store.set_policy(name, candidate.config(), reason=result.reason)
    finally:
        store.close()
    if as_json:
        emit_json({**result.as_dict(), "promoted_version": promoted})
        return
    from rich.table import Table

    console.print(
        f"Candidate {policy} for {name!r}: trained on {result.n_train} logged decisions, "
        f"evaluated on {result.n_eval} (effective sample size "
        f"{result.candidate.effective_sample_size:.0f})."
    )
    table = Table("estimator", "value", "95% interval")
    for est in [*result.candidate.estimates.values(), result.candidate.logged]:
        table.add_row(est.estimator.upper(), f"{est.value:.4f}", f"{est.lower:.4f}–{est.upper:.4f}")
    console.print(table)
    console.print(("REPLACE: " if result.replace else "KEEP: ") + result.reason)
    if promoted is not None:
        console.print(f"Promoted: policy version {promoted} now serves {name!r}.")


@bandits_app.command("report")
@handle_errors
def report(
    name: Annotated[str, typer.Argument(help="The bandit's name.")],
    html: Annotated[Path, typer.Option("--html", help="Write the HTML fragment here.")],
    db: DbOpt = None,
) -> None:
    """Write the bandit's report section as an HTML fragment."""
    from civicml.bandits import bandit_report, bandit_report_html, open_bandit_store

    store = open_bandit_store(db)
    try:
        fragment = bandit_report_html(bandit_report(store, name))
    finally:
        store.close()
    html.write_text(fragment, encoding="utf-8")
    console.print(f"Wrote {html}.")


@bandits_app.command("register")
@handle_errors
def register(
    name: Annotated[str, typer.Argument(help="The bandit's name.")],
    by: ByOpt = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Bundle folder (default .civicml/bundles/NAME)."),
    ] = None,
    registry: RegistryOpt = None,
    project_dir: ProjectOpt = Path("."),
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register the bandit's current policy as a new model version (spec, policy, report, checks),
    so approval, promotion and the audit log work as for any model."""
    from civicml.bandits import open_bandit_store, save_bandit_bundle
    from civicml.cli._common import current_actor
    from civicml.cli._registry_open import acted, open_from_cli

    store = open_bandit_store(db)
    try:
        dest = out or project_dir / ".civicml" / "bundles" / f"{name}-bandit"
        bundle = save_bandit_bundle(store, name, dest, overwrite=True)
    finally:
        store.close()
    with open_from_cli(registry, None, project_dir) as reg:
        version = reg.register(bundle.path, name, actor=current_actor(), reason=reason)
        who = acted(reg)
    if as_json:
        emit_json({"name": name, "version": version.version, "bundle": str(bundle.path)})
        return
    console.print(
        f"Registered bandit {name} as version {version.version} (not promoted) as {who}.",
        markup=False,
    )


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def run_bandit_spec(
    spec: Path,
    out: Path,
    overwrite: bool,
    pdf: bool,
    register_as: str | None,
    registry: str | None,
    as_json: bool,
    *,
    remote: bool = False,
) -> None:
    """``civicml run`` on a spec with a ``bandit:`` section: run the job, print its outputs.

    ``remote``: register the bundle on the ``civicml server`` that ``registry`` names."""
    from civicml.cli._common import local_registry
    from civicml.workflow import run_bandit

    def on_event(kind: str, **kw: Any) -> None:
        if kind == "stage" and not as_json and err_console.is_terminal:
            err_console.print(f"[dim]· {kw['name']}[/]")

    outcome = run_bandit(
        spec,
        out,
        overwrite=overwrite,
        pdf=pdf,
        register_as=register_as,
        registry_uri=local_registry(spec if spec.is_dir() else spec.parent) if remote else registry,
        on_event=on_event,
    )
    if remote:
        from civicml.cli._registry_open import register_remote

        outcome.registered = register_remote(
            registry, outcome.bundle.path, outcome.project.bandit.name, "civicml run"
        )
    outputs = outcome.outputs()
    if as_json:
        emit_json({**outcome.summary(), "outputs": outputs, "run_id": outcome.run_id})
        return
    rep = outcome.report_data
    _print_arms(rep, f" ({outcome.imported} imported this run).")
    for o in rep["ope"]:
        console.print(
            f"Candidate {o['candidate']['policy'].get('policy')}: "
            + ("REPLACE: " if o["replace"] else "KEEP: ")
            + o["reason"],
            soft_wrap=True,
        )
    for o in rep["ope_skipped"]:
        console.print(f"Candidate {o['policy'].get('policy')} not evaluated: {o['reason']}")
    for c in outcome.checks:
        console.print(f"{'PASS' if c['passed'] else 'FAIL'} {c['name']}: {c['evidence']}")
    if outcome.report is not None and outcome.report.pdf is None and pdf:
        err_console.print(f"[yellow]note:[/] no PDF: {outcome.report.pdf_note}", soft_wrap=True)
    console.print("\nOutputs:")
    width = max(len(k) for k in outputs)
    for key, path in outputs.items():
        console.print(f"  {key.ljust(width)}  {path}", soft_wrap=True)
    console.print(f"\nVerify the bundle with: civicml verify {outputs['bundle']}")
    console.print(f"Run {outcome.run_id} recorded: civicml runs show {(outcome.run_id or '')[:8]}")


def _print_arms(rep: dict[str, Any], tail: str) -> None:
    """The bandit's one-line state and its arms table (pulls, rewards, intervals, propensities)."""
    from rich.table import Table

    pol = rep["policy"]
    console.print(
        f"Bandit {rep['name']!r}: policy {pol.get('policy')} v{rep['policy_version']}, "
        f"{rep['decisions']} decisions, {rep['rewarded']} rewarded{tail}"
    )
    table = Table("arm", "pulls", "rewarded", "mean reward", "95% interval", "min propensity")
    for a in rep["arms"]:
        ci = a["interval"]
        table.add_row(
            a["arm"],
            str(a["pulls"]),
            str(a["rewarded"]),
            _num(a["mean_reward"]),
            f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "–",
            _num(a["min_propensity"]),
        )
    console.print(table)
