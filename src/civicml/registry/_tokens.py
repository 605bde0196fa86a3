"""API tokens: random secrets shown once, stored as salted scrypt hashes, checked fast.

A token reads ``cml_<id>_<secret>``: the 16-hex-character id finds the stored row in one
primary-key lookup; the 32 random bytes of secret (URL-safe base64) are compared in constant
time against ``scrypt(secret, salt)``. Verified tokens are cached in memory for a short time,
keyed by the sha256 of the token (never the token itself), so the serving hot path pays the
scrypt cost once per token per TTL. Revoking a token clears it from this process's cache at
once; other processes stop accepting it within one TTL.

Examples
--------
>>> tok, token_id = new_token()
>>> tok.startswith("cml_") and split_token(tok)[0] == token_id
True
>>> salt, digest = hash_secret(split_token(tok)[1])
>>> secret_matches(split_token(tok)[1], salt, digest)
True
>>> split_token("not-a-token") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time

from civicml._errors import RegistryError
from civicml.registry._records import SCOPES, TokenInfo

__all__ = [
    "TOKEN_SCOPES",
    "TokenCache",
    "check_rate_limit",
    "check_scopes",
    "hash_secret",
    "new_token",
    "secret_matches",
    "split_token",
]

PREFIX = "cml_"
_TOKEN = re.compile(r"^cml_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_RATE = re.compile(r"^[0-9]+(\.[0-9]+)?/(s|m|h)$")
# scrypt with n=2**12, r=8: 4 MiB and tens of ms. The secret has 256 random bits, so the salted
# hash guards a stolen database against lookup, not a guessable password against brute force.
_SCRYPT = {"n": 2**12, "r": 8, "p": 1, "dklen": 32}


def new_token() -> tuple[str, str]:
    """A fresh plaintext token and its id."""
    token_id = secrets.token_hex(8)
    return f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}", token_id


def split_token(token: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed token, else ``None``."""
    m = _TOKEN.match(token) if isinstance(token, str) else None
    return (m.group(1), m.group(2)) if m else None


def hash_secret(secret: str, salt: str | None = None) -> tuple[str, str]:
    """``(salt_hex, hash_hex)`` of a secret with a new per-token salt."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return salt, digest.hex()


def secret_matches(secret: str, salt: str, expected_hex: str) -> bool:
    """Constant-time comparison of a secret with its stored hash."""
    return hmac.compare_digest(hash_secret(secret, salt)[1], expected_hex)


#: the scopes a token may hold: the registry's, and ``review`` (records the final outcome of a
#: served decision's case; the reviewer is the token's identity)
TOKEN_SCOPES: tuple[str, ...] = SCOPES


def check_scopes(scopes: object) -> tuple[str, ...]:
    """Validate and de-duplicate scopes.

    >>> check_scopes(["predict", "viewer", "predict"])
    ('predict', 'viewer')
    >>> check_scopes(["review"])
    ('review',)
    >>> check_scopes(["root"])
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: A token scope is not known. Expected a non-empty subset of ['predict', 'admin', 'approver', 'viewer', 'trainer', 'review']; got ['root']. Pass --scope with known scopes.
    """
    values = [scopes] if isinstance(scopes, str) else list(scopes or [])  # type: ignore[call-overload]
    if not values or any(s not in TOKEN_SCOPES for s in values):
        raise RegistryError.build(
            "A token scope is not known",
            expected=f"a non-empty subset of {list(TOKEN_SCOPES)}",
            got=values,
            fix="Pass --scope with known scopes",
        )
    return tuple(dict.fromkeys(values))


def check_rate_limit(value: str | None) -> str | None:
    """``N/s``, ``N/m`` or ``N/h`` (or ``None`` for no limit).

    >>> check_rate_limit("50/s")
    '50/s'
    """
    if value is None:
        return None
    if not isinstance(value, str) or not _RATE.match(value.strip()):
        raise RegistryError.build(
            "The token rate limit is not valid",
            expected="N/s, N/m or N/h, e.g. '50/s'",
            got=value,
            fix="Pass --rate-limit like 50/s",
        )
    return value.strip()


class TokenCache:
    """Verified tokens by sha256 of the plaintext, each for ``ttl`` seconds.

    >>> cache = TokenCache(ttl=30)
    >>> info = TokenInfo("0" * 16, "ci", ("predict",), "t", "Ada")
    >>> cache.put("cml_x", info); cache.get("cml_x") is info
    True
    >>> cache.drop_id(info.id); cache.get("cml_x") is None
    True
    """

    def __init__(self, ttl: float = 30.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: dict[str, tuple[float, TokenInfo]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> TokenInfo | None:
        key = self._key(token)
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] < time.monotonic():
            with self._lock:
                self._items.pop(key, None)
            return None
        return item[1]

    def put(self, token: str, info: TokenInfo) -> None:
        with self._lock:
            if len(self._items) >= self.max_entries:
                self._items.clear()
            self._items[self._key(token)] = (time.monotonic() + self.ttl, info)

    def drop_id(self, token_id: str) -> None:
        with self._lock:
            for key in [k for k, (_, i) in self._items.items() if i.id == token_id]:
                del self._items[key]
