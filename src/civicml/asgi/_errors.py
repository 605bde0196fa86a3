"""The one HTTP error type and the one JSON error body every civicml HTTP surface returns.

The body is ``{"error": "<one line>"}``; a 422 from data-contract validation adds
``"errors": [{"field": ..., "problem": ...}, ...]``. A bug is a 500 that quotes the request id
and never shows a stack trace. This is the shape the prediction API has always returned, and
its OpenAPI document pins it.

Examples
--------
>>> status, body, extra = error_response(HTTPError(404, "not_found", "No such model."), "r1")
>>> status, body, extra
(404, b'{"error":"No such model."}', [])
>>> error_response(Unauthorized("Send a token."), "r1")[2]
[(b'www-authenticate', b'Bearer')]
>>> error_response(RuntimeError("boom"), "r1")[1]
b'{"error":"The server hit an unexpected error. Quote request id r1."}'
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from civicml._errors import AuthError, CivicMLError

__all__ = [
    "Forbidden",
    "HTTPError",
    "RateLimited",
    "Unauthorized",
    "error_body",
    "error_code",
    "error_response",
]

_log = logging.getLogger("civicml.asgi")
_CHALLENGE = [(b"www-authenticate", b"Bearer")]

#: machine-readable codes for the statuses civicml answers (logged with every error)
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


class HTTPError(CivicMLError):
    """An HTTP error: its status, a short machine-readable code and a one-line message.

    Parameters
    ----------
    status : int
        The HTTP status (4xx or 5xx).
    code : str
        A short snake_case code such as ``"not_found"`` (logged; the body carries the message).
    message : str
        What went wrong and how to fix it, for people.

    Examples
    --------
    >>> err = HTTPError(405, "method_not_allowed", "Use POST.")
    >>> err.http_status, err.code, str(err)
    (405, 'method_not_allowed', 'Use POST.')
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.http_status = status
        self.code = code


class Unauthorized(AuthError):
    """No credentials, or credentials that are not valid (HTTP 401, with a Bearer challenge)."""

    http_status = 401
    code = "unauthorized"


class Forbidden(AuthError):
    """Valid credentials that lack the scope (HTTP 403)."""

    http_status = 403
    code = "forbidden"


class RateLimited(AuthError):
    """The token went over its rate limit (HTTP 429)."""

    http_status = 429
    code = "rate_limited"


def error_code(exc: BaseException, status: int) -> str:
    """The error's code: its own ``code`` attribute, else the status's usual code."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) else _CODES.get(status, "error")


def error_body(message: str, errors: list[dict[str, Any]] | None = None) -> bytes:
    """The JSON error body: ``{"error": message}`` (plus ``errors`` when given)."""
    if errors is None:
        return orjson.dumps({"error": message})
    return orjson.dumps({"error": message, "errors": errors})


def error_response(
    exc: BaseException,
    request_id: str,
    *,
    path: str = "",
    logger: logging.Logger | None = None,
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """Map an exception to ``(status, JSON body, extra headers)``.

    A :class:`~civicml.CivicMLError` keeps its ``http_status`` (anything outside 400-599 becomes
    400) and its one-line message; its ``errors`` list, when it has one (contract validation),
    goes into the body. A 401 adds the ``WWW-Authenticate: Bearer`` challenge. Anything else is
    a bug: it is logged with its traceback and answered with a 500 that quotes the request id.
    """
    if isinstance(exc, CivicMLError):
        status = exc.http_status if 400 <= exc.http_status < 600 else 400
        errors = getattr(exc, "errors", None)
        body = error_body(str(exc), errors if isinstance(errors, list) else None)
        return status, body, (list(_CHALLENGE) if status == 401 else [])
    (logger or _log).error(
        "unexpected error",
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"request_id": request_id, "path": path[:200]},
    )
    message = f"The server hit an unexpected error. Quote request id {request_id}."
    return 500, error_body(message), []
