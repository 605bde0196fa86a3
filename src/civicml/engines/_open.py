"""Open an engine from its spec string (``local``, ``local:N``, ``dask://HOST:PORT``)."""

from __future__ import annotations

from typing import Any

from civicml._errors import SpecError
from civicml.engines._base import Engine
from civicml.engines._dask import DaskEngine
from civicml.engines._local import LocalEngine

__all__ = ["open_engine"]


def open_engine(spec: str | Engine | None = "local", **options: Any) -> Engine:
    """An engine from its spec: ``"local"`` (or ``None``), ``"local:N"`` (N threads), or
    ``"dask://HOST:PORT"`` (a running ``dask scheduler``). No connection is made yet.

    Parameters
    ----------
    spec : str or Engine, optional
        As in ``engine:`` in civicml.yaml or ``--engine`` on the command line. An
        :class:`Engine` is returned unchanged.
    **options
        Passed to the engine's constructor (``retries`` for Dask, ``max_workers`` for local).

    Raises
    ------
    SpecError
        The spec names no known engine.

    Examples
    --------
    >>> open_engine("local:2")
    LocalEngine('local:2')
    >>> open_engine("dask://127.0.0.1:8786")
    DaskEngine('tcp://127.0.0.1:8786')
    """
    if isinstance(spec, Engine):
        return spec
    text = (spec or "local").strip()
    if text == "local" or text.startswith("local:"):
        n = text.partition(":")[2]
        if n and not n.isdigit():
            raise SpecError.build(
                f"The engine {text!r} has a bad thread count",
                expected="'local' or 'local:N' with N a whole number",
                got=text,
                fix="Write for example engine: local:2",
            )
        if n:
            options.setdefault("max_workers", int(n))
        return LocalEngine(**options)
    for prefix in ("dask://", "tcp://", "tls://"):
        if text.startswith(prefix):
            address = text[len("dask://") :] if prefix == "dask://" else text
            return DaskEngine(address, **options)
    raise SpecError.build(
        "The engine is not one civicml knows",
        expected="'local', 'local:N' or 'dask://HOST:PORT'",
        got=text,
        fix="Set engine: in civicml.yaml (or --engine) to one of them",
    )
