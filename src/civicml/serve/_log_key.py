"""The decision log's key: keyed hashes of inputs and pseudonyms, so nothing logged is reversible.

An unsalted hash of a row whose other columns are in clear can be reversed by trying every
candidate for the missing value (there are only ~1.8M UK postcodes). Every hash the decision log
keeps is therefore an HMAC-SHA256 under a per-deployment secret that is kept *outside* the log:

1. ``$CIVICML_LOG_KEY`` (at least 32 characters), else
2. the file named by ``$CIVICML_LOG_KEY_FILE``, else
3. a random key in ``.NAME.key`` beside (never inside) the log folder ``NAME``, created ``0600``
   on first use (every worker reads the same one).

The key is never logged. Copying the log folder alone does not copy the key.

Examples
--------
>>> hasher = LogHasher(b"k" * 32)
>>> h = hasher.input_hmac([30, "SW1A 1AA"])
>>> len(h), h == LogHasher(b"x" * 32).input_hmac([30, "SW1A 1AA"])
(64, False)
>>> hasher.pseudonym("ethnicity", "White British").startswith("pn_")
True
>>> hasher.pseudonym("ethnicity", None) is None
True
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

import orjson

from civicml._errors import SpecError
from civicml._files import private_dir, write_private_bytes

__all__ = ["LOG_KEY_ENV", "LOG_KEY_FILE_ENV", "LogHasher", "key_file_for", "load_log_key"]

LOG_KEY_ENV = "CIVICML_LOG_KEY"
LOG_KEY_FILE_ENV = "CIVICML_LOG_KEY_FILE"
_MIN_KEY = 32
_SHA256 = hashlib.sha256


def key_file_for(folder: str | os.PathLike[str]) -> Path:
    """Where the generated key of the log folder ``folder`` lives: beside it, not inside.

    >>> key_file_for("/srv/.civicml/decisions/claims").as_posix()
    '/srv/.civicml/decisions/.claims.key'
    """
    root = Path(folder)
    return root.parent / f".{root.name}.key"


def load_log_key(folder: str | os.PathLike[str] | None = None) -> bytes:
    """The decision log's secret key (see the module docstring for where it comes from).

    Raises
    ------
    SpecError
        When ``$CIVICML_LOG_KEY`` is too short or ``$CIVICML_LOG_KEY_FILE`` cannot be read.
    """
    env = os.environ.get(LOG_KEY_ENV)
    if env:
        if len(env.strip()) < _MIN_KEY:
            raise SpecError.build(
                f"${LOG_KEY_ENV} is too short to key the decision log",
                expected=f"at least {_MIN_KEY} characters",
                got=f"{len(env.strip())} characters",
                fix="Set it to a long random secret, e.g. 'openssl rand -hex 32'",
            )
        return env.strip().encode()
    named = os.environ.get(LOG_KEY_FILE_ENV)
    if named:
        return _read_key(Path(named), setting=f"${LOG_KEY_FILE_ENV}")
    if folder is None:
        return secrets.token_bytes(32)  # no log folder: a key for this process only
    path = key_file_for(folder)
    if not path.exists():
        _create_key(path)
    return _read_key(path, setting="the decision log's key file")


def _create_key(path: Path) -> None:
    """Write a new random key at ``path`` unless another process wins the race (then keep
    theirs): written privately under a temporary name, then hard-linked into place."""
    private_dir(path.parent)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    write_private_bytes(tmp, secrets.token_hex(32).encode())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _read_key(path: Path, *, setting: str) -> bytes:
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise SpecError.build(
            f"Cannot read the decision log key at {str(path)!r} ({type(exc).__name__})",
            fix=f"Check {setting} names a readable file",
        ) from None
    if len(key) < _MIN_KEY:
        raise SpecError.build(
            f"The decision log key at {str(path)!r} is too short",
            expected=f"at least {_MIN_KEY} bytes",
            got=f"{len(key)} bytes",
            fix="Write a long random secret there, e.g. 'openssl rand -hex 32 > FILE'",
        )
    return key


class LogHasher:
    """Keyed hashes for the decision log (HMAC-SHA256 under the deployment's key).

    Parameters
    ----------
    key : bytes
        The secret from :func:`load_log_key`.
    """

    __slots__ = ("_base",)

    def __init__(self, key: bytes) -> None:
        # the keyed state is computed once; each hash copies it (faster than hmac.digest)
        self._base = hmac.new(key, digestmod=_SHA256)

    def input_hmac(self, values: list[Any]) -> str:
        """The keyed hash of one input row (all its values, in schema order)."""
        h = self._base.copy()
        h.update(orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY))
        return h.hexdigest()

    def pseudonym(self, column: str, value: Any) -> str | None:
        """A stable keyed pseudonym of ``value`` in ``column`` (``None`` stays ``None``): equal
        values give equal pseudonyms, so groups can still be compared, but nobody without the
        key can tell which value is which."""
        if value is None:
            return None
        h = self._base.copy()
        h.update(column.encode() + b"\x00")
        h.update(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY))
        return "pn_" + h.hexdigest()[:32]
