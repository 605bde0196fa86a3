"""The dashboard's Starlette application: configuration, routes, request context, rendering.

Every page goes through :func:`endpoint`, which loads the signed session, checks the CSRF token
of every POST, turns signed-out visitors away from everything but the sign-in page and the
accessibility statement, and sets the security headers. The handlers themselves live in
``_pages.py`` (what people read) and ``_forms.py`` (what they change); they only call the
library and render.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import secrets
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml.web._assets import govuk_dist
from civicml.web._auth import SessionCodec, User, WebSession, user_for_session

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from civicml.registry import Registry
    from civicml.tracking import RunStore
    from civicml.web._reports import ReportCache

__all__ = ["Ctx", "Web", "WebConfig", "create_app", "endpoint"]

MAX_FORM_BYTES = 64 * 1024
PUBLIC_PATHS = ("/sign-in", "/accessibility")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@dataclass(frozen=True)
class WebConfig:
    """How the dashboard is set up.

    Parameters
    ----------
    registry_uri, artifacts : str, optional
        As for :func:`civicml.registry.open_registry` (defaults: ``$CIVICML_REGISTRY``, the
        project's ``.civicml/``).
    project_dir : path
        The project folder whose ``.civicml/`` holds the default registry and caches.
    decision_log : path, optional
        The serving decision-log folder, or a folder of them, one per model name, that
        monitoring reads; defaults to ``.civicml/decisions`` (where ``civicml serve`` logs).
    secret : str, optional
        The cookie-signing key; defaults to ``$CIVICML_UI_SECRET`` or a random per-process key.
    secure_cookies : bool or None
        Force the ``Secure`` cookie flag; ``None`` sets it whenever the request came over TLS.
    assets : path, optional
        Where ``govuk-frontend`` was installed (see :func:`civicml.web.install_assets`).
    cache_dir : path, optional
        Where reports are written once per bundle; defaults to ``.civicml/ui-cache``.
    """

    registry_uri: str | None = None
    artifacts: str | None = None
    project_dir: str | Path = "."
    decision_log: str | Path | None = None
    secret: str | None = None
    secure_cookies: bool | None = None
    assets: str | Path | None = None
    cache_dir: str | Path | None = None


@dataclass
class Web:
    """What the handlers share: the registry, runs store, report cache, templates and cookie
    codec."""

    config: WebConfig
    registry: Registry
    runs: RunStore
    reports: ReportCache
    codec: SessionCodec
    templates: Any
    govuk: Path | None


@dataclass
class Ctx:
    """One request as a handler sees it."""

    request: Request
    web: Web
    session: WebSession
    user: User | None
    form: dict[str, str] = field(default_factory=dict)

    @property
    def registry(self) -> Registry:
        return self.web.registry

    @property
    def runs(self) -> RunStore:
        return self.web.runs

    def param(self, name: str) -> str:
        """A path parameter as text."""
        return str(self.request.path_params[name])

    def render(self, template: str, *, status: int = 200, **values: Any) -> Response:
        """Render a template inside the layout with the user, CSRF token and navigation."""
        from starlette.responses import HTMLResponse

        html = self.web.templates.get_template(template).render(
            user=self.user,
            csrf_token=self.session.csrf,
            path=self.request.url.path,
            govuk=self.web.govuk is not None,
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def redirect(self, url: str) -> Response:
        """A 303 See Other (the browser follows with GET)."""
        from starlette.responses import RedirectResponse

        return RedirectResponse(url, status_code=303)

    def error(self, status: int, title: str, message: str) -> Response:
        """The error page (never echoes anything but the message given)."""
        return self.render("error.html", status=status, title=title, message=message)


def _local_next(value: str | None) -> str:
    """Only same-site paths may be redirected to after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def _read_form(request: Request) -> dict[str, str] | None:
    """Parse an ``application/x-www-form-urlencoded`` body (first value of each field)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def endpoint(*, public: bool = False) -> Callable[[Callable[[Ctx], Response]], Any]:
    """Wrap a synchronous handler ``fn(ctx) -> Response`` as a Starlette endpoint.

    Parameters
    ----------
    public : bool
        True for the pages a signed-out visitor may see (sign-in, accessibility statement).
    """

    def wrap(fn: Callable[[Ctx], Response]) -> Any:
        @functools.wraps(fn)
        async def handler(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            web: Web = request.app.state.web
            session = web.codec.load(request)
            form: dict[str, str] = {}
            user = None
            if session.token_id:
                user = await run_in_threadpool(user_for_session, web.registry, session)
                if user is None:
                    session.token_id, session.changed = None, True
            ctx = Ctx(request, web, session, user)
            if request.method == "POST":
                parsed = await _read_form(request)
                if parsed is None or not session.csrf_ok(parsed.get("csrf_token")):
                    response = ctx.error(
                        403,
                        "Your form has expired",
                        "The form could not be checked. Go back, reload the page and try again.",
                    )
                    return _finish(web, request, session, response)
                ctx.form = form = parsed
            if user is None and not public:
                target = request.url.path
                if request.url.query and request.method == "GET":
                    target += "?" + request.url.query
                response = ctx.redirect("/sign-in?" + urllib.parse.urlencode({"next": target}))
                return _finish(web, request, session, response)
            del form
            response = await run_in_threadpool(_guarded, fn, ctx)
            return _finish(web, request, session, response)

        return handler

    return wrap


def _guarded(fn: Callable[[Ctx], Response], ctx: Ctx) -> Response:
    from civicml._errors import CivicMLError, NotFoundError

    try:
        return fn(ctx)
    except NotFoundError as exc:
        return ctx.error(404, "Page not found", str(exc))
    except CivicMLError as exc:
        return ctx.error(400, "There is a problem", str(exc))


def _finish(web: Web, request: Request, session: WebSession, response: Response) -> Response:
    if session.changed:
        secure = web.config.secure_cookies
        if secure is None:
            secure = request.url.scheme == "https"
        web.codec.save(response, session, secure=secure)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


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


def _templates() -> Any:
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
    return env


def create_app(
    config: WebConfig | None = None,
    *,
    registry: Registry | None = None,
    runs: RunStore | None = None,
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
    from civicml.web import _forms, _pages
    from civicml.web._reports import ReportCache

    config = config or WebConfig()
    if config.decision_log is None:  # where 'civicml serve' logs by default, one folder a model
        decisions = Path(config.project_dir).resolve() / ".civicml" / "decisions"
        config = dataclasses.replace(config, decision_log=decisions)
    reg = registry or open_registry(
        config.registry_uri, artifacts=config.artifacts, project_dir=config.project_dir
    )
    run_store = runs or open_runs(config.registry_uri, project_dir=config.project_dir)
    cache = Path(config.cache_dir or Path(config.project_dir).resolve() / ".civicml" / "ui-cache")
    web = Web(
        config=config,
        registry=reg,
        runs=run_store,
        reports=ReportCache(cache / "reports"),
        codec=SessionCodec(config.secret or None),
        templates=_templates(),
        govuk=govuk_dist(config.assets),
    )
    static = Path(__file__).parent / "static"
    routes: list[Any] = [*_pages.ROUTES, *_forms.ROUTES]
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
        return _finish(web, request, ctx.session, response)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if registry is None:  # we opened it, so we close it
            reg.close()
        if runs is None:
            run_store.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(_SecurityHeaders)],
        exception_handlers={404: not_found},
        lifespan=lifespan,
    )
    app.state.web = web
    app.state.instance = secrets.token_hex(4)
    return app
