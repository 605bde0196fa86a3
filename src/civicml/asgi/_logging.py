"""Structured JSON logs for every civicml server process (one object per line).

Secrets never reach a log line: fields named like credentials (``authorization``, ``cookie``,
``token``, ``password``, ``secret``) are dropped from every record, and the request middleware
logs only the request id, method, route, status and latency — never headers, bodies or query
strings, which can hold tokens or personal data.

Examples
--------
>>> import logging
>>> rec = logging.LogRecord("civicml.serve", logging.INFO, "", 0, "ready", None, None)
>>> rec.request_id = "r1"
>>> rec.authorization = "Bearer cml_secret"
>>> line = JsonFormatter().format(rec)
>>> '"request_id":"r1"' in line, "cml_secret" in line
(True, False)
"""

from __future__ import annotations

import datetime as _dt
import logging
import sys
from typing import Any

import orjson

__all__ = ["LOGGERS", "JsonFormatter", "configure_logging"]

_STD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_SECRET_WORDS = ("authorization", "cookie", "token", "password", "secret")
#: the loggers a civicml server writes to
LOGGERS = (
    "civicml.serve",
    "civicml.bandits",
    "civicml.web",
    "civicml.asgi",
    "uvicorn",
    "uvicorn.error",
)


def _secret(key: str) -> bool:
    low = key.lower()
    return any(word in low for word in _SECRET_WORDS)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object with its ``extra=`` fields (credentials dropped)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": _dt.datetime.fromtimestamp(record.created, _dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD and not key.startswith("_") and not _secret(key):
                doc[key] = value
        if record.exc_info:
            doc["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure_logging(level: str = "info") -> None:
    """Send civicml's server logs and uvicorn's to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in LOGGERS:
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(level.upper())
        lg.propagate = False
    logging.getLogger("uvicorn.access").disabled = True
