"""Sign-in with registry API tokens, signed session cookies and CSRF tokens.

The cookie holds only the token's id and a CSRF token, signed with ``itsdangerous`` (the
plaintext token is never stored). Every request looks the token up again, so a revoked token
signs its holder out at once. Scopes: ``viewer`` reads, ``approver`` and ``admin`` decide.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from civicml.registry import Registry

__all__ = [
    "COOKIE",
    "READ_SCOPES",
    "SessionCodec",
    "User",
    "WebSession",
    "sign_in",
    "user_for_session",
]

COOKIE = "civicml_session"
#: scopes that may open the dashboard (``predict`` alone may not)
READ_SCOPES = ("viewer", "approver", "admin")
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class User:
    """The signed-in person: the token's name is the actor of every change they make."""

    name: str
    scopes: tuple[str, ...]
    token_id: str

    @property
    def can_decide(self) -> bool:
        """True for ``approver`` and ``admin`` tokens: approve, reject, promote."""
        return "approver" in self.scopes or "admin" in self.scopes

    @property
    def role(self) -> str:
        """The strongest role, for display."""
        for scope in ("admin", "approver", "viewer"):
            if scope in self.scopes:
                return scope
        return "none"


@dataclass
class WebSession:
    """What the cookie carries: the token id (when signed in) and the CSRF token."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token_id: str | None = None
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"csrf": self.csrf, "tid": self.token_id}

    def csrf_ok(self, submitted: str | None) -> bool:
        """Constant-time check of a form's ``csrf_token`` against this session's."""
        return bool(submitted) and hmac.compare_digest(str(submitted), self.csrf)


class SessionCodec:
    """Sign and read the session cookie.

    Parameters
    ----------
    secret : str, optional
        The signing key; defaults to ``$CIVICML_UI_SECRET`` or a random per-process key
        (sessions then end when the process restarts).
    max_age : int
        Seconds a session lasts.
    """

    def __init__(self, secret: str | None = None, *, max_age: int = SESSION_SECONDS) -> None:
        from itsdangerous import URLSafeTimedSerializer

        key = secret or os.environ.get("CIVICML_UI_SECRET") or secrets.token_urlsafe(48)
        self.max_age = max_age
        self._s = URLSafeTimedSerializer(key, salt="civicml-ui-session")

    def load(self, request: Request) -> WebSession:
        """The request's session, or a fresh one when the cookie is absent, forged or stale."""
        from itsdangerous import BadSignature

        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._s.loads(raw, max_age=self.max_age)
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                tid = data.get("tid")
                return WebSession(csrf=data["csrf"], token_id=tid if isinstance(tid, str) else None)
        return WebSession(changed=True)

    def save(self, response: Response, session: WebSession, *, secure: bool) -> None:
        """Set the cookie: ``HttpOnly``, ``SameSite=Strict``, ``Secure`` over TLS."""
        response.set_cookie(
            COOKIE,
            self._s.dumps(session.to_dict()),
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="strict",
            secure=secure,
        )


def user_for_session(registry: Registry, session: WebSession) -> User | None:
    """The session's user, or ``None`` when signed out or the token was revoked."""
    if not session.token_id:
        return None
    stored = registry.store.get_token(session.token_id)
    if stored is None or not stored.info.active:
        return None
    info = stored.info
    if not any(info.allows(s) for s in READ_SCOPES):
        return None
    return User(info.name, tuple(info.scopes), info.id)


def sign_in(registry: Registry, session: WebSession, token: str) -> User | None:
    """Check ``token``; on success start a new session (new CSRF token) holding its id."""
    info = registry.verify_token(token.strip()) if token else None
    if info is None or not any(info.allows(s) for s in READ_SCOPES):
        return None
    session.token_id = info.id
    session.csrf = secrets.token_urlsafe(32)
    session.changed = True
    return User(info.name, tuple(info.scopes), info.id)
