"""Sign-in through the organisation's OpenID Provider: ``/auth/login`` sends the person there
(authorization code with PKCE), ``/auth/callback`` checks the answer and starts their session.

The sign-in under way (``state``, ``nonce``, PKCE verifier, where to go next) travels in a
signed, short-lived cookie sent only to the callback. The person's name is their e-mail (or
username); their roles come from the configured claim through the role map. A person whose
groups give no civicml role is told so and is not signed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from civicml.asgi import OIDCClient, Principal, SignInRefused
from civicml.web._context import Ctx, endpoint, local_next

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["CALLBACK", "principal_of", "routes"]

CALLBACK = "/auth/callback"


def _client(ctx: Ctx) -> OIDCClient | None:
    return getattr(ctx.request.app.state, "oidc", None)


def _secure(ctx: Ctx) -> bool:
    secure = ctx.web.config.secure_cookies
    return ctx.request.url.scheme == "https" if secure is None else secure


def redirect_uri(client: OIDCClient, request: Request) -> str:
    """The callback URL registered at the provider (configured, or this server's own)."""
    if client.settings.redirect_url:
        return client.settings.redirect_url
    return str(request.base_url).rstrip("/") + CALLBACK


def principal_of(identity: Any) -> Principal:
    """The session principal for a person the provider vouched for: verified, via OIDC, each
    role with the models it reaches (its ``scopes`` are the roles that reach every model)."""
    principal: Principal = identity.principal()
    return principal


def _refused(ctx: Ctx, status: int, message: str) -> Response:
    response = ctx.render("sign_in.html", status=status, next="/", error=None, refusal=message)
    ctx.web.codec.save_pending(response, None, secure=_secure(ctx), path=CALLBACK)
    return response


@endpoint(public=True)
def login(ctx: Ctx) -> Response:
    """Send the visitor to the provider with a fresh state, nonce and PKCE challenge."""
    client = _client(ctx)
    if client is None:
        return ctx.error(404, "Page not found", "Sign-in through a provider is not set up here.")
    nxt = local_next(ctx.request.query_params.get("next"))
    try:
        url, pending = client.begin(redirect_uri(client, ctx.request))
    except SignInRefused as exc:
        return _refused(ctx, 502, str(exc))
    response = ctx.redirect(url)
    pending["next"] = nxt
    ctx.web.codec.save_pending(response, pending, secure=_secure(ctx), path=CALLBACK)
    return response


@endpoint(public=True)
def callback(ctx: Ctx) -> Response:
    """Check the provider's answer, exchange the code, validate the ID token, map the roles
    and start a new session (new session id, new CSRF token)."""
    from civicml.asgi import PENDING_COOKIE

    client = _client(ctx)
    if client is None:
        return ctx.error(404, "Page not found", "Sign-in through a provider is not set up here.")
    pending = ctx.web.codec.loads_pending(ctx.request.cookies.get(PENDING_COOKIE))
    if pending is None:
        return _refused(
            ctx, 400, "This sign-in has expired or was started in another browser. Start again."
        )
    params = dict(ctx.request.query_params)
    try:
        identity = client.finish(params, pending, redirect_uri(client, ctx.request))
    except SignInRefused as exc:
        return _refused(ctx, 401, str(exc))
    if not identity.grants:
        return _refused(
            ctx,
            403,
            f"You signed in as {identity.name}, but none of your groups gives you a role in "
            "civicml, so you cannot use the dashboard. Ask the service's administrator to add "
            "you to a group that does.",
        )
    user = principal_of(identity)
    ctx.web.auth.close_session(ctx.session)
    ctx.session.start(ctx.web.auth.open_session(user))
    ctx.user = user
    nxt = local_next(pending.get("next"))
    # A page, not a redirect: the provider's redirect here was a cross-site navigation, so a
    # SameSite=Strict session cookie is only sent once a same-site navigation follows.
    response = ctx.render("signed_in.html", next=nxt)
    ctx.web.codec.save_pending(response, None, secure=_secure(ctx), path=CALLBACK)
    return response


def routes() -> list[Any]:
    """The Starlette routes of these handlers (Starlette is imported only here)."""
    from starlette.routing import Route

    return [Route("/auth/login", login), Route(CALLBACK, callback)]
