"""Opening a registry: the database URL and artifact store from settings, and its audit key.

:func:`open_registry` is how every face (CLI, dashboard, server, workflow) gets a
:class:`~civicml.registry.Registry`; the key that MACs its audit log is found (or created) here,
never in the database.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import civicml.registry._governance as gov
from civicml.registry._artifacts import ArtifactStore
from civicml.registry._audit import KEY_FILE_ENV, load_audit_key
from civicml.registry._registry import Registry
from civicml.registry._sql import SQLStore

__all__ = ["attach_audit_key", "default_key_file", "open_registry"]


def open_registry(
    uri: str | None = None,
    *,
    artifacts: str | None = None,
    project_dir: str | Path = ".",
    storage_options: Mapping[str, Any] | None = None,
    token_ttl: float = 30.0,
    non_serving_aliases: str | Iterable[str] | None = None,
    server: bool = False,
) -> Registry:
    """Connect to a registry, migrating its database to the newest schema.

    Parameters
    ----------
    uri : str, optional
        ``sqlite:///PATH``, ``sqlite://`` (in memory) or ``postgresql://USER@HOST:PORT/DB``.
        Defaults to ``$CIVICML_REGISTRY`` or ``sqlite:///<project_dir>/.civicml/registry.db``.
    artifacts : str, optional
        Where bundles are stored: a folder, ``file://``, ``s3://BUCKET/PREFIX`` or
        ``memory://``. Defaults to ``$CIVICML_ARTIFACTS`` or ``<project_dir>/.civicml/artifacts``.
    project_dir : path
        The project folder whose ``.civicml/`` holds the defaults and the download cache.
    storage_options : mapping, optional
        fsspec options for the artifact store (e.g. an S3 endpoint and keys).
    token_ttl : float
        Seconds a verified API token stays cached in memory.
    non_serving_aliases : str or iterable of str, optional
        The aliases that never serve, so any version not rejected may take them (a string is
        comma-separated). Defaults to ``$CIVICML_NON_SERVING_ALIASES`` or ``staging`` and
        ``challenger``. Every other alias is a serving alias and needs an approved version with
        the full governance record; ``production`` is always serving.
    server : bool
        True only inside ``civicml server``: every write then needs a verified
        :class:`~civicml.registry.Actor` (embedded mode records names it cannot verify).

    The audit key comes from ``$CIVICML_AUDIT_KEY`` (hex), else ``$CIVICML_AUDIT_KEY_FILE``,
    else :func:`default_key_file` (beside a SQLite file), created (mode 0600) for a log that
    has none yet. An in-memory registry gets a key that lives as long as it does.
    """
    base = Path(project_dir).resolve() / ".civicml"
    uri = uri or os.environ.get("CIVICML_REGISTRY") or f"sqlite:///{base / 'registry.db'}"
    artifacts = artifacts or os.environ.get("CIVICML_ARTIFACTS") or str(base / "artifacts")
    if non_serving_aliases is None:
        non_serving_aliases = os.environ.get(gov.NON_SERVING_ENV)
    store = SQLStore(uri)
    registry = Registry(
        store,
        ArtifactStore(artifacts, storage_options),
        cache_dir=base / "cache",
        token_ttl=token_ttl,
        non_serving_aliases=non_serving_aliases,
        server=server,
    )
    store.connect()
    attach_audit_key(registry, os.environ.get(KEY_FILE_ENV) or default_key_file(store.url, base))
    return registry


def default_key_file(url: str, civicml_dir: Path) -> Path | None:
    """Where the audit key of the registry at ``url`` lives unless configured: beside a SQLite
    file (``registry.db`` → ``registry.audit.key``), so every project that opens that file
    shares it; ``None`` in memory (the key lives as long as the registry); for a server
    database, ``<project>/.civicml/audit.key`` (set ``$CIVICML_AUDIT_KEY_FILE`` when several
    projects or machines share one).

    >>> default_key_file("sqlite:////srv/reg/registry.db", Path("/p/.civicml")).as_posix()
    '/srv/reg/registry.audit.key'
    >>> default_key_file("sqlite://", Path("/p/.civicml")) is None
    True
    >>> default_key_file("postgresql://db/civicml", Path("/p/.civicml")).as_posix()
    '/p/.civicml/audit.key'
    """
    if url.rstrip("/") in ("sqlite:", "sqlite://"):
        return None
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///") :].split("?", 1)[0])
        return db.with_name(f"{db.stem}.audit.key")
    return civicml_dir / "audit.key"


def attach_audit_key(registry: Registry, key_file: str | Path | None) -> None:
    """Load the audit key into ``registry`` (creating one for a log that has none yet).

    A log that already carries MACs but whose key cannot be found is left keyless with
    :attr:`Registry.key_problem` set: it verifies as broken and refuses writes until the key is
    restored. A log without MACs (new, or written before keys) gets a new key whose MACs start
    at the next event.
    """
    key = load_audit_key(key_file)
    if key is None and registry.store.has_keyed_events():
        where = key_file or "$CIVICML_AUDIT_KEY"
        registry.key_problem = (
            f"The audit log was written under an audit key, but no key was found at {where}"
        )
    elif key is None:
        head = registry.store.audit_head()
        key = load_audit_key(key_file, create_since=(head[0] if head else 0) + 1)
    registry.audit_key = key
    registry.store.audit_key = key  # type: ignore[attr-defined]
