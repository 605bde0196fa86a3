"""Signed session cookies and CSRF tokens, for surfaces people sign in to (the dashboard).

The cookie holds only the token's id and a CSRF token, signed with ``itsdangerous`` (the
plaintext token is never stored). Every request looks the token up again through the
:class:`~civicml.asgi.Authenticator`, so a revoked token signs its holder out at once.

Examples
--------
>>> codec = SessionCodec("a-test-key")
>>> s = WebSession(token_id="t1")
>>> back = codec.loads(codec.dumps(s))
>>> back.token_id == "t1" and back.csrf == s.csrf
True
>>> codec.loads("forged").token_id is None
True
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

__all__ = ["COOKIE", "SESSION_SECONDS", "SessionCodec", "WebSession"]

COOKIE = "civicml_session"
SESSION_SECONDS = 8 * 3600


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

    def start(self, token_id: str) -> None:
        """Sign in: hold ``token_id`` with a new CSRF token."""
        self.token_id = token_id
        self.csrf = secrets.token_urlsafe(32)
        self.changed = True

    def end(self) -> None:
        """Sign out (the CSRF token stays until the cookie is rewritten)."""
        self.token_id = None
        self.changed = True


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

    def dumps(self, session: WebSession) -> str:
        """The signed cookie value."""
        return str(self._s.dumps(session.to_dict()))

    def loads(self, raw: str | None) -> WebSession:
        """The session in a cookie value, or a fresh one when absent, forged or stale."""
        from itsdangerous import BadSignature

        if raw:
            try:
                data = self._s.loads(raw, max_age=self.max_age)
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                tid = data.get("tid")
                return WebSession(csrf=data["csrf"], token_id=tid if isinstance(tid, str) else None)
        return WebSession(changed=True)

    def load(self, request: Any) -> WebSession:
        """The session of a request (anything with ``cookies``, e.g. Starlette's ``Request``)."""
        return self.loads(request.cookies.get(COOKIE))

    def save(self, response: Any, session: WebSession, *, secure: bool) -> None:
        """Set the cookie on a response with ``set_cookie`` (Starlette's): ``HttpOnly``,
        ``SameSite=Strict``, ``Secure`` over TLS."""
        response.set_cookie(
            COOKIE,
            self.dumps(session),
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="strict",
            secure=secure,
        )
