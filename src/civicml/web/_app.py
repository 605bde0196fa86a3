"""The dashboard's Starlette application: routes, templates, security headers, assembly.

It sits on the ASGI foundation (:mod:`civicml.asgi`): the one authenticator (registry tokens,
signed session cookies, scopes), the one request-id and logging middleware, and the one
lifespan helper. Every page goes through :func:`~civicml.web._context.endpoint`; the handlers
live in ``_pages.py`` (what people read), ``_forms.py`` (what they change) and ``_oidc.py``
(sign-in through the organisation's OpenID Provider, when one is configured).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml.asgi import OIDCClient, OIDCSettings, RequestContext, SessionCodec, lifespan_context
from civicml.web._assets import govuk_dist
from civicml.web._auth import registry_authenticator
from civicml.web._context import Ctx, Web, WebConfig, finish
from civicml.web._forms import routes as form_routes
from civicml.web._oidc import routes as oidc_routes
from civicml.web._pages import routes as page_routes
from civicml.web._reports import atrs_gaps
from civicml.web._reviews import routes as review_routes

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from civicml.registry import Registry
    from civicml.tracking import RunStore

__all__ = ["create_app"]

_log = logging.getLogger("civicml.web")
PUBLIC_PATHS = ("/sign-in", "/accessibility", "/auth/login", "/auth/callback")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class _SecurityHeaders:
    """Add the security headers to every response (pages, files and errors alike)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in (
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ):
                    if key not in names:
                        headers.append((key, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _seconds(value: float | None) -> str:
    """A duration for people: ``0.4 s``, ``12 s``, ``3 min 5 s``, ``2 h 4 min``."""
    if value is None:
        return "–"
    v = float(value)
    if v < 10:
        return f"{v:.1f} s"
    if v < 60:
        return f"{v:.0f} s"
    minutes, sec = divmod(round(v), 60)
    if minutes < 60:
        return f"{minutes} min {sec} s"
    return f"{minutes // 60} h {minutes % 60} min"


def _templates(oidc: OIDCSettings | None = None, token_sign_in: bool = True) -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("civicml.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["f3"] = lambda v: "–" if v is None else f"{v:.3f}"
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.0%}"
    env.filters["when"] = lambda v: str(v or "")[:16].replace("T", " ")
    env.filters["secs"] = _seconds
    env.filters["short"] = lambda v: "–" if v is None else str(v)[:12]
    env.globals["oidc_label"] = oidc.label if oidc is not None else None
    env.globals["token_sign_in"] = token_sign_in
    return env


def create_app(
    config: WebConfig | None = None,
    *,
    registry: Registry | None = None,
    runs: RunStore | None = None,
    oidc: OIDCSettings | None = None,
    token_sign_in: bool | None = None,
) -> Starlette:
    """Build the dashboard application.

    Parameters
    ----------
    config : WebConfig, optional
        Defaults to ``WebConfig()`` (the project registry in the current folder).
    registry : Registry, optional
        An open registry to use instead of opening ``config.registry_uri`` (tests).
    runs : RunStore, optional
        An open runs store to use instead of the one in ``config.registry_uri``'s database.
    oidc : OIDCSettings, optional
        Sign people in through this OpenID Provider (the sign-in page then offers "Sign in
        with ..."); each change is then made by the verified person with their mapped roles.
    token_sign_in : bool, optional
        Whether an API token may also sign in to the dashboard (service accounts). Default:
        yes without ``oidc``, no with it.

    Returns
    -------
    starlette.applications.Starlette
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from civicml.registry import open_registry
    from civicml.tracking import open_runs
    from civicml.web._reports import ReportCache

    config = config or WebConfig()
    if token_sign_in is None:
        token_sign_in = oidc is None
    if config.decision_log is None:  # where 'civicml serve' logs by default, one folder a model
        decisions = Path(config.project_dir).resolve() / ".civicml" / "decisions"
        config = dataclasses.replace(config, decision_log=decisions)
    reg = registry or open_registry(
        config.registry_uri, artifacts=config.artifacts, project_dir=config.project_dir
    )
    if reg.atrs_check is None:  # a serving alias needs a complete ATRS record (or exemption)
        reg.atrs_check = atrs_gaps
    run_store = runs or open_runs(config.registry_uri, project_dir=config.project_dir)
    cache = Path(config.cache_dir or Path(config.project_dir).resolve() / ".civicml" / "ui-cache")
    web = Web(
        config=config,
        registry=reg,
        runs=run_store,
        reports=ReportCache(cache / "reports"),
        codec=SessionCodec(config.secret or None),
        auth=registry_authenticator(reg),
        templates=_templates(oidc, token_sign_in),
        govuk=govuk_dist(config.assets),
    )
    static = Path(__file__).parent / "static"
    routes: list[Any] = [*page_routes(), *form_routes(), *oidc_routes(), *review_routes()]
    routes.append(Mount("/static", app=StaticFiles(directory=static), name="static"))
    if web.govuk is not None:
        css = web.govuk / "govuk-frontend.min.css"

        async def govuk_css(request: Request) -> Response:
            return FileResponse(css, media_type="text/css")

        routes.append(Route("/vendor/govuk-frontend.min.css", govuk_css))
        routes.append(Mount("/assets", app=StaticFiles(directory=web.govuk / "assets")))

    async def not_found(request: Request, exc: Exception) -> Response:
        ctx = Ctx(request, web, web.codec.load(request), None)
        response = ctx.error(404, "Page not found", "If you typed the web address, check it.")
        return finish(web, request, ctx.session, response)

    def close() -> None:
        if registry is None:  # we opened it, so we close it
            reg.close()
        if runs is None:
            run_store.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestContext, logger=_log), Middleware(_SecurityHeaders)],
        exception_handlers={404: not_found},
        lifespan=lifespan_context(shutdown=close),
    )
    app.state.web = web
    app.state.oidc = OIDCClient(oidc) if oidc is not None else None
    app.state.token_sign_in = token_sign_in
    app.state.instance = secrets.token_hex(4)
    return app
