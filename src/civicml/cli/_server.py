"""``civicml server``: the team server (JSON API at ``/api/v1`` and the dashboard at ``/``), and
``civicml server admin-token``, the break-glass first admin token.

Mount with ``app.add_typer(server_app, name="server")`` in ``cli/_app.py``. Heavy imports
happen inside.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from civicml.cli._common import (
    ArtifactsOpt,
    JsonOpt,
    ProjectOpt,
    RegistryOpt,
    console,
    emit_json,
    fail,
    handle_errors,
)

__all__ = ["server_app"]

server_app = typer.Typer(
    help="The team server: the JSON API (/api/v1) and the dashboard over one registry.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _database(registry: str | None) -> str | None:
    if registry and registry.lower().startswith(("http://", "https://")):
        raise fail(
            "civicml server needs the registry's database URL (sqlite:///... or "
            "postgresql://...), not a server's http(s) address: it is the server"
        )
    return registry


@server_app.callback()
@handle_errors
def server(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", help="Largest bundle upload, in MiB.")
    ] = 2048,
    oidc_issuer: Annotated[
        str | None,
        typer.Option("--oidc-issuer", envvar="CIVICML_OIDC_ISSUER", help="OpenID Provider URL."),
    ] = None,
    oidc_client_id: Annotated[
        str | None,
        typer.Option("--oidc-client-id", envvar="CIVICML_OIDC_CLIENT_ID", help="OIDC client id."),
    ] = None,
    role_claim: Annotated[
        str, typer.Option("--role-claim", help="ID-token claim holding groups or roles.")
    ] = "groups",
    role_map: Annotated[
        list[str] | None,
        typer.Option(
            "--role-map",
            help="GROUP=ROLE (viewer, trainer, approver, admin), or GROUP=ROLE@benefits-* to "
            "limit the role to some models; repeat.",
        ),
    ] = None,
    decision_log: Annotated[
        Path | None,
        typer.Option("--decision-log", help="Decision log folder(s) the dashboard monitors."),
    ] = None,
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
) -> None:
    """Start the team server: one process, the JSON API at /api/v1 and the dashboard at /.

    The server alone holds the database URL and artifact-store credentials ($CIVICML_REGISTRY,
    $CIVICML_ARTIFACTS); people sign in, machines use API tokens an admin issued. The OIDC
    client secret is read from $CIVICML_OIDC_CLIENT_SECRET only. Issue the very first admin
    token with 'civicml server admin-token'.
    """
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from civicml.asgi import configure_logging
    from civicml.server import ServerOptions, create_server_app

    options = ServerOptions(
        registry=_database(registry),
        artifacts=artifacts,
        project_dir=project_dir,
        host=host,
        port=port,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        oidc_issuer=oidc_issuer,
        oidc_client_id=oidc_client_id,
        oidc_client_secret=os.environ.get("CIVICML_OIDC_CLIENT_SECRET") or None,
        role_claim=role_claim,
        role_map=tuple(role_map or ()),
        decision_log=decision_log,
    )
    app = create_server_app(options)
    shown = options.describe()
    scheme = "https" if certfile else "http"
    console.print(f"civicml server on {scheme}://{host}:{port}/  (API at /api/v1; Ctrl+C to stop)")
    console.print(f"registry {shown['registry']}; artifacts {shown['artifacts']}", markup=False)
    configure_logging("warning")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        proxy_headers=False,
    )


@server_app.command("admin-token")
@handle_errors
def admin_token(
    name: Annotated[str, typer.Option("--name", help="A name for the token.")],
    owner: Annotated[
        str, typer.Option("--owner", help="The person the token acts as (e.g. an e-mail).")
    ],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the audit log.")] = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Break glass: issue an admin token straight into the database, on the server's host.

    For the very first admin (or to recover when every admin token is lost). It needs direct
    access to the database; the audit event records the host's OS login as the actor, not
    verified by a server. Every other token is issued by a signed-in admin through the server.
    """
    from civicml.server import ServerOptions, issue_admin_token

    options = ServerOptions(
        registry=_database(registry), artifacts=artifacts, project_dir=project_dir
    )
    token, info = issue_admin_token(options, name, owner, reason=reason)
    if as_json:
        emit_json({**info.to_dict(), "token": token})
        return
    console.print(
        f"Admin token {info.name!r} acting as {info.acts_as!r}, issued on this host by "
        f"{info.created_by} (OS login, not verified). It is shown this once only:",
        markup=False,
    )
    console.print(token, soft_wrap=True, markup=False)
