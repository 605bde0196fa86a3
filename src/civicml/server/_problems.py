"""The one place civicml's errors become the API's HTTP statuses.

The foundation (:func:`civicml.asgi.error_response`) answers with an error's ``http_status``
and the one JSON body. Here an error raised by the library is given the status an API client
expects: not found 404, conflict 409, a governance rule or a missing role 403, missing
credentials 401, and any other refusal of the input (a bad name, bundle, lawful basis or
field) 422.

Examples
--------
>>> from civicml._errors import ConflictError, GovernanceError, NotFoundError, RegistryError
>>> [status_for(e("x")) for e in (NotFoundError, ConflictError, GovernanceError, RegistryError)]
[404, 409, 403, 422]
>>> err = as_http(RegistryError("The name is empty."))
>>> err.http_status, err.code, str(err)
(422, 'invalid', 'The name is empty.')
>>> status_for(ValueError("a bug"))
500
"""

from __future__ import annotations

from civicml._errors import (
    AuditBrokenError,
    AuthError,
    CivicMLError,
    ConflictError,
    GovernanceError,
    NotFoundError,
)
from civicml.asgi import HTTPError

__all__ = ["as_http", "forbidden", "invalid", "status_for"]

#: the library's error classes and the status each answers with, most specific first
STATUSES: tuple[tuple[type[BaseException], int], ...] = (
    (AuditBrokenError, 409),
    (NotFoundError, 404),
    (ConflictError, 409),
    (GovernanceError, 403),
)
_CODES = {403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid"}


def status_for(exc: BaseException) -> int:
    """The HTTP status of an exception (500 for anything that is not a civicml error)."""
    if isinstance(exc, (HTTPError, AuthError)):
        return int(exc.http_status)
    for cls, status in STATUSES:
        if isinstance(exc, cls):
            return status
    return 422 if isinstance(exc, CivicMLError) else 500


def as_http(exc: CivicMLError) -> CivicMLError:
    """The error with its API status: an :class:`~civicml.asgi.HTTPError` (or the auth error
    itself, which keeps its challenge), carrying any field-level ``errors`` along."""
    if isinstance(exc, (HTTPError, AuthError)):
        return exc
    status = status_for(exc)
    out = HTTPError(status, _CODES.get(status, "invalid"), str(exc))
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list):
        out.errors = errors  # type: ignore[attr-defined]
    return out


def invalid(message: str) -> HTTPError:
    """A 422 for a request the API cannot take (bad field, bad tar member)."""
    return HTTPError(422, "invalid", message)


def forbidden(message: str) -> HTTPError:
    """A 403 for an authenticated caller without the role."""
    return HTTPError(403, "forbidden", message)
