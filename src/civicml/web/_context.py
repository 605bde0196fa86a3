"""What every dashboard handler shares: the configuration, the request context and
:func:`endpoint`, which wraps each handler.

:func:`endpoint` loads the signed session, asks the foundation's
:class:`~civicml.asgi.Authenticator` who is signed in, checks the CSRF token of every POST, turns
signed-out visitors away from everything but the public pages, and sets ``Cache-Control``. The
handlers themselves live in ``_pages.py`` (what people read) and ``_forms.py`` (what they
change); they only call the library and render.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml.asgi import Authenticator, SessionCodec, WebSession
from civicml.web._auth import READ_SCOPES, User

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from civicml.registry import Registry
    from civicml.tracking import RunStore
    from civicml.web._reports import ReportCache

__all__ = [
    "MAX_FORM_BYTES",
    "Ctx",
    "Web",
    "WebConfig",
    "endpoint",
    "finish",
    "local_next",
]

MAX_FORM_BYTES = 64 * 1024


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
    """What the handlers share: the registry, runs store, report cache, templates, cookie
    codec and authenticator."""

    config: WebConfig
    registry: Registry
    runs: RunStore
    reports: ReportCache
    codec: SessionCodec
    auth: Authenticator
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


def local_next(value: str | None) -> str:
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
            if session.sid:
                user = await run_in_threadpool(web.auth.session, session, READ_SCOPES)
                if user is None:
                    session.sid, session.changed = None, True
            ctx = Ctx(request, web, session, user)
            if request.method == "POST":
                parsed = await _read_form(request)
                if parsed is None or not session.csrf_ok(parsed.get("csrf_token")):
                    response = ctx.error(
                        403,
                        "Your form has expired",
                        "The form could not be checked. Go back, reload the page and try again.",
                    )
                    return finish(web, request, session, response)
                ctx.form = form = parsed
            if user is None and not public:
                target = request.url.path
                if request.url.query and request.method == "GET":
                    target += "?" + request.url.query
                response = ctx.redirect("/sign-in?" + urllib.parse.urlencode({"next": target}))
                return finish(web, request, session, response)
            del form
            response = await run_in_threadpool(_guarded, fn, ctx)
            return finish(web, request, session, response)

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


def finish(web: Web, request: Request, session: WebSession, response: Response) -> Response:
    if session.changed:
        secure = web.config.secure_cookies
        if secure is None:
            secure = request.url.scheme == "https"
        web.codec.save(response, session, secure=secure)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
