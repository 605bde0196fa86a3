"""Deployment bundles: a Dockerfile for ``civicml serve``, Kubernetes and KServe manifests."""

from civicml.deploy._generate import DeployFiles, generate_deployment
from civicml.deploy._validate import (
    kserve_schema,
    kserve_source,
    lint_dockerfile,
    openapi_to_jsonschema,
    validate_deployment,
    validate_kserve,
    validate_kubernetes,
)

__all__ = [
    "DeployFiles",
    "generate_deployment",
    "kserve_schema",
    "kserve_source",
    "lint_dockerfile",
    "openapi_to_jsonschema",
    "validate_deployment",
    "validate_kserve",
    "validate_kubernetes",
]
