"""The route table's building blocks: a route, its parameters, the call a handler receives.

One table (``_routes.ROUTES``) both dispatches requests and writes the OpenAPI document, so
the document cannot drift from what the server does. A route says its method, path template,
handler, the roles that may call it, its query parameters, its JSON body fields (or a tar
upload) and its response.

Examples
--------
>>> r = Route("GET", "/models/{name}/versions/{v}", lambda call: None, "One version")
>>> r.match("/models/benefits/versions/3")
{'name': 'benefits', 'v': '3'}
>>> r.match("/models/benefits") is None
True
>>> [p.name for p in r.path_params()], r.path_params()[1].kind
(['name', 'v'], 'integer')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml.server._problems import invalid

if TYPE_CHECKING:
    from civicml.registry import Actor, Registry
    from civicml.server._options import ServerOptions
    from civicml.tracking import RunStore

__all__ = ["PUBLIC", "Call", "Download", "Param", "Route"]

#: a route anyone may call, signed in or not
PUBLIC: tuple[str, ...] | None = None
#: path parameters that are integers (everything else is a string)
INTEGER_PATH_PARAMS = frozenset({"v"})
_PARAM = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Param:
    """A query parameter or JSON body field.

    ``kind`` is ``string``, ``integer``, ``boolean``, ``object`` (of any values),
    ``object:string`` (of strings) or ``array:string``.
    """

    name: str
    kind: str = "string"
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Route:
    """One API operation.

    Parameters
    ----------
    method, path : str
        ``GET`` and ``/models/{name}`` (below ``/api/v1``).
    handler : callable
        ``handler(call) -> JSON document | Download``; runs in a worker thread.
    summary : str
        One line for the OpenAPI document.
    roles : tuple of str or None
        ``None``: public; ``()``: any authenticated caller; else any of these roles.
    query, body : tuple of Param
        Query parameters and JSON body fields (``body=None``: no JSON body).
    upload : bool
        The body is a bundle as ``application/x-tar``.
    response : str or None
        The component schema answered (``None``: free-form JSON); ``many`` for a list.
    """

    method: str
    path: str
    handler: Callable[[Call], Any]
    summary: str
    roles: tuple[str, ...] | None = ()
    query: tuple[Param, ...] = ()
    body: tuple[Param, ...] | None = None
    upload: bool = False
    response: str | None = "ModelVersion"
    many: bool = False
    status: int = 200
    download: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts, pos = [], 0
        for m in _PARAM.finditer(self.path):
            parts += [re.escape(self.path[pos : m.start()]), f"(?P<{m.group(1)}>[^/]+)"]
            pos = m.end()
        parts.append(re.escape(self.path[pos:]))
        object.__setattr__(self, "regex", re.compile("^" + "".join(parts) + "$"))

    @property
    def operation_id(self) -> str:
        """The handler's name, the operation's id in the OpenAPI document."""
        return str(getattr(self.handler, "__name__", "operation")).strip("_")

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when ``path`` fits this route, else ``None``."""
        m = self.regex.match(path)
        return None if m is None else m.groupdict()

    def path_params(self) -> list[Param]:
        """The path template's parameters, in order."""
        return [
            Param(n, "integer" if n in INTEGER_PATH_PARAMS else "string", True)
            for n in _PARAM.findall(self.path)
        ]


@dataclass(frozen=True)
class Download:
    """A file answer: a tar the dispatcher streams and then deletes with its folder."""

    path: Path
    cleanup: Path
    filename: str
    content_type: str = "application/x-tar"


@dataclass
class Call:
    """One request as a handler sees it: the registry, who is calling, and the checked
    parameters (path, query, JSON body, the uploaded tar's file)."""

    registry: Registry
    runs: RunStore
    options: ServerOptions
    actor: Actor | None
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    upload: Path | None = None

    @property
    def who(self) -> Actor:
        """The authenticated actor (every write's actor)."""
        assert self.actor is not None, "routes that write are never public"
        return self.actor

    def version(self) -> int:
        """The ``{v}`` path parameter as a version number."""
        raw = self.path.get("v", "")
        if not raw.isdigit() or len(raw) > 12:
            raise invalid(f"The version in the path must be a whole number; got {raw[:40]!r}.")
        return int(raw)

    def fields(self, *names: str) -> dict[str, Any]:
        """The body fields among ``names`` that were sent (for keyword arguments)."""
        return {k: self.body[k] for k in names if k in self.body}
