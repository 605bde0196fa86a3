"""Building the app from a model source and running it under uvicorn."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from civicml.asgi import (
    Authenticator,
    HashedTokenVerifier,
    RequestContext,
    TokenVerifier,
    configure_logging,
    error_body,
    hsts_headers,
    send_response,
)
from civicml.registry import in_scope
from civicml.serve._app import ServingApp
from civicml.serve._decision_log import DecisionLog
from civicml.serve._governance import open_serving_registry, record_deletion
from civicml.serve._reload import BundleSource, ModelHolder, ModelSource
from civicml.serve._runtime import ServeOptions

__all__ = [
    "CONFIG_ENV",
    "BanditsOnlyApp",
    "app_from_env",
    "build_app",
    "create_app",
    "run_server",
]

TOKEN_HASH_ENV = "CIVICML_SERVE_TOKEN_HASH"
#: JSON serving config that :func:`app_from_env` reads in each uvicorn worker process.
CONFIG_ENV = "CIVICML_SERVE_CONFIG"
APP_FACTORY = "civicml.serve._server:app_from_env"
BANDITS_PREFIX = "/bandits/"
_log = logging.getLogger("civicml.serve")


def create_app(
    source: ModelSource | str | Path,
    *,
    verifier: TokenVerifier | None = None,
    options: ServeOptions | None = None,
    decision_log: str | Path | DecisionLog | None = None,
    poll_seconds: float = 10.0,
    access_log: bool = False,
    load: bool = True,
    override_digest: str | None = None,
) -> ServingApp:
    """The serving ASGI app for a model source (or a bundle folder).

    Parameters
    ----------
    source : ModelSource or path
        Where the model comes from; a path serves that bundle folder.
    verifier : TokenVerifier, optional
        Checks bearer tokens (e.g. ``registry.verify_token``). Defaults to the salted hashes in
        ``$CIVICML_SERVE_TOKEN_HASH``; with neither, every authenticated route answers 401.
    options : ServeOptions, optional
        Validation policies, micro-batching, body limits, oversight mode.
    decision_log : path or DecisionLog, optional
        Folder for the decision log (Parquet files rolled by size and time).
    poll_seconds : float
        How often to check for a moved alias or replaced bundle (0: never).
    access_log : bool
        Log every request, not just errors.
    load : bool
        Load and verify the model now (else at ASGI startup).
    override_digest : str, optional
        The version an ``allow_unapproved`` override was already audited for (the workers of
        ``civicml serve --workers N``): it covers that version only and is not recorded again.

    Examples
    --------
    >>> app = create_app("no/such/bundle", load=False)
    >>> type(app).__name__
    'ServingApp'
    """
    src: ModelSource = BundleSource(source) if isinstance(source, (str, Path)) else source
    if verifier is None and os.environ.get(TOKEN_HASH_ENV):
        verifier = HashedTokenVerifier.from_env(os.environ[TOKEN_HASH_ENV])
    holder = ModelHolder(src, options, poll_seconds=poll_seconds, override_digest=override_digest)
    if load:
        holder.load()
        _freeze_heap()
    log = DecisionLog(decision_log) if isinstance(decision_log, (str, Path)) else decision_log
    return ServingApp(holder, verifier, decision_log=log, access_log=access_log)


def _freeze_heap() -> None:
    """Move everything loaded so far (the model, scikit-learn, and the torch that skops's
    import pulls in: over 300,000 objects) out of the garbage collector's sight. A full
    collection over them took ~170 ms, and one request in a hundred waited for it (p99 over
    100 ms at 2,500 requests/s); what requests allocate is still collected as usual."""
    import gc

    gc.collect()
    gc.freeze()


def build_app(config: Mapping[str, Any]) -> ServingApp | BanditsOnlyApp:
    """The app from a plain serving config (what ``civicml serve`` passes to its workers).

    Keys: ``bundle`` (folder) or ``model`` (``NAME@ALIAS``) with ``registry`` and
    ``project_dir``; ``options`` (:class:`ServeOptions` fields); ``decision_log`` (folder) and
    ``log_retention_days``;
    ``poll_seconds``; ``access_log``; ``bandits`` (a bandit store URI: the bandit endpoints are
    served under ``/bandits/`` with the same tokens). With a registry, tokens are checked against it; else
    against ``$CIVICML_SERVE_TOKEN_HASH``. A ``registry`` that is an ``http(s)://`` URL is a
    ``civicml server`` (see ``open_serving_registry``), and tokens are then checked against
    ``$CIVICML_SERVE_TOKEN_HASH``.
    """
    from civicml.serve._reload import RegistrySource

    options = ServeOptions(**dict(config.get("options") or {}))
    unapproved = options.allow_unapproved
    verifier: TokenVerifier | None = None
    source: ModelSource | str
    reg = None
    project_dir = Path(config.get("project_dir", "."))
    if config.get("model") or not os.environ.get(TOKEN_HASH_ENV):
        reg = open_serving_registry(
            config.get("registry"), project_dir, allow_unapproved=unapproved
        )
        # a civicml server does not lend its token table: callers' tokens are then checked
        # against $CIVICML_SERVE_TOKEN_HASH
        verifier = getattr(reg, "verify_token", None)
        if verifier is not None and config.get("model"):
            verifier = ModelScopedVerifier(verifier, str(config["model"]).split("@", 1)[0])
    elif config.get("bundle") and _has_registry(config.get("registry"), project_dir):
        reg = open_serving_registry(  # a registered bundle is gated too
            config.get("registry"), project_dir, allow_unapproved=unapproved
        )
    if not config.get("bundle") and not config.get("model"):
        if not config.get("bandits"):
            raise ValueError("a serving config needs 'bundle', 'model' or 'bandits'")
        return BanditsOnlyApp(_bandit_app(config["bandits"], Authenticator(_from_env(verifier))))
    if config.get("bundle"):
        source = BundleSource(str(config["bundle"]), registry=reg)
    else:
        assert reg is not None
        source = RegistrySource(reg, str(config["model"]))
    folder, log = config.get("decision_log"), None
    if folder is not None:  # deletions under the retention period go into the registry's audit
        days = config.get("log_retention_days")
        audit = (
            functools.partial(record_deletion, reg, Path(str(folder)).name)
            if getattr(reg, "store", None) is not None
            else None
        )
        log = DecisionLog(
            str(folder), retention_days=None if days is None else float(days), on_delete=audit
        )
    app = create_app(
        source,
        verifier=verifier,
        options=options,
        decision_log=log or folder,
        poll_seconds=float(config.get("poll_seconds", 10.0)),
        access_log=bool(config.get("access_log", False)),
        override_digest=config.get("override_digest"),
    )
    if config.get("bandits"):
        app.mount(BANDITS_PREFIX, _bandit_app(config["bandits"], app.auth))
    return app


def _has_registry(uri: str | None, project_dir: Path) -> bool:
    """Whether a registry is configured or the project's default one exists."""
    default = project_dir.resolve() / ".civicml" / "registry.db"
    return bool(uri or os.environ.get("CIVICML_REGISTRY")) or default.exists()


class ModelScopedVerifier:
    """A registry's token check narrowed to one served model: a token limited to other models
    (``civicml tokens create --models/--team``) is no credential here.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> tokens = {"a": NS(models=("benefits-*",)), "b": NS(models=()), "c": NS(models=("x",))}
    >>> check = ModelScopedVerifier(tokens.get, "benefits-claims")
    >>> [check(t) is not None for t in ("a", "b", "c", "nope")]
    [True, True, False, False]
    """

    def __init__(self, verify: Any, model: str) -> None:
        self.verify, self.model = verify, model

    def __call__(self, token: str) -> Any:
        info = self.verify(token)
        if info is None or not in_scope(self.model, getattr(info, "models", ()) or ()):
            return None
        return info


def _from_env(verifier: TokenVerifier | None) -> TokenVerifier | None:
    if verifier is None and os.environ.get(TOKEN_HASH_ENV):
        return HashedTokenVerifier.from_env(os.environ[TOKEN_HASH_ENV])
    return verifier


def _bandit_app(store_uri: str, auth: Authenticator) -> Any:
    """The bandit surface over ``store_uri``, sharing this server's ``auth``.

    Imported here, only when ``--bandits`` is given, so a model-only server never loads the
    bandit stack (mabwiser).
    """
    from civicml.bandits import bandit_mount

    return bandit_mount(store_uri, auth)


class BanditsOnlyApp:
    """``civicml serve --bandits URL`` with no model: the bandit endpoints under ``/bandits/``
    (bearer tokens, checked by the bandit app) and the two health probes, which need none.

    Examples
    --------
    >>> import asyncio
    >>> sent = []
    >>> async def send(msg): sent.append(msg)
    >>> scope = {"type": "http", "path": "/v2/health/ready", "method": "GET", "headers": []}
    >>> asyncio.run(BanditsOnlyApp(None)(scope, None, send))
    >>> sent[0]["status"], sent[1]["body"]
    (200, b'{"ready":true}')
    """

    def __init__(self, bandits: Any) -> None:
        self.bandits = bandits
        self._mounted = (
            None
            if bandits is None
            else RequestContext(bandits, logger=_log, route=getattr(bandits, "route_of", None))
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if self._mounted is not None and (
            scope["type"] == "lifespan" or path.startswith(BANDITS_PREFIX)
        ):
            await self._mounted(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        if path in ("/v2/health/live", "/v2/health/ready"):
            status, body = 200, b'{"live":true}' if path.endswith("live") else b'{"ready":true}'
        else:
            status = 404
            body = error_body("There is no such endpoint: this server holds bandits only.")
        await send_response(send, status, body, extra=hsts_headers(scope))


def app_from_env() -> ServingApp | BanditsOnlyApp:
    """uvicorn app factory for ``--workers N``: rebuild the app from ``$CIVICML_SERVE_CONFIG``."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"${CONFIG_ENV} is not set; start workers with 'civicml serve'.")
    return build_app(json.loads(raw))


def run_server(
    app: ServingApp | BanditsOnlyApp | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    certfile: str | None = None,
    keyfile: str | None = None,
    log_level: str = "info",
    app_factory: str | None = None,
) -> None:
    """Serve ``app`` with uvicorn (httptools when installed); blocks until shut down.

    With ``workers > 1`` uvicorn needs an import string: ``app_factory`` (``"module:function"``,
    by default :func:`app_from_env`, which reads ``$CIVICML_SERVE_CONFIG``) builds the app in
    each worker process. TCP_NODELAY is on: asyncio's TCP transport sets it on every accepted
    connection, so a response never waits on Nagle + delayed ACK.
    """
    import uvicorn

    configure_logging(log_level)
    kwargs: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 30,
        "log_config": None,
        "server_header": False,
    }
    if certfile:
        kwargs["ssl_certfile"] = certfile
        kwargs["ssl_keyfile"] = keyfile
    try:
        import httptools  # noqa: F401

        kwargs["http"] = "httptools"
    except ImportError:  # pragma: no cover - h11 is slower but correct
        kwargs["http"] = "h11"
    if workers > 1 or app is None:
        uvicorn.run(app_factory or APP_FACTORY, factory=True, workers=workers, **kwargs)
    else:
        uvicorn.run(app, **kwargs)
