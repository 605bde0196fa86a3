"""``civicml tokens …``: issue, list and revoke API tokens for the serving process.

A token's plaintext is printed once, at creation; the registry stores only a salted hash.
Against a ``civicml server`` (``--registry https://...``) these go over HTTP and only an
authenticated admin (``$CIVICML_TOKEN``) may use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
from civicml.cli._registry_open import acted, open_from_cli

__all__ = ["app"]

app = typer.Typer(help="API tokens for the prediction service.", no_args_is_help=True)


@app.command()
@handle_errors
def create(
    name: Annotated[str, typer.Option("--name", help="A name for the token's holder.")],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="predict, review (human review of served decisions), viewer, trainer, approver or "
            "admin (repeat for several).",
        ),
    ],
    rate_limit: Annotated[
        str | None, typer.Option("--rate-limit", help="Requests allowed, e.g. 50/s.")
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="The person or service the token acts as (default: you)."),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            help="Limit the token to these models: names, or a team prefix ending in '*' such "
            "as 'benefits-*' (repeat or comma-separate). Default: every model.",
        ),
    ] = None,
    team: Annotated[
        list[str] | None,
        typer.Option(
            "--team",
            help="Limit the token to a team's models: --team benefits is --models 'benefits-*'.",
        ),
    ] = None,
    by: ByOpt = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Issue a token and print it once; store it in your secrets manager now.

    A token limited with --models or --team reaches only those models through the server's API:
    it lists only them, another team's model answers 404, and registry-wide routes (audit,
    tokens, keys, runs) answer 403.
    """
    from civicml.registry import check_model_scope, team_pattern

    limited = check_model_scope(
        [p for item in models or () for p in check_model_scope(item)]
        + [team_pattern(t) for t in team or ()]
    )
    with open_from_cli(registry, artifacts, project_dir) as reg:
        token = reg.create_token(
            name,
            scope,
            current_actor(),
            rate_limit=rate_limit,
            reason=reason,
            owner=owner,
            models=limited or None,
        )
        who = acted(reg)
    if as_json:
        emit_json(
            {
                "name": name,
                "scopes": scope,
                "rate_limit": rate_limit,
                "models": list(limited),
                "token": token,
            }
        )
        return
    reach = f", models {', '.join(limited)}" if limited else ""
    console.print(
        f"Token {name!r} ({', '.join(scope)}{reach}) issued by {who}. It is shown this once only:",
        markup=False,
    )
    console.print(token, soft_wrap=True, markup=False)


@app.command("list")
@handle_errors
def list_(
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """List tokens (never their secrets)."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        tokens = reg.list_tokens()
    if as_json:
        emit_json({"tokens": [t.to_dict() for t in tokens]})
        return
    from rich.table import Table

    table = Table(
        "name", "id", "scopes", "models", "acts as", "rate limit", "created", "by", "revoked"
    )
    for t in tokens:
        table.add_row(
            t.name,
            t.id,
            ", ".join(t.scopes),
            ", ".join(t.models) or "all",
            t.acts_as,
            t.rate_limit or "-",
            t.created_at[:19],
            t.created_by,
            (t.revoked_at or "")[:19],
        )
    console.print(table)


@app.command()
@handle_errors
def revoke(
    name: Annotated[str, typer.Argument(help="Token name or id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")],
    by: ByOpt = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Revoke a token; services stop accepting it within their cache time (30 s)."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        info = reg.revoke_token(name, current_actor(), reason)
        who = acted(reg)
    if as_json:
        emit_json(info.to_dict())
        return
    console.print(f"Revoked token {info.name!r} ({info.id}) as {who}.", markup=False)
