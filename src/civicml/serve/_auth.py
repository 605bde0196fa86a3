"""Bearer-token authentication, scopes and a per-token rate limit for the serving app.

The app asks a :class:`TokenVerifier` (the registry's ``verify_token``, or
:class:`HashedTokenVerifier` for local use) whether a token is valid; it never stores or logs
the token itself.

Examples
--------
>>> salted = hash_token("cml_dev_secret", salt="00" * 16)
>>> verify = HashedTokenVerifier({salted: StaticToken("dev", ("predict",))})
>>> verify("cml_dev_secret").scopes, verify("wrong")
(('predict',), None)
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from civicml._errors import AuthError

__all__ = [
    "Forbidden",
    "HashedTokenVerifier",
    "RateLimited",
    "RateLimiter",
    "StaticToken",
    "TokenInfoLike",
    "TokenVerifier",
    "hash_token",
    "parse_rate",
]


@runtime_checkable
class TokenInfoLike(Protocol):
    """What the app needs to know about a verified token (the registry's ``TokenInfo`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def scopes(self) -> tuple[str, ...]: ...


class TokenVerifier(Protocol):
    """Return the token's facts if ``token`` is valid and not revoked, else ``None``."""

    def __call__(self, token: str) -> TokenInfoLike | None: ...


class Forbidden(AuthError):
    """The token is valid but lacks the scope (HTTP 403)."""

    http_status = 403


class RateLimited(AuthError):
    """The token went over its rate limit (HTTP 429)."""

    http_status = 429


@dataclass(frozen=True)
class StaticToken:
    """A token defined outside the registry (local development, tests)."""

    name: str
    scopes: tuple[str, ...]
    rate_limit: str | None = None

    @property
    def id(self) -> str:
        return f"static:{self.name}"


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

    def __init__(self, tokens: Mapping[str, StaticToken]) -> None:
        self._tokens: list[tuple[str, str, StaticToken]] = []
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

    def __call__(self, token: str) -> StaticToken | None:
        found = None
        for salt, digest, info in self._tokens:
            try:
                candidate = hash_token(token, salt=salt).partition("$")[2]
            except ValueError:
                continue
            if hmac.compare_digest(candidate, digest):
                found = info
        return found


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


def bearer(authorization: str | None) -> str | None:
    """The token from an ``Authorization: Bearer …`` header value."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def has_scope(info: object, scope: str) -> bool:
    """True when the token holds ``scope`` (``admin`` holds every scope)."""
    allows = getattr(info, "allows", None)
    if callable(allows):
        return bool(allows(scope))
    scopes = getattr(info, "scopes", ()) or ()
    return scope in scopes or "admin" in scopes
