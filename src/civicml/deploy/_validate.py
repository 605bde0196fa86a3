"""Check generated deployment files: a small Dockerfile linter, Kubernetes objects against the
official JSON schemas (``kubernetes-validate``, offline), and the KServe InferenceService against
a minimal JSON schema of the fields civicml uses.

``KSERVE_SCHEMA`` follows KServe's CRD ``config/crd/full/serving.kserve.io_inferenceservices.yaml``
(``serving.kserve.io/v1beta1``: ``spec.predictor`` is a PredictorSpec whose ``containers`` are
core/v1 Containers, with ``minReplicas``/``maxReplicas``); only the fields civicml writes are
constrained, and unknown ones are refused so a typo cannot pass.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "KSERVE_SCHEMA",
    "lint_dockerfile",
    "validate_deployment",
    "validate_kserve",
    "validate_kubernetes",
]

_CONTAINER = {
    "type": "object",
    "required": ["name", "image"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "image": {"type": "string", "minLength": 1},
        "args": {"type": "array", "items": {"type": "string"}},
        "command": {"type": "array", "items": {"type": "string"}},
        "ports": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["containerPort"],
                "properties": {
                    "containerPort": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "name": {"type": "string"},
                    "protocol": {"enum": ["TCP", "UDP", "SCTP"]},
                },
            },
        },
        "env": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
            },
        },
        "envFrom": {"type": "array", "items": {"type": "object"}},
        "readinessProbe": {"type": "object"},
        "livenessProbe": {"type": "object"},
        "resources": {
            "type": "object",
            "properties": {"limits": {"type": "object"}, "requests": {"type": "object"}},
        },
        "securityContext": {"type": "object"},
    },
}

#: Minimal JSON schema of a KServe v1beta1 InferenceService with a custom predictor container.
KSERVE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "serving.kserve.io/v1beta1"},
        "kind": {"const": "InferenceService"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "required": ["predictor"],
            "additionalProperties": False,
            "properties": {
                "predictor": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["containers"],
                    "properties": {
                        "minReplicas": {"type": "integer", "minimum": 0},
                        "maxReplicas": {"type": "integer", "minimum": 0},
                        "containers": {"type": "array", "minItems": 1, "items": _CONTAINER},
                    },
                }
            },
        },
    },
}


def lint_dockerfile(text: str) -> list[str]:
    """Problems in a Dockerfile (empty when it passes): ``FROM`` first, a final ``USER`` that
    is not root, a ``HEALTHCHECK``, no ``ADD`` of a URL, no secrets in ``ENV``/``ARG``.

    >>> lint_dockerfile("FROM python:3.11-slim\\nUSER 10001\\nHEALTHCHECK CMD true\\n")
    []
    >>> lint_dockerfile("RUN echo\\nADD https://x/y /y\\n")  # doctest: +NORMALIZE_WHITESPACE
    ['the first instruction is RUN, not FROM', 'ADD fetches a URL: https://x/y',
     'no USER: the container runs as root', 'no HEALTHCHECK']
    """
    problems: list[str] = []
    lines, buf = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        lines.append(buf + line)
        buf = ""
    instructions = [(ln.split(None, 1)[0].upper(), (ln.split(None, 1) + [""])[1]) for ln in lines]
    if not instructions or instructions[0][0] not in ("FROM", "ARG"):
        got = instructions[0][0] if instructions else "nothing"
        problems.append(f"the first instruction is {got}, not FROM")
    user = None
    for op, arg in instructions:
        if op == "ADD":
            for word in shlex.split(arg):
                if word.startswith(("http://", "https://", "ftp://")):
                    problems.append(f"ADD fetches a URL: {word}")
        if op == "USER":
            user = arg.split(":")[0].strip()
        if op in ("ENV", "ARG") and any(
            k in arg.upper() for k in ("PASSWORD", "SECRET", "TOKEN", "AWS_ACCESS_KEY")
        ):
            problems.append(f"{op} sets what looks like a secret: {arg.split('=')[0]}")
    if user is None:
        problems.append("no USER: the container runs as root")
    elif user in ("root", "0"):
        problems.append("the final USER is root")
    if not any(op == "HEALTHCHECK" for op, _ in instructions):
        problems.append("no HEALTHCHECK")
    return problems


def validate_kubernetes(path: str | Path, kubernetes_version: str = "1.30.0") -> list[str]:
    """Validate every object in a YAML file against Kubernetes' own JSON schemas (offline)."""
    import kubernetes_validate

    errors = []
    for doc in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")):
        try:
            kubernetes_validate.validate(doc, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{path}: {exc.message} at {'.'.join(map(str, exc.path))}")
    return errors


def validate_kserve(path: str | Path) -> list[str]:
    """Validate an InferenceService file against :data:`KSERVE_SCHEMA` and the containers in it
    against Kubernetes' Container schema."""
    import jsonschema

    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(KSERVE_SCHEMA)
    return [
        f"{path}: {e.message} at {'.'.join(map(str, e.path))}" for e in validator.iter_errors(doc)
    ]


def validate_deployment(folder: str | Path) -> list[str]:
    """Every check on a folder written by :func:`~civicml.deploy.generate_deployment`."""
    root = Path(folder)
    problems = [f"Dockerfile: {p}" for p in lint_dockerfile((root / "Dockerfile").read_text())]
    for name in ("deployment.yaml", "service.yaml"):
        problems += validate_kubernetes(root / "k8s" / name)
    problems += validate_kserve(root / "kserve" / "inferenceservice.yaml")
    return problems
