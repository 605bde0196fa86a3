"""``civicml server``'s one ASGI app: the JSON API at ``/api/v1`` and the dashboard at ``/``,
over one registry opened in server mode.

The server alone holds the database URL and the artifact-store credentials; clients hold only
an API token (or a dashboard session). In server mode the registry records only verified
actors, so every write goes through authentication.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from civicml._errors import RegistryError
from civicml.asgi import MetricsRegistry, RequestContext, run_lifespan
from civicml.server._api import ApiApp, route_label
from civicml.server._openapi import API_PREFIX
from civicml.server._options import ServerOptions

__all__ = ["ServerApp", "create_server_app", "web_config"]

_log = logging.getLogger("civicml.server")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def web_config(options: ServerOptions) -> Any:
    """The dashboard's :class:`~civicml.web.WebConfig` for these options (sign-in settings
    travel separately, as :meth:`ServerOptions.oidc_settings`)."""
    from civicml.web import WebConfig

    return WebConfig(
        registry_uri=options.registry,
        artifacts=options.artifacts,
        project_dir=options.project_dir,
        decision_log=options.decision_log,
        secret=options.session_secret,
    )


class ServerApp:
    """Paths under ``/api/v1`` go to the API, everything else to the dashboard; the lifespan
    runs the dashboard's and closes what the server opened."""

    def __init__(
        self,
        api: ApiApp,
        dashboard: Any,
        *,
        metrics: MetricsRegistry,
        close: Callable[[], None],
    ) -> None:
        self.api = api
        self.dashboard = dashboard
        self.metrics = metrics
        self._api = RequestContext(api, logger=_log, metrics=metrics, route=route_label)
        self._close = close
        self._stack: contextlib.AsyncExitStack | None = None

    @property
    def registry(self) -> Any:
        """The registry the server holds (server mode)."""
        return self.api.registry

    async def startup(self) -> None:
        """Verify the audit log (a broken one makes the registry refuse writes until an admin
        records a repair, and is logged), then run the dashboard's own startup."""
        found = await asyncio.to_thread(self.registry.verify_audit)
        if not found.ok:
            _log.error(
                "The audit log does not verify (%s): writes are refused until an admin records "
                "a repair (POST /api/v1/audit/repair)",
                found.reason,
            )
        self._stack = contextlib.AsyncExitStack()
        lifespan = getattr(getattr(self.dashboard, "router", None), "lifespan_context", None)
        if lifespan is not None:
            await self._stack.enter_async_context(lifespan(self.dashboard))

    async def shutdown(self) -> None:
        """Run the dashboard's shutdown, then close the registry and runs store."""
        try:
            if self._stack is not None:
                await self._stack.aclose()
        finally:
            self._close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await run_lifespan(receive, send, startup=self.startup, shutdown=self.shutdown)
            return
        path = scope.get("path", "")
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            await self._api(scope, receive, send)
            return
        await self.dashboard(scope, receive, send)


def create_server_app(
    options: ServerOptions | None = None,
    *,
    registry: Any = None,
    runs: Any = None,
) -> ServerApp:
    """Build ``civicml server``'s app: the API at ``/api/v1`` and the dashboard at ``/``.

    Parameters
    ----------
    options : ServerOptions, optional
        Where the registry and artifacts are, upload limit, sign-in settings.
    registry : Registry, optional
        An open registry in server mode (tests); by default opened from ``options`` with
        ``server=True``. The caller closes one it passes in.
    runs : RunStore, optional
        An open runs store; by default opened on the registry's database.

    Returns
    -------
    ServerApp
    """
    from civicml.registry import open_registry
    from civicml.tracking import open_runs
    from civicml.web import create_app

    options = options or ServerOptions()
    owned: list[Any] = []
    if registry is None:
        registry = open_registry(
            options.registry,
            artifacts=options.artifacts,
            project_dir=options.project_dir,
            server=True,
        )
        owned.append(registry)
    elif not getattr(registry, "server", False):
        raise RegistryError.build(
            "civicml server needs a registry opened in server mode",
            fix="Open it with open_registry(..., server=True)",
        )
    if runs is None:
        runs = open_runs(options.registry, project_dir=options.project_dir)
        owned.append(runs)
    dashboard = create_app(
        web_config(options), registry=registry, runs=runs, oidc=options.oidc_settings()
    )
    web = getattr(getattr(dashboard, "state", None), "web", None)
    api = ApiApp(registry, runs, options, web=web)

    def close() -> None:
        for item in reversed(owned):
            item.close()

    return ServerApp(api, dashboard, metrics=MetricsRegistry(), close=close)
