"""Serving: Open Inference Protocol v2, MLflow-style /invocations, auth, validation, decision log."""

from civicml.serve._app import ServingApp
from civicml.serve._auth import (
    HashedTokenVerifier,
    RateLimiter,
    StaticToken,
    TokenInfoLike,
    TokenVerifier,
    hash_token,
)
from civicml.serve._batching import MicroBatcher
from civicml.serve._decision_log import REDACTED, DecisionLog, read_decision_log
from civicml.serve._metrics import Metrics
from civicml.serve._reload import BundleSource, ModelHolder, ModelSource, RegistrySource
from civicml.serve._runtime import ModelRuntime, ServeOptions
from civicml.serve._server import create_app, run_server
from civicml.serve._validate import InputSchema, ValidationFailed

__all__ = [
    "REDACTED",
    "BundleSource",
    "DecisionLog",
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
    "ServingApp",
    "StaticToken",
    "TokenInfoLike",
    "TokenVerifier",
    "ValidationFailed",
    "create_app",
    "hash_token",
    "read_decision_log",
    "run_server",
]
