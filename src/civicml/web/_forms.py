"""What people change: sign in and out, approve / reject / request changes, request approval,
promote and roll back. Every form is a plain POST with a CSRF token (checked in ``_context``);
every change acts as the :class:`~civicml.registry.Actor` of the signed-in principal
(:func:`~civicml.web._auth.actor_of`: a verified person with their roles, or a token acting as
its owner), so the library's three-person rule applies. Asking for approval needs the trainer,
approver or admin role; deciding, promoting and rolling back need approver or admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from civicml.web._auth import READ_SCOPES, actor_of, is_scoped
from civicml.web._context import Ctx, endpoint, local_next

if TYPE_CHECKING:
    from starlette.responses import Response

    from civicml.registry import Actor

__all__ = ["ANSWER_PREFIX", "DECISIONS", "routes"]

#: the approval form's choices and the page message key each leads to
DECISIONS = {"approve": "approved", "reject": "rejected", "request-changes": "changes"}
CHANGES_PREFIX = "Changes requested: "


def _forbidden(ctx: Ctx, needs: str = "the approver or admin role") -> Response:
    who = ctx.user.name if ctx.user is not None else "nobody"
    role = ctx.user.role if ctx.user is not None else "none"
    return ctx.error(
        403,
        "You cannot do that",
        f"You are signed in as {who} with the {role} role. This needs {needs}.",
    )


def _actor(ctx: Ctx) -> Actor:
    """Who the change is made by: the signed-in principal as a registry Actor."""
    assert ctx.user is not None
    return actor_of(ctx.user, server=bool(getattr(ctx.registry, "server", False)))


def _version_url(name: str, version: int, done: str) -> str:
    return f"/models/{quote(name)}/{version}?done={done}"


@endpoint(public=True)
def sign_in(ctx: Ctx) -> Response:
    """Check the token; on success start a fresh session and go where the visitor was going."""
    token = ctx.form.get("token", "")
    nxt = local_next(ctx.form.get("next"))
    if not getattr(ctx.request.app.state, "token_sign_in", True):
        return ctx.render(
            "sign_in.html",
            status=403,
            next=nxt,
            error=None,
            refusal="Signing in with an API token is turned off here. Sign in with your "
            "organisation account.",
        )
    user = ctx.web.auth.sign_in(token, READ_SCOPES) if token.strip() else None
    if user is not None:
        ctx.web.auth.close_session(ctx.session)
        ctx.session.start(ctx.web.auth.open_session(user))  # a new session id and CSRF token
    if user is None:
        message = (
            "Enter your API token"
            if not token.strip()
            else "That token is not valid, has been revoked, or cannot use the dashboard"
        )
        info = ctx.registry.verify_token(token.strip()) if token.strip() else None
        if info is not None and is_scoped(info):
            message = (
                "That token is limited to some models, and the dashboard shows every model: "
                "use it with the API, or sign in with a token that is not limited"
            )
        return ctx.render("sign_in.html", status=401, next=nxt, error=message)
    ctx.user = user
    return ctx.redirect(nxt)


@endpoint(public=True)
def sign_out(ctx: Ctx) -> Response:
    """End the session: the server forgets its id (the old cookie signs nobody in again) and
    the CSRF token changes."""
    ctx.web.auth.close_session(ctx.session)
    ctx.user = None
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
    actor = _actor(ctx)
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


#: the request form's fields for the legal record, in legal_from_fields' order
_LEGAL_FIELDS = (
    "safeguard_information",
    "safeguard_contest",
    "safeguard_human",
    "art9_condition",
    "schedule1",
    "dpia_ref",
    "dpia_date",
)


@endpoint()
def request_approval(ctx: Ctx) -> Response:
    """Put a version in the approval queue, recording its oversight mode and lawful basis."""
    from civicml._errors import CivicMLError

    if ctx.user is None or not ctx.user.can_request:
        return _forbidden(ctx, "the trainer, approver or admin role")
    name, version = ctx.param("name"), int(ctx.param("version"))
    reason = _reason(ctx)
    from civicml.registry import legal_from_fields

    oversight = ctx.form.get("oversight") or None
    lawful_basis = ctx.form.get("lawful_basis", "").strip() or None
    legal = legal_from_fields(*(ctx.form.get(k) for k in _LEGAL_FIELDS))
    if not reason:
        return _version_errors(
            ctx, name, version, [{"field": "ra-reason", "text": "Enter why it is ready"}]
        )
    try:
        ctx.registry.request_approval(
            name,
            version,
            actor=_actor(ctx),
            reason=reason,
            oversight=oversight,
            lawful_basis=lawful_basis,
            legal=legal,
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
        ctx.registry.promote(name, version, alias, actor=_actor(ctx), reason=reason)
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
    ctx.registry.rollback(name, actor=_actor(ctx), reason=reason)
    return ctx.redirect(f"/models/{quote(name)}?done=rolled-back")


#: the prefix of an ATRS answer's form field (``answer:owner.team``)
ANSWER_PREFIX = "answer:"


def _entered_answers(ctx: Ctx, current: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """What was typed in each ATRS textarea, and the answers among them: changed from the
    field's current text and not blank (a list field takes one item a line)."""
    from civicml.web._pages import field_text

    entered = {
        k.removeprefix(ANSWER_PREFIX): v.replace("\r\n", "\n")
        for k, v in ctx.form.items()
        if k.startswith(ANSWER_PREFIX)
    }
    answers: dict[str, Any] = {}
    for field_id, text in entered.items():
        if field_id not in current or not text.strip():
            continue
        if text.strip() == field_text(current[field_id]).strip():
            continue
        if isinstance(current[field_id], list):
            answers[field_id] = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            answers[field_id] = text.strip()
    return entered, answers


@endpoint()
def atrs_answers(ctx: Ctx) -> Response:
    """Store a trainer's or approver's answers to the version's ATRS gaps, each checked (a
    valid email, date, web address …) before anything is stored; audited with their name."""
    from civicml._errors import CivicMLError
    from civicml.report import apply_answers, find_gaps, record_fields
    from civicml.web._pages import atrs_answers_view
    from civicml.web._reports import store_atrs_answers, version_atrs

    if ctx.user is None or not ctx.user.can_request:
        return _forbidden(ctx, "the trainer, approver or admin role")
    name, version = ctx.param("name"), int(ctx.param("version"))
    _, record = version_atrs(ctx.registry, name, version)
    gaps = find_gaps(record)
    current = {f.id: f.value for f in record_fields(record)}
    entered, answers = _entered_answers(ctx, current)
    form_id = {g.id: f"answer-{i}" for i, g in enumerate(gaps, start=1)}
    if not answers:
        first = next(iter(form_id.values()), "atrs-reason")
        errors = [{"field": first, "text": "Enter at least one answer"}]
        return atrs_answers_view(ctx, name, version, errors=errors, entered=entered, status=400)
    try:
        checked = find_gaps(apply_answers(record, answers))
    except CivicMLError as exc:
        errors = [{"field": "atrs-reason", "text": str(exc)}]
        return atrs_answers_view(ctx, name, version, errors=errors, entered=entered, status=400)
    errors = [
        {"field": form_id.get(g.id, "atrs-reason"), "text": f"{g.label} {g.problem}"}
        for g in checked
        if g.id in answers
    ]
    if errors:
        return atrs_answers_view(ctx, name, version, errors=errors, entered=entered, status=400)
    try:
        store_atrs_answers(
            ctx.registry, name, version, answers, actor=_actor(ctx), reason=_reason(ctx) or None
        )
    except CivicMLError as exc:
        errors = _governance(exc, "atrs-reason")
        status = 403 if errors[0]["kind"] == "governance" else 400
        return atrs_answers_view(ctx, name, version, errors=errors, entered=entered, status=status)
    return ctx.redirect(f"/models/{quote(name)}/{version}/atrs/answers?done=atrs-saved")


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
        Route("/models/{name}/{version:int}/atrs/answers", atrs_answers, methods=post),
    ]
