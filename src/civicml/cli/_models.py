"""``civicml models …``: list, show, register, approve, promote, roll back and audit models.

Every command opens the registry named by ``--registry`` (or ``$CIVICML_REGISTRY``; default
``sqlite:///.civicml/registry.db`` under ``--project-dir``). The registry itself is imported
inside each command so ``civicml --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from civicml.cli._audit import audit
from civicml.cli._common import (
    ArtifactsOpt,
    ByOpt,
    JsonOpt,
    ProjectOpt,
    RegistryOpt,
    console,
    current_actor,
    emit_json,
    handle_errors,
)
from civicml.cli._registry_open import acted, default_actor, open_from_cli

if TYPE_CHECKING:
    from civicml.registry import ModelVersion, Registry, RemoteRegistry

__all__ = ["app"]

app = typer.Typer(
    help="The model registry: versions, aliases, two-person approval, rollback and audit.",
    no_args_is_help=True,
)

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")]
OptReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why (recorded in the audit log).")
]
OversightOpt = Annotated[
    str | None,
    typer.Option(
        "--oversight", help="Human oversight: advisory, human-in-the-loop or solely-automated."
    ),
]
LawfulOpt = Annotated[
    str | None,
    typer.Option(
        "--lawful-basis",
        help=(
            "UK GDPR Art. 6(1) lawful basis (required for solely-automated): consent, contract, "
            "legal-obligation, vital-interests, public-task or legitimate-interests (or "
            "6(1)(a)...6(1)(f)). Public authorities generally cannot use legitimate-interests "
            "for their public tasks."
        ),
    ),
]


def _version_row(v: ModelVersion) -> list[str]:
    """One row under the version table's eight headers, a value under each."""
    return [
        str(v.version),
        v.status,
        ", ".join(v.aliases),
        v.created_by,
        v.created_at[:10],
        v.approved_by or "",
        {True: "pass", False: "FAIL", None: "none"}[v.checks_passed]
        + (" (override)" if v.override_reason else ""),
        v.digest[:12],
    ]


def _print_version(reg: Registry | RemoteRegistry, v: ModelVersion) -> None:
    from rich.table import Table

    owner = v.owner or {}
    table = Table(title=f"{v.name} v{v.version}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("status", v.status),
        ("aliases", ", ".join(v.aliases) or "-"),
        ("registered", f"{v.created_at} by {v.created_by}"),
        ("approved", f"{v.approved_at} by {v.approved_by}" if v.approved_by else "-"),
        ("bundle sha256", v.digest),
        ("task", v.task or "-"),
        ("team", owner.get("team") or "-"),
        ("senior responsible owner", owner.get("senior_responsible_owner") or "-"),
        ("contact", owner.get("contact") or "-"),
        ("intended use", v.intended_use or "-"),
        ("out of scope", "; ".join(v.out_of_scope_uses) or "-"),
        ("human oversight", v.oversight or "-"),
        ("lawful basis", v.lawful_basis or "-"),
    ]
    for c in v.checks:
        rows.append(
            (f"check {c['name']}", ("pass" if c["passed"] else "FAIL") + f" {c['evidence']}")
        )
    if v.override_reason:
        rows.append(("checks override", f"{v.override_by}: {v.override_reason}"))
    decisions = reg.decisions(v.name, v.version)
    if isinstance(reg, _registry_type()) and v.status == "approved":
        from civicml.registry import review_state

        state = review_state(v, decisions)
        due = state["due"] + (" (OVERDUE)" if state["overdue"] else "")
        rows.append(("review due", due))
    for d in decisions:
        rows.append((d.kind, f"{d.at[:19]} {d.actor}: {d.reason}"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    from civicml.registry import Registry, promotion_problems

    if isinstance(reg, Registry):
        problems = reg.serving_problems(v.name, v.version)
    else:  # a server checks the ATRS record itself when asked to promote
        problems = promotion_problems(v)
    if problems and not any(reg.is_serving(a) for a in v.aliases):
        console.print("Not yet ready for production: " + "; ".join(problems) + ".")


@app.command("list")
@handle_errors
def list_(
    search: Annotated[
        str | None, typer.Option("--search", help="Keep names containing this.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """List registered models with their newest version and aliases."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        models = reg.list_models(search=search, limit=limit, offset=offset)
    if as_json:
        emit_json({"models": [m.to_dict() for m in models]})
        return
    if not models:
        console.print(
            "No models yet. Register one with 'civicml models register BUNDLE --name NAME'."
        )
        return
    from rich.table import Table

    table = Table("model", "versions", "aliases", "created", "by")
    for m in models:
        aliases = ", ".join(f"{a}→v{v}" for a, v in m.aliases.items())
        table.add_row(m.name, str(m.version_count), aliases, m.created_at[:10], m.created_by)
    console.print(table)


@app.command()
@handle_errors
def show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME/VERSION or NAME@ALIAS.")],
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="Versions per page.")
    ] = 20,
    before: Annotated[
        int | None, typer.Option("--before", help="Show versions below this one (next page).")
    ] = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Show a model's versions, or one version's governance record."""
    from civicml.registry import parse_ref

    name, version, alias = parse_ref(ref)
    with open_from_cli(registry, artifacts, project_dir) as reg:
        if version is not None or alias is not None:
            v = reg.resolve(ref)
            if as_json:
                emit_json(
                    {
                        **v.to_dict(),
                        "decisions": [d.to_dict() for d in reg.decisions(v.name, v.version)],
                    }
                )
            else:
                _print_version(reg, v)
            return
        model = reg.get_model(name)
        versions = reg.list_versions(name, limit=limit, before=before)
        if as_json:
            emit_json({**model.to_dict(), "versions": [v.to_dict() for v in versions]})
            return
    from rich.table import Table

    table = Table(
        "version",
        "status",
        "aliases",
        "registered by",
        "at",
        "approved by",
        "checks",
        "sha256",
        title=f"{name}: {model.version_count} version{'s' if model.version_count != 1 else ''}",
        title_justify="left",
    )
    for v in versions:
        table.add_row(*_version_row(v))
    console.print(table)
    if versions and versions[-1].version > 1:
        console.print(f"Older versions: civicml models show {name} --before {versions[-1].version}")


@app.command()
@handle_errors
def register(
    bundle: Annotated[Path, typer.Argument(help="The bundle folder to register.")],
    name: Annotated[str, typer.Option("--name", help="Model name.")],
    by: ByOpt = None,
    reason: OptReasonOpt = None,
    oversight: OversightOpt = None,
    lawful_basis: LawfulOpt = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Register a bundle as the model's next version (it is not promoted).

    The registrant is your OS login (embedded mode, not verified) or whoever ``$CIVICML_TOKEN``
    belongs to (server mode)."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.register(
            bundle,
            name,
            actor=current_actor(),
            reason=reason,
            oversight=oversight,
            lawful_basis=lawful_basis,
        )
        who = acted(reg)
    if as_json:
        emit_json(v.to_dict())
        return
    console.print(
        f"Registered {v.name} v{v.version} (sha256 {v.digest[:12]}…) as {who}.", markup=False
    )
    console.print(f"Next: civicml models request-approval {v.name} {v.version} --reason TEXT")


SafeguardInfoOpt = Annotated[
    str | None,
    typer.Option(
        "--safeguard-information",
        help="Art. 22C safeguard (needed for solely-automated): how the person is told about "
        "the decision, e.g. 'Decision letter giving the main reasons'.",
    ),
]
SafeguardContestOpt = Annotated[
    str | None,
    typer.Option(
        "--safeguard-contest",
        help="Art. 22C safeguard: how the person makes representations about and contests "
        "the decision, e.g. 'Mandatory reconsideration form, 30 days'.",
    ),
]
SafeguardHumanOpt = Annotated[
    str | None,
    typer.Option(
        "--safeguard-human",
        help="Art. 22C safeguard: how the person gets a human to reconsider the decision on "
        "request, e.g. 'A caseworker reviews it within 10 working days'.",
    ),
]
Art9Opt = Annotated[
    str | None,
    typer.Option(
        "--art9-condition",
        help="UK GDPR Art. 9(2) condition for special-category inputs in a solely-automated "
        "decision: explicit-consent (9(2)(a)) or substantial-public-interest (9(2)(g), with "
        "--schedule1).",
    ),
]
Schedule1Opt = Annotated[
    str | None,
    typer.Option(
        "--schedule1",
        metavar="PARA",
        help="Data Protection Act 2018 Schedule 1 Part 2 condition for "
        "substantial-public-interest: the paragraph, 6 to 28 (e.g. 6: statutory and government "
        "purposes; 8: equality of opportunity or treatment; 10: preventing or detecting "
        "unlawful acts).",
    ),
]


def _governance_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The registry's governance keywords from ``request-approval``'s or ``governance``'s
    options (their ``locals()``): owner, uses, oversight, lawful basis and the legal record."""
    from civicml.registry import legal_from_fields

    o = options
    return {
        "oversight": o["oversight"],
        "lawful_basis": o["lawful_basis"],
        "owner": _owner(o["team"], o["sro"], o["contact"], o["organisation"]),
        "intended_use": o["intended_use"],
        "out_of_scope_uses": o["out_of_scope"] or None,
        "legal": legal_from_fields(
            o["safeguard_information"],
            o["safeguard_contest"],
            o["safeguard_human"],
            o["art9_condition"],
            o["schedule1"],
            o["dpia_ref"],
            o["dpia_date"],
        ),
    }


def _owner(team: str | None, sro: str | None, contact: str | None, org: str | None) -> Any:
    given = {"team": team, "senior_responsible_owner": sro, "contact": contact}
    return {k: v for k, v in {**given, "organisation": org}.items() if v} or None


DpiaRefOpt = Annotated[
    str | None,
    typer.Option(
        "--dpia-ref",
        help="The Data Protection Impact Assessment's reference (document id or web address); "
        "needed to serve when the DPIA screening says one is required. May be recorded after "
        "approval.",
    ),
]
DpiaDateOpt = Annotated[
    str | None, typer.Option("--dpia-date", help="The date the DPIA was signed off (YYYY-MM-DD).")
]
TeamOpt = Annotated[str | None, typer.Option("--team", help="Owning team.")]
SroOpt = Annotated[
    str | None, typer.Option("--senior-responsible-owner", help="Senior responsible owner.")
]
ContactOpt = Annotated[str | None, typer.Option("--contact", help="Contact email.")]
OrganisationOpt = Annotated[str | None, typer.Option("--organisation")]
IntendedUseOpt = Annotated[str | None, typer.Option("--intended-use")]
OutOfScopeOpt = Annotated[
    list[str] | None, typer.Option("--out-of-scope", help="An out-of-scope use (repeat).")
]


@app.command("request-approval")
@handle_errors
def request_approval(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    reason: ReasonOpt,
    by: ByOpt = None,
    oversight: OversightOpt = None,
    lawful_basis: LawfulOpt = None,
    team: TeamOpt = None,
    sro: SroOpt = None,
    contact: ContactOpt = None,
    organisation: OrganisationOpt = None,
    intended_use: IntendedUseOpt = None,
    out_of_scope: OutOfScopeOpt = None,
    safeguard_information: SafeguardInfoOpt = None,
    safeguard_contest: SafeguardContestOpt = None,
    safeguard_human: SafeguardHumanOpt = None,
    art9_condition: Art9Opt = None,
    schedule1: Schedule1Opt = None,
    dpia_ref: DpiaRefOpt = None,
    dpia_date: DpiaDateOpt = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Ask for approval, recording any governance details given here.

    A solely-automated version needs the three Art. 22C safeguards (--safeguard-information,
    --safeguard-contest, --safeguard-human) and, when its model uses special-category inputs,
    --art9-condition (with --schedule1 for substantial-public-interest).
    """
    fields = _governance_fields(locals())
    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.request_approval(name, version, actor=default_actor(by), reason=reason, **fields)
    _done(
        v,
        as_json,
        f"{v.name} v{v.version} is waiting for approval by someone other than {v.created_by}.",
    )


@app.command()
@handle_errors
def governance(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    reason: OptReasonOpt = None,
    by: ByOpt = None,
    oversight: OversightOpt = None,
    lawful_basis: LawfulOpt = None,
    team: TeamOpt = None,
    sro: SroOpt = None,
    contact: ContactOpt = None,
    organisation: OrganisationOpt = None,
    intended_use: IntendedUseOpt = None,
    out_of_scope: OutOfScopeOpt = None,
    safeguard_information: SafeguardInfoOpt = None,
    safeguard_contest: SafeguardContestOpt = None,
    safeguard_human: SafeguardHumanOpt = None,
    art9_condition: Art9Opt = None,
    schedule1: Schedule1Opt = None,
    dpia_ref: DpiaRefOpt = None,
    dpia_date: DpiaDateOpt = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Record governance details (owner, uses, oversight, lawful basis, Art. 22C safeguards,
    Art. 9 condition) on a version not yet approved; what is recorded is merged."""
    fields = _governance_fields(locals())
    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.set_governance(name, version, actor=default_actor(by), reason=reason, **fields)
    _done(v, as_json, f"Recorded the governance details of {v.name} v{v.version}.")


def _decide(
    kind: str,
    name: str,
    version: int,
    reason: str,
    reg_args: tuple[Any, ...],
    as_json: bool,
) -> None:
    with open_from_cli(*reg_args) as reg:
        fn = {"approve": reg.approve, "reject": reg.reject, "override": reg.override_checks}[kind]
        v = fn(name, version, by=current_actor(), reason=reason)
        who = acted(reg)
    words = {"approve": "approved", "reject": "rejected", "override": "checks overridden"}
    _done(v, as_json, f"{v.name} v{v.version} {words[kind]} by {who}.")


def _done(v: ModelVersion, as_json: bool, message: str) -> None:
    if as_json:
        emit_json(v.to_dict())
    else:
        console.print(message, markup=False)


@app.command()
@handle_errors
def approve(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    reason: ReasonOpt,
    by: ByOpt = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Approve a version as yourself: not its registrant nor whoever asked for the approval.

    You are your OS login (embedded mode, not verified) or whoever ``$CIVICML_TOKEN`` belongs to
    (server mode, where you also need the approver role)."""
    _decide("approve", name, version, reason, (registry, artifacts, project_dir), as_json)


@app.command()
@handle_errors
def reject(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    reason: ReasonOpt,
    by: ByOpt = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Reject a version, with the reason."""
    _decide("reject", name, version, reason, (registry, artifacts, project_dir), as_json)


@app.command()
@handle_errors
def override(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    reason: ReasonOpt,
    by: ByOpt = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Record an explicit override of failing or missing assessment checks."""
    _decide("override", name, version, reason, (registry, artifacts, project_dir), as_json)


@app.command()
@handle_errors
def review(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    notes: Annotated[
        str,
        typer.Option("--notes", help="What the review found (recorded in the audit log)."),
    ],
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Record a scheduled review of an approved version; the next one falls due
    review_every months later (civicml.yaml, 12 by default)."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.review(name, version, actor=current_actor(), notes=notes)
        state = reg.review_state(name, version) if isinstance(reg, _registry_type()) else {}
        who = acted(reg)
    due = f" Next review due {state['due']}." if state.get("due") else ""
    _done(v, as_json, f"{v.name} v{v.version} reviewed by {who}.{due}")


@app.command()
@handle_errors
def retire(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    reason: ReasonOpt,
    force: Annotated[
        bool,
        typer.Option("--force", help="Retire it even while it serves, leaving that alias empty."),
    ] = False,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Decision log folder (default .civicml/decisions/NAME)."),
    ] = None,
    retention_days: Annotated[
        float | None,
        typer.Option(
            "--retention-days",
            min=0.01,
            help="Decision-log retention when the bundle's civicml.yaml sets no retention_days "
            "(default $CIVICML_LOG_RETENTION_DAYS, else the log is kept and the record says so).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Take a version out of use for good: its aliases are removed, its status becomes
    retired, and it can never be approved, promoted or served again. The decision log's
    retention period is then applied (each deletion audited with its rows and sha256) and a
    disposal record is written to .civicml/disposals/NAME-vVERSION.json."""
    from civicml.serve import dispose_retired

    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.retire(name, version, actor=current_actor(), reason=reason, force=force)
        who = acted(reg)
        path, record = dispose_retired(
            reg,
            v.name,
            v.version,
            project_dir=project_dir,
            log_dir=log_dir,
            retention_days=retention_days,
        )
    log = record["decision_log"]
    kept = log.get("note") or (
        f"{len(log['deleted'])} decision-log part(s) ({log['deleted_rows']:,} rows) deleted "
        f"under the {log['retention_days']:g}-day retention period; "
        f"{log['remaining']['parts']} remain"
    )
    if as_json:
        emit_json({**v.to_dict(), "disposal": {"path": str(path), **record}})
        return
    _done(
        v,
        False,
        f"{v.name} v{v.version} retired by {who}; it can never serve again. {kept}. "
        f"Disposal record: {path}",
    )


def _registry_type() -> type:
    from civicml.registry import Registry

    return Registry


@app.command()
@handle_errors
def promote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    alias: Annotated[
        str,
        typer.Option(
            "--alias",
            help="Alias to move; case-folded, and one that looks like an existing alias of the "
            "model (0/o, 1/l/i, '_'/'.'/'-', non-Latin letters) is refused.",
        ),
    ] = "production",
    expect: Annotated[
        str | None,
        typer.Option(
            "--expect",
            help="The version the alias points at now ('none': it is empty). The move then "
            "happens only if nobody moved the alias meanwhile (else exit 2, nothing changed).",
        ),
    ] = None,
    by: ByOpt = None,
    reason: OptReasonOpt = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Point an alias at a version.

    Every alias is a serving alias (production, prod, live, ...) and needs an approved version
    with the full governance record, except the non-serving aliases: staging and challenger,
    or the comma-separated list in CIVICML_NON_SERVING_ALIASES (production always serves).
    With --expect the move is a compare-and-set; without it, it replaces whatever the alias
    holds (the audit log records which version that was).
    """
    from civicml.registry import check_alias, expect_of

    expect_of(expect)  # a bad --expect is refused before anything is opened
    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.promote(name, version, alias, actor=current_actor(), reason=reason, expect=expect)
        who = acted(reg)
    _done(v, as_json, f"{name}@{check_alias(alias)} now points at v{v.version} (by {who}).")


@app.command()
@handle_errors
def rollback(
    name: Annotated[str, typer.Argument(help="Model name.")],
    reason: ReasonOpt,
    alias: Annotated[str, typer.Option("--alias", help="Alias to roll back.")] = "production",
    by: ByOpt = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Move production back to the approved version that held it before."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.rollback(name, actor=current_actor(), reason=reason, alias=alias)
        who = acted(reg)
    _done(v, as_json, f"{name}@{alias} rolled back to v{v.version} (by {who}).")


app.command("audit")(audit)
