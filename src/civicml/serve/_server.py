"""Building the app from a model source and running it under uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from civicml.serve._app import ServingApp
from civicml.serve._auth import HashedTokenVerifier, TokenVerifier
from civicml.serve._decision_log import DecisionLog
from civicml.serve._reload import BundleSource, ModelHolder, ModelSource
from civicml.serve._runtime import ServeOptions

__all__ = ["create_app", "run_server"]

TOKEN_HASH_ENV = "CIVICML_SERVE_TOKEN_HASH"


def create_app(
    source: ModelSource | str | Path,
    *,
    verifier: TokenVerifier | None = None,
    options: ServeOptions | None = None,
    decision_log: str | Path | DecisionLog | None = None,
    poll_seconds: float = 10.0,
    access_log: bool = False,
    load: bool = True,
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

    Examples
    --------
    >>> app = create_app("no/such/bundle", load=False)
    >>> type(app).__name__
    'ServingApp'
    """
    src: ModelSource = BundleSource(source) if isinstance(source, (str, Path)) else source
    if verifier is None and os.environ.get(TOKEN_HASH_ENV):
        verifier = HashedTokenVerifier.from_env(os.environ[TOKEN_HASH_ENV])
    holder = ModelHolder(src, options, poll_seconds=poll_seconds)
    if load:
        holder.load()
    log = DecisionLog(decision_log) if isinstance(decision_log, (str, Path)) else decision_log
    return ServingApp(holder, verifier, decision_log=log, access_log=access_log)


def run_server(
    app: ServingApp,
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

    With ``workers > 1`` uvicorn needs an import string: pass ``app_factory``
    (``"module:function"``) that builds the app in each worker.
    """
    import uvicorn

    from civicml.serve._logging import configure_logging

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
    if workers > 1 and app_factory:
        uvicorn.run(app_factory, factory=True, workers=workers, **kwargs)
    else:
        uvicorn.run(app, **kwargs)
