"""The exception tree and the one message template every error uses.

Every error civicml raises for bad input is a :class:`CivicMLError` whose message is one line:
what is wrong, where, what was expected, what was received (``!r``), and how to fix it. The CLI
prints that line and exits 2; the API returns it as ``{"error": "..."}`` with a 4xx status.

Examples
--------
>>> err = SpecError.build(
...     "The 'task' key in civicml.yaml has an unsupported value",
...     expected="one of ['auto', 'binary']",
...     got="tree",
...     fix="Set 'task' to one of the expected values.",
... )
>>> str(err)
"The 'task' key in civicml.yaml has an unsupported value. Expected one of ['auto', 'binary']; got 'tree'. Set 'task' to one of the expected values."
"""

from __future__ import annotations

from typing import Any, Self

__all__ = [
    "AuditBrokenError",
    "AuthError",
    "BundleError",
    "CivicMLError",
    "ConflictError",
    "ContractError",
    "DataError",
    "GovernanceError",
    "IntegrityError",
    "NotFittedError",
    "NotFoundError",
    "PersonalDataError",
    "RegistryError",
    "SpecError",
    "TrainingError",
    "format_error",
]

_MISSING = object()


def format_error(
    what: str,
    *,
    expected: str | None = None,
    got: Any = _MISSING,
    fix: str | None = None,
) -> str:
    """Build the one-line message: ``what. Expected …; got …. fix``.

    Examples
    --------
    >>> format_error("The file data.csv is empty", fix="Export it again with a header row.")
    'The file data.csv is empty. Export it again with a header row.'
    >>> format_error("Bad seed", expected="an integer", got="x")
    "Bad seed. Expected an integer; got 'x'."
    """
    parts = [what.rstrip(".") + "."]
    if expected is not None and got is not _MISSING:
        parts.append(f"Expected {expected}; got {got!r}.")
    elif expected is not None:
        parts.append(f"Expected {expected}.")
    elif got is not _MISSING:
        parts.append(f"Got {got!r}.")
    if fix:
        parts.append(fix.rstrip(".") + ".")
    return " ".join(p.replace("\n", " ") for p in parts)


class CivicMLError(Exception):
    """Root of every error civicml raises on purpose. Its message is a single line."""

    #: exit code the CLI uses for this error (2: unusable input)
    exit_code: int = 2
    #: HTTP status the API uses for this error
    http_status: int = 400

    @classmethod
    def build(
        cls,
        what: str,
        *,
        expected: str | None = None,
        got: Any = _MISSING,
        fix: str | None = None,
    ) -> Self:
        """Create the error with the house message template (see :func:`format_error`)."""
        return cls(format_error(what, expected=expected, got=got, fix=fix))


class SpecError(CivicMLError):
    """The project spec (civicml.yaml) or a parameter is invalid."""


class DataError(CivicMLError):
    """A data source cannot be read or is unusable for the task."""


class ContractError(DataError):
    """A data contract file is invalid or does not match the data."""


class PersonalDataError(DataError):
    """Undeclared personal data was found where it must not be."""


class TrainingError(CivicMLError):
    """Training could not produce a model (e.g. every candidate failed)."""


class NotFittedError(CivicMLError, AttributeError):
    """An estimator was used before ``fit``."""


class BundleError(CivicMLError):
    """A bundle is malformed or cannot be loaded."""


class IntegrityError(BundleError):
    """A file's sha256 does not match its manifest, or a file was added or removed."""


class RegistryError(CivicMLError):
    """The model registry refused an operation."""


class AuditBrokenError(IntegrityError):
    """The registry's audit log does not verify, so it refuses writes until a recorded repair."""

    http_status = 409


class NotFoundError(RegistryError):
    """A model, version, alias, run or token does not exist."""

    http_status = 404


class ConflictError(RegistryError):
    """The operation conflicts with the current state (e.g. a name taken)."""

    http_status = 409


class GovernanceError(RegistryError):
    """A governance rule refused the operation (e.g. self-approval)."""

    http_status = 403


class AuthError(CivicMLError):
    """Missing, invalid or insufficient credentials."""

    http_status = 401
