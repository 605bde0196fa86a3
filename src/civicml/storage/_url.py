"""Database URLs: one normalisation onto the drivers civicml installs, one display form.

civicml speaks to SQLite (the standard library's driver) and PostgreSQL through psycopg 3
(``psycopg[binary]`` in the ``scale`` and ``dev`` extras), so every PostgreSQL spelling maps onto
``postgresql+psycopg://``. A bare file path means a SQLite file.

Examples
--------
>>> normalise_url("postgres://ann@db/registry")
'postgresql+psycopg://ann@db/registry'
>>> normalise_url("data/registry.db")
'sqlite:///data/registry.db'
>>> display_url("postgresql://ann:s3cret@db:5432/registry")
'postgresql://ann:***@db:5432/registry'
"""

from __future__ import annotations

from pathlib import Path

from civicml._errors import RegistryError

__all__ = ["dialect_of", "display_url", "is_memory_url", "normalise_url"]

#: the SQLAlchemy driver for PostgreSQL: psycopg 3, the one the extras install
PG_DRIVER = "postgresql+psycopg"
_PG_PREFIXES = ("postgresql://", "postgres://", "postgresql+psycopg2://", "postgresql+psycopg://")
_MEMORY = ("sqlite://", "sqlite:///:memory:")
EXPECTED = "'sqlite:///PATH' or a file path, 'sqlite://' (in memory), 'postgresql://USER@HOST/DB'"


def normalise_url(url: str, *, what: str = "database", setting: str = "the URL") -> str:
    """Map a user-facing database URL onto the SQLAlchemy URL civicml opens.

    Parameters
    ----------
    url : str
        ``sqlite:///PATH``, a bare file path, ``sqlite://`` (in memory), or PostgreSQL as
        ``postgresql://``, ``postgres://``, ``postgresql+psycopg2://`` or
        ``postgresql+psycopg://`` (all served by psycopg 3).
    what : str
        What the URL points at, for the error message (``"registry database"``).
    setting : str
        Where the user sets it, for the error's fix (``"--registry (or CIVICML_REGISTRY)"``).

    Returns
    -------
    str
        ``sqlite://…`` or ``postgresql+psycopg://…``.

    Raises
    ------
    RegistryError
        For any other scheme; the message never echoes a password.

    Examples
    --------
    >>> normalise_url("postgresql+psycopg2://u:pw@h:5432/db")
    'postgresql+psycopg://u:pw@h:5432/db'
    >>> normalise_url("sqlite:///x.db"), normalise_url("sqlite://")
    ('sqlite:///x.db', 'sqlite://')
    >>> normalise_url("/srv/civicml/registry.db")
    'sqlite:////srv/civicml/registry.db'
    >>> normalise_url("mysql://u:pw@h/db", what="registry database")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The registry database URL 'mysql://u:***@h/db' is not ...
    """
    text = str(url).strip()
    for prefix in _PG_PREFIXES:
        if text.startswith(prefix):
            return f"{PG_DRIVER}://{text[len(prefix) :]}"
    if text.startswith("sqlite+pysqlite://"):
        return "sqlite://" + text[len("sqlite+pysqlite://") :]
    if text.startswith("sqlite://"):
        return text
    if text and "://" not in text:  # a bare path is a SQLite file
        return f"sqlite:///{Path(text).expanduser()}"
    raise RegistryError.build(
        f"The {what} URL {display_url(text)!r} is not supported",
        expected=EXPECTED,
        fix=f"Set {setting} to one of those",
    )


def display_url(url: str) -> str:
    """The URL fit to print or log: the password hidden, or only the scheme if unparsable.

    >>> display_url("postgresql+psycopg://ann:s3cret@db/registry")
    'postgresql+psycopg://ann:***@db/registry'
    >>> display_url("sqlite:///.civicml/registry.db")
    'sqlite:///.civicml/registry.db'
    >>> display_url("registry.db")
    'registry.db'
    """
    text = str(url)
    if "://" not in text:
        return text  # a file path holds no secret
    try:
        from sqlalchemy.engine import make_url

        return make_url(text).render_as_string(hide_password=True)
    except Exception:  # not a SQLAlchemy URL: hide everything up to the host
        scheme, rest = text.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}" if "@" in rest else f"{scheme}://…"


def is_memory_url(url: str) -> bool:
    """Whether a normalised URL is a private in-memory SQLite database.

    >>> is_memory_url("sqlite://"), is_memory_url("sqlite:///x.db")
    (True, False)
    """
    return url in _MEMORY


def dialect_of(url: str) -> str:
    """``"postgresql"`` or ``"sqlite"`` for a normalised URL.

    >>> dialect_of("postgresql+psycopg://h/db")
    'postgresql'
    """
    return "postgresql" if url.startswith("postgresql") else "sqlite"
