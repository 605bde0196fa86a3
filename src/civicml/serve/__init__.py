"""Serving: Open Inference Protocol v2, MLflow-style /invocations, auth, validation, decision log,
review queue."""

from civicml.asgi import (
    HashedTokenVerifier,
    RateLimiter,
    StaticToken,
    TokenInfoLike,
    TokenVerifier,
    hash_token,
)
from civicml.serve._app import ServingApp
from civicml.serve._batching import MicroBatcher
from civicml.serve._decision_log import REDACTED, DecisionLog, read_decision_log
from civicml.serve._disposal import DISPOSAL_ACTION, dispose_retired
from civicml.serve._governance import Governance
from civicml.serve._launch import ServerOptions, bundle_name, serve_forever
from civicml.serve._log_key import LOG_KEY_ENV, LOG_KEY_FILE_ENV, LogHasher, load_log_key
from civicml.serve._metrics import Metrics
from civicml.serve._reload import BundleSource, ModelHolder, ModelSource, RegistrySource
from civicml.serve._retention import RETENTION_ENV, apply_retention, read_deletions
from civicml.serve._reviews import ReviewQueue
from civicml.serve._runtime import ModelRuntime, ServeOptions
from civicml.serve._server import BanditsOnlyApp, build_app, create_app, run_server
from civicml.serve._validate import InputSchema, ValidationFailed

__all__ = [
    "DISPOSAL_ACTION",
    "LOG_KEY_ENV",
    "LOG_KEY_FILE_ENV",
    "REDACTED",
    "RETENTION_ENV",
    "BanditsOnlyApp",
    "BundleSource",
    "DecisionLog",
    "Governance",
    "HashedTokenVerifier",
    "InputSchema",
    "LogHasher",
    "Metrics",
    "MicroBatcher",
    "ModelHolder",
    "ModelRuntime",
    "ModelSource",
    "RateLimiter",
    "RegistrySource",
    "ReviewQueue",
    "ServeOptions",
    "ServerOptions",
    "ServingApp",
    "StaticToken",
    "TokenInfoLike",
    "TokenVerifier",
    "ValidationFailed",
    "apply_retention",
    "dispose_retired",
    "build_app",
    "bundle_name",
    "create_app",
    "hash_token",
    "load_log_key",
    "read_deletions",
    "read_decision_log",
    "run_server",
    "serve_forever",
]
