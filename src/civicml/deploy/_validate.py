"""Check generated deployment files: a small Dockerfile linter, Kubernetes objects against the
official JSON schemas (``kubernetes-validate``, offline), and the KServe InferenceService against
KServe's own CRD schema.

The KServe schema is vendored from KServe's CRD (``schemas/kserve_inferenceservice_v1beta1.json``:
the ``v1beta1`` ``openAPIV3Schema``, with subtrees civicml never writes pruned to permissive
placeholders; ``schemas/README.md`` says which commit and what was kept). :func:`kserve_schema`
turns that OpenAPI v3 schema into a JSON Schema the way the API server applies it under strict
field validation, so an unknown or misspelt field is refused as ``kubectl apply`` would refuse it.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shlex
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "kserve_schema",
    "kserve_source",
    "lint_dockerfile",
    "openapi_to_jsonschema",
    "unwritable_paths",
    "validate_deployment",
    "validate_kserve",
    "validate_kubernetes",
]

KSERVE_SCHEMA_FILE = "kserve_inferenceservice_v1beta1.json"
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def openapi_to_jsonschema(node: Any, *, strict: bool = True) -> Any:
    """Turn a Kubernetes structural OpenAPI v3 schema into a JSON Schema (draft 2020-12).

    * An object with ``properties`` and neither ``additionalProperties`` nor
      ``x-kubernetes-preserve-unknown-fields: true`` refuses unknown fields when ``strict`` (the
      API server's strict field validation, ``kubectl apply``'s default).
    * ``format: int32`` / ``int64`` on an integer become ``minimum`` / ``maximum``.
    * ``nullable: true`` adds ``null`` to the type.
    * ``x-kubernetes-int-or-string`` needs nothing: the CRD already writes it as
      ``anyOf: [integer, string]``; the other ``x-kubernetes-*`` keys (list and map merge types)
      and ``x-civicml-pruned`` are dropped.

    >>> openapi_to_jsonschema({"type": "object", "properties": {"n": {"type": "integer",
    ...     "format": "int32"}}, "x-kubernetes-map-type": "atomic"})  # doctest: +NORMALIZE_WHITESPACE
    {'type': 'object', 'properties': {'n': {'type': 'integer', 'minimum': -2147483648,
     'maximum': 2147483647}}, 'additionalProperties': False}
    """
    if isinstance(node, list):
        return [openapi_to_jsonschema(v, strict=strict) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in ("format", "nullable", "default"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {k: openapi_to_jsonschema(v, strict=strict) for k, v in value.items()}
        else:
            out[key] = openapi_to_jsonschema(value, strict=strict)
    fmt = node.get("format")
    if node.get("type") == "integer" and fmt in _INT_BOUNDS:
        out["minimum"], out["maximum"] = _INT_BOUNDS[fmt]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if strict and "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


@functools.cache
def _kserve_raw() -> dict[str, Any]:
    text = (
        resources.files("civicml.deploy")
        .joinpath("schemas", KSERVE_SCHEMA_FILE)
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


def kserve_schema() -> dict[str, Any]:
    """The JSON Schema that :func:`validate_kserve` checks an InferenceService against: KServe's
    ``v1beta1`` CRD schema (vendored, see ``schemas/README.md``) through
    :func:`openapi_to_jsonschema`, with ``apiVersion`` and ``kind`` pinned.

    >>> s = kserve_schema()
    >>> s["properties"]["spec"]["properties"]["predictor"]["properties"]["scaleMetric"]["enum"]
    ['cpu', 'memory', 'concurrency', 'rps']
    """
    schema = openapi_to_jsonschema(copy.deepcopy(_kserve_raw()["openAPIV3Schema"]))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    # The CRD serves this schema only for serving.kserve.io/v1beta1 InferenceService objects.
    schema["properties"]["apiVersion"] = {"const": "serving.kserve.io/v1beta1"}
    schema["properties"]["kind"] = {"const": "InferenceService"}
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return schema


def kserve_source() -> dict[str, str]:
    """Where the vendored KServe schema comes from (repository, path, commit, licence)."""
    return dict(_kserve_raw()["_source"])


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
    """Validate an InferenceService file against KServe's CRD schema (:func:`kserve_schema`).

    ``metadata`` is an opaque object in a CRD schema; the API server checks it as ObjectMeta, so
    its ``name`` is also checked here as a DNS-1035 label (KServe's rule for the name: it becomes
    a Service name).
    """
    import jsonschema

    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(kserve_schema())
    problems = [
        f"{path}: {e.message} at {'.'.join(map(str, e.absolute_path)) or '(top)'}"
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]
    name = (doc.get("metadata") or {}).get("name") if isinstance(doc, dict) else None
    if isinstance(name, str) and not _DNS_LABEL.match(name):
        problems.append(
            f"{path}: metadata.name {name!r} is not a DNS-1035 label ([a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters)"
        )
    return problems


_WRITES_UNDER = ("--project-dir", "--log-dir")


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment or a KServe predictor (empty for anything else)."""
    if doc.get("kind") == "Deployment":
        return dict(doc.get("spec", {}).get("template", {}).get("spec", {}) or {})
    if doc.get("kind") == "InferenceService":
        return dict(doc.get("spec", {}).get("predictor", {}) or {})
    return {}


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def unwritable_paths(doc: dict[str, Any]) -> list[str]:
    """Paths ``civicml serve`` writes that a read-only root filesystem would refuse.

    For each container with ``readOnlyRootFilesystem``, ``/tmp``, ``$HOME`` and the folders
    its ``serve`` arguments write to (``--project-dir``, where ``.civicml/`` goes, and
    ``--log-dir``) must each be under a writable volume mount of a volume the pod declares;
    without ``--project-dir`` serve writes ``.civicml/`` in the image's working directory.

    >>> for p in unwritable_paths({"kind": "Deployment", "spec": {"template": {"spec": {
    ...     "containers": [{"name": "c", "args": ["serve", "--model", "m@production"],
    ...                     "securityContext": {"readOnlyRootFilesystem": True}}]}}}}):
    ...     print(p)
    container c: /tmp is on the read-only root filesystem (mount a volume there)
    container c: serve has no --project-dir, so it writes .civicml/ in the working directory of a read-only root filesystem
    """
    pod = _pod(doc)
    declared = {v.get("name") for v in pod.get("volumes") or [] if isinstance(v, dict)}
    problems: list[str] = []
    for c in pod.get("containers") or []:
        if not (c.get("securityContext") or {}).get("readOnlyRootFilesystem"):
            continue
        mounts = [
            str(m["mountPath"])
            for m in c.get("volumeMounts") or []
            if not m.get("readOnly") and m.get("name") in declared and m.get("mountPath")
        ]
        args = [str(a) for a in c.get("args") or []]
        env = {e.get("name"): e.get("value") for e in c.get("env") or [] if isinstance(e, dict)}
        home = env.get("HOME")
        paths = ["/tmp"] + ([str(home)] if home else [])
        paths += [args[i + 1] for i, a in enumerate(args[:-1]) if a in _WRITES_UNDER]
        for path in paths:
            if not any(_under(path, m) for m in mounts):
                problems.append(
                    f"container {c.get('name')}: {path} is on the read-only root filesystem "
                    "(mount a volume there)"
                )
        if "serve" in args and "--project-dir" not in args:
            problems.append(
                f"container {c.get('name')}: serve has no --project-dir, so it writes .civicml/ "
                "in the working directory of a read-only root filesystem"
            )
    return problems


def validate_deployment(folder: str | Path) -> list[str]:
    """Every check on a folder written by :func:`~civicml.deploy.generate_deployment`: the
    Dockerfile lint, the schemas, and :func:`unwritable_paths` for both manifests."""
    root = Path(folder)
    problems = [f"Dockerfile: {p}" for p in lint_dockerfile((root / "Dockerfile").read_text())]
    for name in ("deployment.yaml", "service.yaml", "state-pvc.yaml"):
        if name != "state-pvc.yaml" or (root / "k8s" / name).is_file():
            problems += validate_kubernetes(root / "k8s" / name)
    problems += validate_kserve(root / "kserve" / "inferenceservice.yaml")
    for path in (root / "k8s" / "deployment.yaml", root / "kserve" / "inferenceservice.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict):
            problems += [f"{path}: {p}" for p in unwritable_paths(doc)]
    return problems
