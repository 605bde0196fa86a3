"""What a POST body may be: its media type (else 415) and its content coding (gzip, deflate).

Clients compress request bodies (``tritonclient``'s ``request_compression_algorithm``, proxies,
``curl --compressed``): a body sent with ``Content-Encoding: gzip`` (or ``x-gzip``,
``deflate``, ``identity``) is decoded before it is parsed, and decoding stops at the same size
limit a plain body has, so a small "gzip bomb" that would inflate to gigabytes is refused with
413 after ``limit`` bytes, never held in memory. Any other coding is 415, as is a media type
the route does not read; both messages name what is accepted.

Examples
--------
>>> import gzip
>>> decode_body(gzip.compress(b'{"age": 60}'), "gzip", limit=1000)
b'{"age": 60}'
>>> decode_body(b"plain", None, limit=1000)
b'plain'
>>> decode_body(gzip.compress(b"0" * 5000), "gzip", limit=1000)
Traceback (most recent call last):
...
civicml.asgi._errors.HTTPError: The request body is over the limit of 1000 bytes once decompressed. Send fewer rows per request.
>>> decode_body(b"x", "br", limit=1000)
Traceback (most recent call last):
...
civicml.asgi._errors.HTTPError: Content-Encoding 'br' is not supported; send the body uncompressed or with one of: gzip, x-gzip, deflate, identity.
>>> media_type({"content-type": "application/json; charset=utf-8"}, JSON_ONLY)
'application/json'
>>> media_type({}, JSON_ONLY)
''
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from civicml.asgi import HTTPError, read_body

__all__ = [
    "CSV_OR_JSON",
    "ENCODINGS",
    "INFER_TYPES",
    "JSON_ONLY",
    "decode_body",
    "media_type",
    "read_request",
]

Receive = Callable[[], Awaitable[dict[str, Any]]]

#: the content codings a request body may carry
ENCODINGS = ("gzip", "x-gzip", "deflate", "identity")
#: ``/explain`` and the case routes read JSON only
JSON_ONLY = ("application/json",)
#: ``/predict`` and ``/invocations`` read JSON or CSV
CSV_OR_JSON = ("application/json", "text/csv")
#: Open Inference Protocol infer: JSON, or a JSON header and binary tensors
INFER_TYPES = ("application/json", "application/octet-stream")
_CHUNK = 64 * 1024
_TOO_BIG = "Send fewer rows per request."


def media_type(headers: dict[str, str], accepted: tuple[str, ...]) -> str:
    """The request's media type (``""`` when the client sent none: read as JSON), or 415.

    ``application/<anything>+json`` counts as JSON; a ``charset`` other than UTF-8 is refused
    (as MLflow's scoring server does).
    """
    raw = headers.get("content-type")
    if not raw:
        return ""
    if raw in accepted:  # the common case, exactly as sent
        return raw
    mime, _, params = raw.partition(";")
    mime = mime.strip().lower()
    if mime.startswith("application/") and mime.endswith("+json"):
        mime = "application/json"
    if mime not in accepted:
        raise HTTPError(
            415,
            "unsupported_media_type",
            f"Content-Type {mime[:80]!r} is not read here; send one of: {', '.join(accepted)}.",
        )
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise HTTPError(
                415,
                "unsupported_media_type",
                f"Charset {value.strip()[:40]!r} is not read here; send UTF-8 text.",
            )
    return mime


def _codings(header: str | None) -> list[str]:
    """The content codings applied to the body, in the order they were applied."""
    if not header:
        return []
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    for c in codings:
        if c not in ENCODINGS:
            raise HTTPError(
                415,
                "unsupported_media_type",
                f"Content-Encoding {c[:40]!r} is not supported; send the body uncompressed "
                f"or with one of: {', '.join(ENCODINGS)}.",
            )
    return [c for c in codings if c != "identity"]


def _inflate(body: bytes, coding: str, limit: int, fix: str) -> bytes:
    """Decompress one coding, refusing (413) output over ``limit`` bytes as soon as it passes."""
    if coding == "deflate":  # RFC 9110: zlib-wrapped; some clients send raw deflate
        zlib_header = len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
        wbits = 15 if zlib_header else -15
    else:
        wbits = 16 + 15
    out: list[bytes] = []
    size = 0
    data = body
    try:
        while data:  # one pass per gzip member (a body may hold several, concatenated)
            d = zlib.decompressobj(wbits)
            while not d.eof:
                chunk = d.decompress(data, _CHUNK)
                size += len(chunk)
                if size > limit:
                    raise HTTPError(
                        413,
                        "too_large",
                        f"The request body is over the limit of {limit} bytes once "
                        f"decompressed. {fix}",
                    )
                out.append(chunk)
                data = d.unconsumed_tail
                if not chunk and not data:
                    break
            if not d.eof:
                raise zlib.error("the compressed data is cut short")
            data = d.unused_data if coding != "deflate" else b""
    except zlib.error as exc:
        raise HTTPError(
            400,
            "bad_request",
            f"The request body is not valid {coding} data ({str(exc)[:80]}).",
        ) from None
    return b"".join(out)


def decode_body(body: bytes, encoding: str | None, *, limit: int, fix: str = _TOO_BIG) -> bytes:
    """``body`` with its ``Content-Encoding`` undone, at most ``limit`` bytes (else 413)."""
    for coding in reversed(_codings(encoding)):
        body = _inflate(body, coding, limit, fix)
    return body


async def read_request(
    receive: Receive, headers: dict[str, str], limit: int, *, fix: str = _TOO_BIG
) -> bytes:
    """The whole request body, decoded: the sent bytes and the decoded bytes are each capped
    at ``limit`` (413). An unsupported ``Content-Encoding`` is refused (415) before reading."""
    encoding = headers.get("content-encoding")
    _codings(encoding)
    body = await read_body(receive, limit, fix=fix)
    return decode_body(body, encoding, limit=limit, fix=fix) if encoding else body
