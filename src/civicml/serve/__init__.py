"""Serving: Open Inference Protocol v2, MLflow-style /invocations, auth, validation, decision log."""

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
from civicml.serve._governance import Governance
from civicml.serve._launch import ServerOptions, bundle_name, serve_forever
from civicml.serve._metrics import Metrics
from civicml.serve._reload import BundleSource, ModelHolder, ModelSource, RegistrySource
from civicml.serve._runtime import ModelRuntime, ServeOptions
from civicml.serve._server import BanditsOnlyApp, build_app, create_app, run_server
from civicml.serve._validate import InputSchema, ValidationFailed

__all__ = [
    "REDACTED",
    "BanditsOnlyApp",
    "BundleSource",
    "DecisionLog",
    "Governance",
    "HashedTokenVerifier",
    "InputSchema",
    "Metrics",
    "MicroBatcher",
    "ModelHolder",
    "ModelRuntime",
    "ModelSource",
    "RateLimiter",
    "RegistrySource",
    "ServeOptions",
    "ServerOptions",
    "ServingApp",
    "StaticToken",
    "TokenInfoLike",
    "TokenVerifier",
    "ValidationFailed",
    "build_app",
    "bundle_name",
    "create_app",
    "hash_token",
    "read_decision_log",
    "run_server",
    "serve_forever",
]
