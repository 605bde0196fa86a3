"""``civicml models …``: list, show, register, approve, promote, roll back and audit models.

Every command opens the registry named by ``--registry`` (or ``$CIVICML_REGISTRY``; default
``sqlite:///.civicml/registry.db`` under ``--project-dir``). The registry itself is imported
inside each command so ``civicml --help`` stays fast.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from civicml.cli._common import (
    ArtifactsOpt,
    ByOpt,
    JsonOpt,
    ProjectOpt,
    RegistryOpt,
    console,
    emit_json,
    fail,
    handle_errors,
)

if TYPE_CHECKING:
    from civicml.registry import ModelVersion, Registry

__all__ = ["app", "default_actor", "open_from_cli"]

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


def default_actor(by: str | None = None) -> str:
    """``by``, else ``$CIVICML_ACTOR``, else the login name."""
    if by:
        return by
    env = os.environ.get("CIVICML_ACTOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # no login name (e.g. some containers)
        return "unknown"


def open_from_cli(registry: str | None, artifacts: str | None, project_dir: Path) -> Registry:
    """Open the registry the CLI options name."""
    from civicml.registry import open_registry

    return open_registry(registry, artifacts=artifacts, project_dir=project_dir)


def _version_row(v: ModelVersion) -> list[str]:
    return [
        str(v.version),
        v.status,
        ", ".join(v.aliases),
        f"{v.created_by} {v.created_at[:10]}",
        v.approved_by or "",
        {True: "pass", False: "FAIL", None: "none"}[v.checks_passed]
        + (" (override)" if v.override_reason else ""),
    ]


def _print_version(reg: Registry, v: ModelVersion) -> None:
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
    for d in reg.decisions(v.name, v.version):
        rows.append((d.kind, f"{d.at[:19]} {d.actor}: {d.reason}"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    from civicml.registry import promotion_problems

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
        title=f"{name}: {model.version_count} versions",
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
    """Register a bundle as the model's next version (it is not promoted)."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.register(
            bundle,
            name,
            actor=default_actor(by),
            reason=reason,
            oversight=oversight,
            lawful_basis=lawful_basis,
        )
    if as_json:
        emit_json(v.to_dict())
        return
    console.print(f"Registered {v.name} v{v.version} (sha256 {v.digest[:12]}…).")
    console.print(f"Next: civicml models request-approval {v.name} {v.version} --reason TEXT")


@app.command("request-approval")
@handle_errors
def request_approval(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    reason: ReasonOpt,
    by: ByOpt = None,
    oversight: OversightOpt = None,
    lawful_basis: LawfulOpt = None,
    team: Annotated[str | None, typer.Option("--team", help="Owning team.")] = None,
    sro: Annotated[
        str | None, typer.Option("--senior-responsible-owner", help="Senior responsible owner.")
    ] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Contact email.")] = None,
    organisation: Annotated[str | None, typer.Option("--organisation")] = None,
    intended_use: Annotated[str | None, typer.Option("--intended-use")] = None,
    out_of_scope: Annotated[
        list[str] | None, typer.Option("--out-of-scope", help="An out-of-scope use (repeat).")
    ] = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Ask for approval, recording any governance details given here."""
    owner = {
        k: v
        for k, v in {
            "team": team,
            "senior_responsible_owner": sro,
            "contact": contact,
            "organisation": organisation,
        }.items()
        if v
    }
    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.request_approval(
            name,
            version,
            actor=default_actor(by),
            reason=reason,
            oversight=oversight,
            lawful_basis=lawful_basis,
            owner=owner or None,
            intended_use=intended_use,
            out_of_scope_uses=out_of_scope or None,
        )
    _done(
        v,
        as_json,
        f"{v.name} v{v.version} is waiting for approval by someone other than {v.created_by}.",
    )


def _decide(
    kind: str,
    name: str,
    version: int,
    by: str,
    reason: str,
    reg_args: tuple[Any, ...],
    as_json: bool,
) -> None:
    with open_from_cli(*reg_args) as reg:
        fn = {"approve": reg.approve, "reject": reg.reject, "override": reg.override_checks}[kind]
        v = fn(name, version, by=by, reason=reason)
    words = {"approve": "approved", "reject": "rejected", "override": "checks overridden"}
    _done(v, as_json, f"{v.name} v{v.version} {words[kind]} by {by}.")


def _done(v: ModelVersion, as_json: bool, message: str) -> None:
    if as_json:
        emit_json(v.to_dict())
    else:
        console.print(message)


WhoOpt = Annotated[str, typer.Option("--by", help="The named person deciding.")]


@app.command()
@handle_errors
def approve(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    by: WhoOpt,
    reason: ReasonOpt,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Approve a version (two-person rule: not by the person who registered it)."""
    _decide("approve", name, version, by, reason, (registry, artifacts, project_dir), as_json)


@app.command()
@handle_errors
def reject(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    by: WhoOpt,
    reason: ReasonOpt,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Reject a version, with the reason."""
    _decide("reject", name, version, by, reason, (registry, artifacts, project_dir), as_json)


@app.command()
@handle_errors
def override(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    by: WhoOpt,
    reason: ReasonOpt,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Record an explicit override of failing or missing assessment checks."""
    _decide("override", name, version, by, reason, (registry, artifacts, project_dir), as_json)


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
    """
    from civicml.registry import check_alias

    with open_from_cli(registry, artifacts, project_dir) as reg:
        v = reg.promote(name, version, alias, actor=default_actor(by), reason=reason)
    _done(v, as_json, f"{name}@{check_alias(alias)} now points at v{v.version}.")


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
        v = reg.rollback(name, actor=default_actor(by), reason=reason, alias=alias)
    _done(v, as_json, f"{name}@{alias} rolled back to v{v.version}.")


@app.command()
@handle_errors
def audit(
    verify: Annotated[
        bool, typer.Option("--verify", help="Check the hash chain; exit 1 if it is broken.")
    ] = False,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only events about e.g. 'benefits/3'.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest events to show.")] = 50,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log, or verify its hash chain with --verify."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        if verify:
            result = reg.verify_audit()
            if as_json:
                emit_json(result.to_dict())
            elif result.ok:
                console.print(f"Audit chain verified: {result.events} events, none altered.")
            if not result.ok:
                if as_json:
                    raise typer.Exit(1)
                raise fail(
                    f"The audit chain is broken at event {result.first_bad_event_id}: "
                    f"{result.reason}. Restore the registry database from backup and investigate.",
                    1,
                )
            return
        head = reg.store.audit_head()
        last = head[0] if head else 0
        after = 0 if subject else max(0, last - limit)
        events = reg.audit_events(after=after, subject=subject)[-limit:]
    if as_json:
        emit_json({"events": [e.to_dict() for e in events]})
        return
    from rich.table import Table

    table = Table("#", "time", "actor", "action", "subject", "reason")
    for e in events:
        table.add_row(
            str(e.seq), e.time[:19].replace("T", " "), e.actor, e.action, e.subject, e.reason or ""
        )
    console.print(table)
