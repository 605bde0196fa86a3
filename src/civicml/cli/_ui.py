"""``civicml ui``: the web dashboard (GOV.UK Design System) over the project's registry.

Mount with ``app.command("ui")(ui)`` in ``cli/_app.py``. Heavy imports happen inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicml._text import terminal_safe
from civicml.cli._common import RegistryOpt, console, handle_errors

__all__ = ["ui"]


@handle_errors
def ui(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    registry: RegistryOpt = None,
    project_dir: Annotated[Path, typer.Option("--project-dir", help="Project folder.")] = Path("."),
    decision_log: Annotated[
        Path | None,
        typer.Option(
            "--decision-log",
            help="Decision log folder(s) for monitoring (default .civicml/decisions).",
        ),
    ] = None,
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    install_assets: Annotated[
        bool,
        typer.Option(
            "--install-assets",
            help="Install the govuk-frontend npm assets into the cache, then start.",
        ),
    ] = False,
    assets: Annotated[
        Path | None,
        typer.Option(help="Where govuk-frontend is installed (default $CIVICML_UI_ASSETS)."),
    ] = None,
) -> None:
    """Start the web dashboard: runs, models, approvals, audit, monitoring and ATRS gaps.

    Sign in with an API token (``civicml tokens create --name NAME --scope approver``): viewer
    tokens read, approver and admin tokens approve. Set ``CIVICML_UI_SECRET`` to keep sessions
    across restarts.
    """
    import uvicorn

    from civicml.asgi import configure_logging
    from civicml.web import WebConfig, create_app, govuk_dist
    from civicml.web import install_assets as install

    if install_assets:
        dist = install(assets)
        console.print(f"GOV.UK Frontend assets installed in {terminal_safe(dist)}", markup=False)
    config = WebConfig(
        registry_uri=registry,
        project_dir=project_dir,
        decision_log=decision_log,
        assets=assets,
        secure_cookies=True if certfile else None,
    )
    app = create_app(config)
    if govuk_dist(assets) is None:
        console.print(
            "GOV.UK Frontend assets are not installed; using civicml's fallback stylesheet "
            "(run 'civicml ui --install-assets' to install them)."
        )
    scheme = "https" if certfile else "http"
    where = terminal_safe(f"{scheme}://{host}:{port}/")
    console.print(f"civicml dashboard on {where}  (Ctrl+C to stop)", markup=False)
    configure_logging("warning")  # the servers' one JSON log format (no tokens, no bodies)
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
