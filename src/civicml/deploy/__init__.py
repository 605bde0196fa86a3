"""Deployment bundles: a Dockerfile for ``civicml serve``, Kubernetes and KServe manifests."""

from civicml.deploy._generate import DeployFiles, generate_deployment
from civicml.deploy._validate import (
    KSERVE_SCHEMA,
    lint_dockerfile,
    validate_deployment,
    validate_kserve,
    validate_kubernetes,
)

__all__ = [
    "KSERVE_SCHEMA",
    "DeployFiles",
    "generate_deployment",
    "lint_dockerfile",
    "validate_deployment",
    "validate_kserve",
    "validate_kubernetes",
]
