"""What people change: sign in and out, approve / reject / request changes, request approval,
promote and roll back. Every form is a plain POST with a CSRF token (checked in ``_context``);
every change acts as the signed-in token's name, so the library's two-person rule applies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from civicml.web._auth import READ_SCOPES
from civicml.web._context import Ctx, endpoint, local_next

if TYPE_CHECKING:
    from starlette.responses import Response

__all__ = ["DECISIONS", "routes"]

#: the approval form's choices and the page message key each leads to
DECISIONS = {"approve": "approved", "reject": "rejected", "request-changes": "changes"}
CHANGES_PREFIX = "Changes requested: "


def _forbidden(ctx: Ctx) -> Response:
    return ctx.error(
        403,
        "You cannot do that",
        "Your token can read the dashboard but not make decisions. "
        "Sign in with a token that has the approver or admin scope.",
    )


def _version_url(name: str, version: int, done: str) -> str:
    return f"/models/{quote(name)}/{version}?done={done}"


@endpoint(public=True)
def sign_in(ctx: Ctx) -> Response:
    """Check the token; on success start a fresh session and go where the visitor was going."""
    token = ctx.form.get("token", "")
    nxt = local_next(ctx.form.get("next"))
    user = ctx.web.auth.sign_in(token, READ_SCOPES) if token.strip() else None
    if user is not None:
        ctx.session.start(user.token_id)  # a new session: new CSRF token
    if user is None:
        message = (
            "Enter your API token"
            if not token.strip()
            else "That token is not valid, has been revoked, or cannot use the dashboard"
        )
        return ctx.render("sign_in.html", status=401, next=nxt, error=message)
    ctx.user = user
    return ctx.redirect(nxt)


@endpoint(public=True)
def sign_out(ctx: Ctx) -> Response:
    """End the session (a new CSRF token too)."""
    import secrets

    ctx.session.token_id = None
    ctx.session.csrf = secrets.token_urlsafe(32)
    ctx.session.changed = True
    return ctx.redirect("/sign-in")


def _reason(ctx: Ctx) -> str:
    return ctx.form.get("reason", "").strip()


def _version_errors(ctx: Ctx, name: str, version: int, errors: list[dict[str, str]]) -> Response:
    """Re-render the version page with an error summary (status 400, or 403 for governance)."""
    from civicml.web._pages import version_context

    v = ctx.registry.get_version(name, version)
    status = 403 if any(e.get("kind") == "governance" for e in errors) else 400
    return ctx.render(
        "version.html", status=status, done=None, errors=errors, **version_context(ctx, v)
    )


def _governance(exc: Exception, field: str) -> list[dict[str, str]]:
    from civicml._errors import GovernanceError

    kind = "governance" if isinstance(exc, GovernanceError) else "conflict"
    return [{"field": field, "text": str(exc), "kind": kind}]


@endpoint()
def decide(ctx: Ctx) -> Response:
    """Approve, reject or request changes, with a required reason, as the signed-in person."""
    from civicml._errors import CivicMLError

    if ctx.user is None or not ctx.user.can_decide:
        return _forbidden(ctx)
    name, version = ctx.param("name"), int(ctx.param("version"))
    choice, reason = ctx.form.get("decision", ""), _reason(ctx)
    errors = []
    if choice not in DECISIONS:
        errors.append({"field": "decision", "text": "Select approve, reject or request changes"})
    if not reason:
        errors.append({"field": "reason", "text": "Enter the reason for your decision"})
    if errors:
        return _version_errors(ctx, name, version, errors)
    actor = ctx.user.name
    try:
        if choice == "approve":
            ctx.registry.approve(name, version, by=actor, reason=reason)
        elif choice == "reject":
            ctx.registry.reject(name, version, by=actor, reason=reason)
        else:
            ctx.registry.reject(name, version, by=actor, reason=CHANGES_PREFIX + reason)
    except CivicMLError as exc:
        return _version_errors(ctx, name, version, _governance(exc, "decision"))
    return ctx.redirect(_version_url(name, version, DECISIONS[choice]))


@endpoint()
def request_approval(ctx: Ctx) -> Response:
    """Put a version in the approval queue, recording its oversight mode and lawful basis."""
    from civicml._errors import CivicMLError

    if ctx.user is None or not ctx.user.can_decide:
        return _forbidden(ctx)
    name, version = ctx.param("name"), int(ctx.param("version"))
    reason = _reason(ctx)
    oversight = ctx.form.get("oversight") or None
    lawful_basis = ctx.form.get("lawful_basis", "").strip() or None
    if not reason:
        return _version_errors(
            ctx, name, version, [{"field": "ra-reason", "text": "Enter why it is ready"}]
        )
    try:
        ctx.registry.request_approval(
            name,
            version,
            actor=ctx.user.name,
            reason=reason,
            oversight=oversight,
            lawful_basis=lawful_basis,
        )
    except CivicMLError as exc:
        return _version_errors(ctx, name, version, _governance(exc, "oversight"))
    return ctx.redirect(_version_url(name, version, "requested"))


@endpoint()
def promote(ctx: Ctx) -> Response:
    """Move an alias (``production`` by default) to this version; governance applies."""
    from civicml._errors import CivicMLError

    if ctx.user is None or not ctx.user.can_decide:
        return _forbidden(ctx)
    name, version = ctx.param("name"), int(ctx.param("version"))
    alias = ctx.form.get("alias", "").strip() or "production"
    reason = _reason(ctx)
    if not reason:
        return _version_errors(
            ctx, name, version, [{"field": "promote-reason", "text": "Enter why you are moving it"}]
        )
    try:
        ctx.registry.promote(name, version, alias, actor=ctx.user.name, reason=reason)
    except CivicMLError as exc:
        return _version_errors(ctx, name, version, _governance(exc, "promote-reason"))
    return ctx.redirect(_version_url(name, version, "promoted"))


@endpoint()
def rollback(ctx: Ctx) -> Response:
    """Move ``production`` back to the approved version that held it before."""
    if ctx.user is None or not ctx.user.can_decide:
        return _forbidden(ctx)
    name = ctx.param("name")
    reason = _reason(ctx)
    if not reason:
        return ctx.error(400, "There is a problem", "Enter the reason for the rollback.")
    ctx.registry.rollback(name, actor=ctx.user.name, reason=reason)
    return ctx.redirect(f"/models/{quote(name)}?done=rolled-back")


def routes() -> list[Any]:
    """The Starlette routes of these handlers (Starlette is imported only here)."""
    from starlette.routing import Route

    post = ["POST"]
    return [
        Route("/sign-in", sign_in, methods=post),
        Route("/sign-out", sign_out, methods=post),
        Route("/models/{name}/{version:int}/decision", decide, methods=post),
        Route("/models/{name}/{version:int}/request-approval", request_approval, methods=post),
        Route("/models/{name}/{version:int}/promote", promote, methods=post),
        Route("/models/{name}/rollback", rollback, methods=post),
    ]
