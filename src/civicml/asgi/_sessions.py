"""Signed session cookies, server-side session ids and CSRF tokens, for surfaces people sign in
to (the dashboard).

The cookie holds a random session id and a CSRF token, signed with ``itsdangerous`` (never a
plaintext token, never a person's claims). The server keeps what each live session id stands for
in a :class:`SessionStore`: the API token's id (looked up again on every request, so a revoked
token signs its holder out at once) or the person an OpenID Provider signed in. Signing out
forgets the id, so a copied cookie cannot be replayed afterwards. While an OpenID sign-in is under
way a second, short-lived cookie (``SameSite=Lax``, so it survives the provider's redirect back)
carries its ``state``, ``nonce`` and PKCE verifier, signed.

Examples
--------
>>> codec = SessionCodec("a-test-key")
>>> s = WebSession(sid="s1")
>>> back = codec.loads(codec.dumps(s))
>>> back.sid == "s1" and back.csrf == s.csrf
True
>>> codec.loads("forged").sid is None
True
>>> store = SessionStore()
>>> sid = store.open({"token_id": "t1"})
>>> store.get(sid)
{'token_id': 't1'}
>>> store.close(sid); store.get(sid) is None
True
>>> codec.loads_pending(codec.dumps_pending({"state": "x"}))
{'state': 'x'}
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COOKIE",
    "IDLE_SECONDS",
    "PENDING_COOKIE",
    "PENDING_SECONDS",
    "SESSION_SECONDS",
    "SessionCodec",
    "SessionStore",
    "WebSession",
]

COOKIE = "civicml_session"
#: the short-lived cookie of an OpenID sign-in under way (state, nonce, PKCE verifier)
PENDING_COOKIE = "civicml_oidc"
#: the most a session lasts, however active
SESSION_SECONDS = 8 * 3600
#: a session ends after this long without a request
IDLE_SECONDS = 30 * 60
PENDING_SECONDS = 600


class SessionStore:
    """The live sessions, held by the server in this process's memory: ``sid -> entry``.

    An entry is what the session stands for: ``{"token_id": ...}`` for a token sign-in, or the
    signed-in person's facts for an OpenID sign-in. A session ends at the first of: sign-out
    (:meth:`close` forgets it at once, so its cookie, replayed, signs nobody in), ``idle``
    seconds without a request, or ``max_age`` seconds after sign-in. A session id the store does
    not hold signs nobody in, so the store fails closed: restarting the process signs everyone
    out, and several server processes need sticky sessions. At most ``limit`` sessions are
    kept; when full, the ones nearest their end are dropped first.

    Parameters
    ----------
    max_age : int
        Seconds a session lasts at most, however active.
    idle : int
        Seconds without a request after which a session ends.
    limit : int
        The most live sessions kept.

    Examples
    --------
    >>> store = SessionStore(idle=60)
    >>> sid = store.open({"token_id": "t1"})
    >>> start = store.clock()
    >>> store.get(sid, now=start + 59)  # a request inside the idle limit...
    {'token_id': 't1'}
    >>> store.get(sid, now=start + 59 + 61) is None  # ...then idle too long
    True
    >>> store.get(sid) is None  # and forgotten: coming back does not revive it
    True
    """

    def __init__(
        self, max_age: int = SESSION_SECONDS, *, idle: int = IDLE_SECONDS, limit: int = 100_000
    ) -> None:
        self.max_age, self.idle, self.limit = max_age, min(idle, max_age), limit
        #: ``sid -> [absolute end, idle end, entry]``
        self._items: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        #: the clock sessions are timed by (seconds, monotonic)
        self.clock = time.monotonic

    def open(self, entry: Any) -> str:
        """Start a session standing for ``entry``; its new random id."""
        sid = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            if len(self._items) >= self.limit:
                self._evict(now)
            self._items[sid] = [now + self.max_age, now + self.idle, entry]
        return sid

    def _evict(self, now: float) -> None:
        """Drop ended sessions; if still full, the tenth nearest their end."""
        for sid in [k for k, v in self._items.items() if min(v[0], v[1]) < now]:
            del self._items[sid]
        if len(self._items) >= self.limit:
            ending = sorted(self._items, key=lambda k: min(self._items[k][:2]))
            for sid in ending[: max(1, self.limit // 10)]:
                del self._items[sid]

    def get(self, sid: str | None, *, now: float | None = None) -> Any:
        """The entry of a live session, or ``None`` (unknown, idle too long, past its maximum
        age, or signed out). A live session's idle clock starts again."""
        if not sid:
            return None
        t = self.clock() if now is None else now
        with self._lock:
            item = self._items.get(sid)
            if item is None:
                return None
            if item[0] < t or item[1] < t:
                del self._items[sid]
                return None
            item[1] = t + self.idle
            return item[2]

    def close(self, sid: str | None) -> None:
        """Forget a session (sign-out): its cookie no longer signs anyone in."""
        if sid:
            with self._lock:
                self._items.pop(sid, None)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class WebSession:
    """What the cookie carries: the server-side session id (when signed in) and the CSRF
    token."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    sid: str | None = None
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"csrf": self.csrf, "sid": self.sid}

    def csrf_ok(self, submitted: str | None) -> bool:
        """Constant-time check of a form's ``csrf_token`` against this session's."""
        return bool(submitted) and hmac.compare_digest(str(submitted), self.csrf)

    def start(self, sid: str) -> None:
        """Sign in: hold the new session id ``sid`` with a new CSRF token."""
        self.sid = sid
        self.csrf = secrets.token_urlsafe(32)
        self.changed = True

    def end(self) -> None:
        """Sign out: drop the session id and the CSRF token."""
        self.sid = None
        self.csrf = secrets.token_urlsafe(32)
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
        self._pending = URLSafeTimedSerializer(key, salt="civicml-oidc-pending")

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
                sid = data.get("sid")
                return WebSession(csrf=data["csrf"], sid=sid if isinstance(sid, str) else None)
        return WebSession(changed=True)

    def dumps_pending(self, pending: dict[str, str]) -> str:
        """The signed value of the sign-in-under-way cookie."""
        return str(self._pending.dumps(pending))

    def loads_pending(self, raw: str | None) -> dict[str, str] | None:
        """The sign-in under way in a cookie value; ``None`` when absent, forged or stale."""
        from itsdangerous import BadSignature

        if not raw:
            return None
        try:
            data = self._pending.loads(raw, max_age=PENDING_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return None
        return {str(k): v for k, v in data.items()}

    def save_pending(
        self, response: Any, pending: dict[str, str] | None, *, secure: bool, path: str
    ) -> None:
        """Set (or, with ``None``, delete) the sign-in-under-way cookie: ``HttpOnly``,
        ``SameSite=Lax`` (the provider's redirect back is a cross-site navigation), only sent
        to the callback ``path``."""
        if pending is None:
            response.delete_cookie(PENDING_COOKIE, path=path, httponly=True, samesite="lax")
            return
        response.set_cookie(
            PENDING_COOKIE,
            self.dumps_pending(pending),
            max_age=PENDING_SECONDS,
            path=path,
            httponly=True,
            samesite="lax",
            secure=secure,
        )

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
