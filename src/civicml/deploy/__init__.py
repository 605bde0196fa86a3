"""Deployment bundles: a Dockerfile for ``civicml serve``, Kubernetes and KServe manifests."""

from civicml.deploy._generate import (
    DEFAULT_STATE_DIR,
    DeployFiles,
    DeployOptions,
    generate_deployment,
)
from civicml.deploy._needs import BundleNeeds, bundle_needs
from civicml.deploy._source import CivicmlSource, civicml_source
from civicml.deploy._validate import (
    kserve_schema,
    kserve_source,
    lint_dockerfile,
    openapi_to_jsonschema,
    unwritable_paths,
    validate_deployment,
    validate_kserve,
    validate_kubernetes,
)

__all__ = [
    "DEFAULT_STATE_DIR",
    "BundleNeeds",
    "CivicmlSource",
    "DeployFiles",
    "DeployOptions",
    "bundle_needs",
    "civicml_source",
    "generate_deployment",
    "kserve_schema",
    "kserve_source",
    "lint_dockerfile",
    "openapi_to_jsonschema",
    "unwritable_paths",
    "validate_deployment",
    "validate_kserve",
    "validate_kubernetes",
]
