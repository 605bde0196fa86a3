"""One authentication for every HTTP surface: bearer tokens and dashboard sessions, scopes, roles.

Every surface asks one :class:`Authenticator` "who is this, and may they do this?":
:meth:`Authenticator.bearer` for API calls (``Authorization: Bearer <token>``) and
:meth:`Authenticator.session` for the dashboard's signed session cookie. Both answer with a
:class:`Principal` (or the verifier's own token record, which has the same ``id``, ``name``,
``scopes`` and ``allows``), and both look tokens up in the same place: the registry's tokens
(``registry.verify_token``) or :class:`HashedTokenVerifier` for local use. Tokens themselves are
never stored or logged. A session is either a token sign-in (the server-side session holds the
token's id, looked up again on every request) or a person signed in through an OpenID Provider
(the session holds that person: ``verified``, ``via="oidc"``, their roles).

Scopes: ``predict`` calls models and bandits, ``viewer`` reads the dashboard and metrics,
``trainer`` registers and asks for approval, ``approver`` decides, ``admin`` holds every scope.

Examples
--------
>>> salted = hash_token("cml_dev_secret", salt="00" * 16)
>>> verify = HashedTokenVerifier({salted: StaticToken("dev", ("predict",))})
>>> verify("cml_dev_secret").scopes, verify("wrong")
(('predict',), None)
>>> auth = Authenticator(verify)
>>> auth.bearer("Bearer cml_dev_secret", "predict").name
'dev'
>>> auth.bearer("Bearer cml_dev_secret", "viewer")
Traceback (most recent call last):
civicml.asgi._errors.Forbidden: The token 'dev' lacks the 'viewer' scope.
>>> bucket = RateLimiter()
>>> [bucket.allow("t", "2/s", now=0.0) for _ in range(3)]
[True, True, False]
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from civicml.asgi._errors import Forbidden, RateLimited, Unauthorized
from civicml.asgi._sessions import SessionStore, WebSession

__all__ = [
    "Authenticator",
    "HashedTokenVerifier",
    "Principal",
    "RateLimiter",
    "StaticToken",
    "TokenInfoLike",
    "TokenLookup",
    "TokenVerifier",
    "bearer",
    "has_scope",
    "hash_token",
    "parse_rate",
]

_ROLES = ("admin", "approver", "trainer", "viewer")
#: civicml's roles (the registry's ``ROLES``), weakest first
ROLES = ("viewer", "trainer", "approver", "admin")
NO_TOKEN = (
    "This endpoint needs a bearer token: send 'Authorization: Bearer <token>'. "
    "Create one with 'civicml tokens create'."
)
BAD_TOKEN = "The bearer token is not valid or has been revoked."


@runtime_checkable
class TokenInfoLike(Protocol):
    """What a surface needs to know about a verified token (the registry's ``TokenInfo`` and
    :class:`Principal` both fit)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def scopes(self) -> tuple[str, ...]: ...


class TokenVerifier(Protocol):
    """Return the token's facts if ``token`` is valid and not revoked, else ``None``."""

    def __call__(self, token: str) -> TokenInfoLike | None: ...


#: ``token id -> token facts | None`` (a session holds the id, never the token)
TokenLookup = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, with which scopes: a token holder or a signed-in person.

    Parameters
    ----------
    name : str
        The token's name; the actor of every change the principal makes.
    scopes : tuple of str
    rate_limit : str, optional
        Requests allowed per period, e.g. ``"50/s"`` (``None``: no limit).
    id : str
        The token id (``static:NAME`` when not given; ``oidc:SUBJECT`` for a person).
    kind : str
        ``"token"`` (bearer) or ``"session"`` (dashboard cookie).
    verified : bool
        True for a person an OpenID Provider signed in (the server checked who they are).
    via : str
        How they were identified: ``oidc``, or ``token:NAME`` (the default for tokens).
    acts_as : str
        The identity a token acts as (its owner or creator); the name when not given.

    Examples
    --------
    >>> p = Principal("ana", ("approver",), kind="session")
    >>> p.id, p.role, p.can_decide, p.allows("viewer"), p.allows("approver"), p.via
    ('static:ana', 'approver', True, False, True, 'token:ana')
    >>> t = Principal("ann@example.gov.uk", ("trainer",), verified=True, via="oidc")
    >>> t.roles, t.can_request, t.can_decide
    (('trainer',), True, False)
    """

    name: str
    scopes: tuple[str, ...]
    rate_limit: str | None = None
    id: str = ""
    kind: str = "token"
    verified: bool = False
    via: str = ""
    acts_as: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", f"static:{self.name}")
        if not self.via:
            object.__setattr__(self, "via", f"token:{self.name}")
        if not self.acts_as:
            object.__setattr__(self, "acts_as", self.name)

    def allows(self, scope: str) -> bool:
        """True when the principal holds ``scope`` (``admin`` holds every scope)."""
        return scope in self.scopes or "admin" in self.scopes

    @property
    def token_id(self) -> str:
        """The id of the token behind this principal (what a session cookie holds)."""
        return self.id

    @property
    def can_decide(self) -> bool:
        """True for ``approver`` and ``admin``: approve, reject, promote."""
        return "approver" in self.scopes or "admin" in self.scopes

    @property
    def can_request(self) -> bool:
        """True for ``trainer``, ``approver`` and ``admin``: ask for approval."""
        return any(s in self.scopes for s in ("trainer", "approver", "admin"))

    @property
    def roles(self) -> tuple[str, ...]:
        """The civicml roles among the scopes, weakest first."""
        return tuple(r for r in ROLES if r in self.scopes)

    @property
    def role(self) -> str:
        """The strongest dashboard role, for display."""
        for scope in _ROLES:
            if scope in self.scopes:
                return scope
        return "none"

    @classmethod
    def of(cls, info: Any, *, kind: str = "token") -> Principal:
        """A principal from a verifier's token record (returned as is when it is one)."""
        if isinstance(info, Principal) and info.kind == kind:
            return info
        name = str(info.name)
        return cls(
            name,
            tuple(info.scopes),
            getattr(info, "rate_limit", None),
            str(info.id),
            kind,
            acts_as=str(getattr(info, "acts_as", None) or name),
        )


#: A token defined outside the registry (local development, tests): a token principal.
StaticToken = Principal


def has_scope(info: object, scope: str) -> bool:
    """True when the token holds ``scope`` (``admin`` holds every scope)."""
    allows = getattr(info, "allows", None)
    if callable(allows):
        return bool(allows(scope))
    scopes = getattr(info, "scopes", ()) or ()
    return scope in scopes or "admin" in scopes


def bearer(authorization: str | None) -> str | None:
    """The token from an ``Authorization: Bearer …`` header value.

    >>> bearer("Bearer abc"), bearer("Basic abc"), bearer(None)
    ('abc', None, None)
    """
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def hash_token(token: str, *, salt: str) -> str:
    """``salt$sha256(salt + token)``: the form ``CIVICML_SERVE_TOKEN_HASH`` holds."""
    digest = hashlib.sha256(bytes.fromhex(salt) + token.encode()).hexdigest()
    return f"{salt}${digest}"


class HashedTokenVerifier:
    """Check tokens against salted hashes (never plaintext).

    Parameters
    ----------
    tokens : mapping of ``salt$hash`` to StaticToken
    """

    def __init__(self, tokens: Mapping[str, Principal]) -> None:
        self._tokens: list[tuple[str, str, Principal]] = []
        for salted, info in tokens.items():
            salt, _, digest = salted.partition("$")
            self._tokens.append((salt, digest, info))

    @classmethod
    def from_env(
        cls, value: str, scopes: Iterable[str] = ("predict", "admin")
    ) -> HashedTokenVerifier:
        """Parse ``salt$hash[,salt$hash...]`` (e.g. from ``$CIVICML_SERVE_TOKEN_HASH``)."""
        items = [v.strip() for v in value.split(",") if v.strip()]
        return cls({v: StaticToken(f"env-{i}", tuple(scopes)) for i, v in enumerate(items)})

    def __call__(self, token: str) -> Principal | None:
        found = None
        for salt, digest, info in self._tokens:
            try:
                candidate = hash_token(token, salt=salt).partition("$")[2]
            except ValueError:
                continue
            if hmac.compare_digest(candidate, digest):
                found = info
        return found

    def lookup(self, token_id: str) -> Principal | None:
        """The token whose id is ``token_id`` (what a session cookie holds)."""
        for _, _, info in self._tokens:
            if info.id == token_id:
                return info
        return None


_RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*/\s*(s|m|h)\s*$")
_PER = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(value: str | None) -> tuple[float, float] | None:
    """``"50/s"`` to ``(capacity, refill per second)``; ``None`` for no limit.

    >>> parse_rate("120/m")
    (120.0, 2.0)
    """
    if not value:
        return None
    m = _RATE.match(value)
    if not m:
        return None
    n = float(m.group(1))
    return n, n / _PER[m.group(2)]


class RateLimiter:
    """A token bucket per API token id, refilled continuously."""

    def __init__(self) -> None:
        self._buckets: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, rate: str | None, *, now: float | None = None) -> bool:
        """Take one request from ``key``'s bucket; False when it is empty."""
        parsed = parse_rate(rate)
        if parsed is None:
            return True
        capacity, refill = parsed
        t = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = [capacity, t]
            tokens = min(capacity, bucket[0] + (t - bucket[1]) * refill)
            bucket[1] = t
            if tokens < 1.0:
                bucket[0] = tokens
                return False
            bucket[0] = tokens - 1.0
            return True


class Authenticator:
    """Who is this, with which scopes: one answer for bearer tokens and dashboard sessions.

    Parameters
    ----------
    verify : TokenVerifier or None
        ``token -> facts | None`` (e.g. ``registry.verify_token``); ``None`` refuses every
        bearer token.
    lookup : callable, optional
        ``token id -> facts | None``, for sessions (which hold the token's id, never the token).
        Facts with ``active`` false count as revoked.
    limiter : RateLimiter, optional
        Per-token rate limits (a token's ``rate_limit``); one is made when not given.
    sessions : SessionStore, optional
        The live dashboard sessions (what each session id stands for); one is made when not
        given.
    """

    def __init__(
        self,
        verify: TokenVerifier | Callable[[str], Any] | None,
        *,
        lookup: TokenLookup | None = None,
        limiter: RateLimiter | None = None,
        sessions: SessionStore | None = None,
    ) -> None:
        self.verify = verify
        self.lookup = lookup
        self.limiter = limiter or RateLimiter()
        self.sessions = sessions or SessionStore()

    def bearer(self, authorization: str | None, scope: str, also: str | None = None) -> Any:
        """The caller behind an ``Authorization`` header value, if it holds ``scope`` (or
        ``also``).

        Returns the verifier's token record (a :class:`Principal` or the registry's
        ``TokenInfo``): the hot path allocates nothing. Raises :class:`Unauthorized` (401) for a
        missing, invalid, expired or revoked token, :class:`Forbidden` (403) for a missing scope
        and :class:`RateLimited` (429) over the token's rate limit.
        """
        token = bearer(authorization)
        if token is None:
            raise Unauthorized(NO_TOKEN)
        info = self.verify(token) if self.verify is not None else None
        if info is None:
            raise Unauthorized(BAD_TOKEN)
        if not has_scope(info, scope) and not (also and has_scope(info, also)):
            needed = f"{scope!r} scope" if not also else f"{also!r} or {scope!r} scope"
            raise Forbidden(f"The token {getattr(info, 'name', '?')!r} lacks the {needed}.")
        rate = getattr(info, "rate_limit", None)
        if rate and not self.limiter.allow(str(getattr(info, "id", "")), rate):
            raise RateLimited(f"The token went over its rate limit of {rate}. Slow down.")
        return info

    def principal(self, authorization: str | None, scope: str) -> Principal:
        """:meth:`bearer`, answered as a :class:`Principal`."""
        return Principal.of(self.bearer(authorization, scope))

    def session(self, session: WebSession | str | None, scopes: Iterable[str]) -> Principal | None:
        """The signed-in person of a dashboard session, if they still hold one of ``scopes``.

        ``session`` is the cookie's :class:`WebSession` (its id is looked up in
        :attr:`sessions`: a token sign-in, whose token must still be active, or a person an
        OpenID Provider signed in) or, as before, a token id. ``None`` when signed out,
        expired, revoked or without the scope.
        """
        scopes = tuple(scopes)
        if isinstance(session, WebSession):
            entry = self.sessions.get(session.sid)
            if isinstance(entry, Principal):  # an OpenID sign-in: the person, as verified then
                return entry if any(entry.allows(s) for s in scopes) else None
            token_id = entry.get("token_id") if isinstance(entry, dict) else None
        else:
            token_id = session
        if not token_id or self.lookup is None:
            return None
        info = self.lookup(token_id)
        if info is None or not getattr(info, "active", True):
            return None
        if not any(has_scope(info, s) for s in scopes):
            return None
        return Principal.of(info, kind="session")

    def open_session(self, principal: Principal) -> str:
        """Start a server-side session for a signed-in principal; the id its cookie holds.
        A token sign-in keeps only the token's id (looked up again on every request); a
        verified person is kept as they were verified."""
        if principal.verified:
            return self.sessions.open(principal)
        return self.sessions.open({"token_id": principal.token_id})

    def close_session(self, session: WebSession) -> None:
        """Sign out: forget the session id, so the cookie cannot be replayed."""
        self.sessions.close(session.sid)
        session.end()

    def sign_in(self, token: str, scopes: Iterable[str]) -> Principal | None:
        """Check a token typed into a sign-in form; the session principal, or ``None``."""
        info = self.verify(token.strip()) if token and self.verify is not None else None
        if info is None or not any(has_scope(info, s) for s in scopes):
            return None
        return Principal.of(info, kind="session")
