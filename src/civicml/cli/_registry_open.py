"""Opening the registry the CLI options name, and saying who acted: shared by every command that
reads or writes the registry (``models``, ``tokens``, ``keys``, ``atrs``, ``run`` and others).

The registry itself is imported inside each function so ``civicml --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from civicml.cli._common import current_actor, identity_note, is_remote

if TYPE_CHECKING:
    from civicml.registry import Actor, ModelVersion, Registry, RemoteRegistry

__all__ = ["acted", "default_actor", "open_from_cli", "register_remote"]


def default_actor(by: str | None = None) -> Actor:
    """The acting :class:`~civicml.registry.Actor`: the OS login, unverified.

    ``by`` is never used: the hidden ``--by`` option refuses any value before a command runs
    (a ``civicml server`` takes identity from the token and ignores the actor a client sends).
    """
    return current_actor()


def open_from_cli(
    registry: str | None, artifacts: str | None, project_dir: Path
) -> Registry | RemoteRegistry:
    """Open the registry the CLI options name: a ``civicml server`` for an ``http(s)://`` URL
    (authenticated with ``$CIVICML_TOKEN``), else the embedded database."""
    from civicml.registry import RemoteRegistry, open_registry

    if is_remote(registry):
        import os

        return RemoteRegistry(
            registry or os.environ["CIVICML_REGISTRY"], cache_dir=project_dir / ".civicml" / "cache"
        )
    opened = open_registry(registry, artifacts=artifacts, project_dir=project_dir)
    opened.atrs_check = _atrs_gaps
    return opened


def _atrs_gaps(registry: Registry, version: ModelVersion) -> list[str]:
    """The ATRS record's gaps before a serving alias (the dashboard's code, loaded on use)."""
    from civicml.web import atrs_gaps

    return atrs_gaps(registry, version)


def register_remote(registry: str | None, bundle: Path, name: str, reason: str) -> ModelVersion:
    """Register a job's bundle on the ``civicml server`` that ``registry`` names, as whoever
    ``$CIVICML_TOKEN`` belongs to (``civicml run``, ``pipeline run`` and bandit runs)."""
    with open_from_cli(registry, None, Path(".")) as reg:
        return reg.register(bundle, name, actor=current_actor(), reason=reason)


def acted(reg: Registry | RemoteRegistry) -> str:
    """``alice (OS login, not verified by a server)``: who acted and how far that was checked."""
    actor = current_actor(reg)
    return f"{actor.name} ({identity_note(actor)})"
