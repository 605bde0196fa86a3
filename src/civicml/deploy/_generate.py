"""Generate a deployment bundle for ``civicml serve``: a Dockerfile, a Kubernetes Deployment and
Service, and a KServe InferenceService (civicml speaks the Open Inference Protocol v2).

Nothing secret is written: the registry URL and cloud credentials come from a Kubernetes Secret
(``civicml-registry`` by default) at run time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from civicml._errors import SpecError

__all__ = ["DeployFiles", "generate_deployment"]

_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)@(?P<alias>[A-Za-z0-9][A-Za-z0-9_.-]*)$")


@dataclass(frozen=True)
class DeployFiles:
    """Paths of the generated files."""

    dockerfile: Path
    deployment: Path
    service: Path
    inferenceservice: Path
    readme: Path

    def all(self) -> list[Path]:
        return [self.dockerfile, self.deployment, self.service, self.inferenceservice, self.readme]


def _k8s_name(name: str) -> str:
    """A DNS-1035 label (a Service name must start with a letter)."""
    label = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:50].rstrip("-") or "model"
    return label if label[0].isalpha() else f"m-{label}"


def generate_deployment(
    model: str,
    out: str | Path,
    *,
    image: str | None = None,
    civicml_version: str | None = None,
    secret: str = "civicml-registry",
    port: int = 8080,
    replicas: int = 2,
    cpu: str = "1",
    memory: str = "1Gi",
    namespace: str | None = None,
) -> DeployFiles:
    """Write ``Dockerfile``, ``k8s/deployment.yaml``, ``k8s/service.yaml`` and
    ``kserve/inferenceservice.yaml`` for serving ``model`` (``NAME@ALIAS``) from the registry.

    Parameters
    ----------
    model : str
        ``NAME@ALIAS``, e.g. ``claims@production``.
    out : path
        Output folder (created).
    image : str, optional
        Container image the manifests run (default ``civicml-NAME:latest``; build it from the
        Dockerfile and push it to your registry).
    civicml_version : str, optional
        Pin ``pip install civicml==VERSION`` (default: this civicml's version).
    secret : str
        Kubernetes Secret holding ``CIVICML_REGISTRY``, ``CIVICML_ARTIFACTS`` and the AWS keys.

    Examples
    --------
    >>> import tempfile
    >>> files = generate_deployment("claims@production", tempfile.mkdtemp())
    >>> files.dockerfile.read_text().splitlines()[0]
    'FROM python:3.11-slim'
    >>> generate_deployment("claims", tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    civicml._errors.SpecError: The model to deploy is not NAME@ALIAS. Expected for example 'claims@production'; got 'claims'. Pass the registry name and alias, such as claims@production.
    """
    m = _parse_model(model)
    if civicml_version is None:
        from civicml import __version__

        civicml_version = __version__
    name = _k8s_name(m["name"])
    target = _Target(
        model=model,
        name=name,
        image=image or f"civicml-{name}:latest",
        port=port,
        replicas=replicas,
        resources={"cpu": cpu, "memory": memory},
        secret=secret,
        namespace=namespace,
    )
    root = Path(out)
    (root / "k8s").mkdir(parents=True, exist_ok=True)
    (root / "kserve").mkdir(parents=True, exist_ok=True)
    deployment, service, isvc = _manifests(target)
    files = DeployFiles(
        dockerfile=root / "Dockerfile",
        deployment=root / "k8s" / "deployment.yaml",
        service=root / "k8s" / "service.yaml",
        inferenceservice=root / "kserve" / "inferenceservice.yaml",
        readme=root / "README.md",
    )
    files.dockerfile.write_text(_dockerfile(target, civicml_version), encoding="utf-8")
    for path, doc in (
        (files.deployment, deployment),
        (files.service, service),
        (files.inferenceservice, isvc),
    ):
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    files.readme.write_text(_readme(target), encoding="utf-8")
    return files


def _parse_model(model: str) -> re.Match[str]:
    """``NAME@ALIAS`` split by :data:`_REF`."""
    m = _REF.match(model)
    if not m:
        raise SpecError.build(
            "The model to deploy is not NAME@ALIAS",
            expected="for example 'claims@production'",
            got=model,
            fix="Pass the registry name and alias, such as claims@production",
        )
    return m


@dataclass(frozen=True)
class _Target:
    """What every generated file says about the service: the model, the image and its sizing."""

    model: str
    name: str
    image: str
    port: int
    replicas: int
    resources: dict[str, str]
    secret: str
    namespace: str | None

    @property
    def serve_args(self) -> list[str]:
        return ["serve", "--model", self.model, "--host", "0.0.0.0", "--port", str(self.port)]


def _security() -> dict[str, object]:
    """The container's security context: non-root, read-only, no privileges."""
    return {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _pod_security() -> dict[str, object]:
    return {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _probe(path: str, delay: int) -> dict[str, object]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "initialDelaySeconds": delay,
        "periodSeconds": 10,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }


def _manifests(t: _Target) -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
    """The Kubernetes Deployment and Service and the KServe InferenceService."""
    labels = {"app.kubernetes.io/name": t.name, "app.kubernetes.io/part-of": "civicml"}
    meta: dict[str, object] = {"name": t.name, "labels": labels}
    if t.namespace:
        meta["namespace"] = t.namespace
    env_from: list[dict[str, object]] = [{"secretRef": {"name": t.secret}}]
    security, pod_security = _security(), _pod_security()
    resources: dict[str, object] = {"requests": dict(t.resources), "limits": dict(t.resources)}
    container: dict[str, object] = {
        "name": "civicml",
        "image": t.image,
        "imagePullPolicy": "IfNotPresent",
        "args": t.serve_args,
        "ports": [{"name": "http", "containerPort": t.port, "protocol": "TCP"}],
        "envFrom": env_from,
        "env": [{"name": "HOME", "value": "/tmp"}],
        "readinessProbe": _probe("/v2/health/ready", 5),
        "livenessProbe": _probe("/v2/health/live", 15),
        "resources": resources,
        "securityContext": security,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    deployment: dict[str, object] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": t.replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": t.name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }
    service: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": t.name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    isvc = _inferenceservice(t, meta, env_from, resources, security, pod_security)
    return deployment, service, isvc


def _inferenceservice(
    t: _Target,
    meta: dict[str, object],
    env_from: list[dict[str, object]],
    resources: dict[str, object],
    security: dict[str, object],
    pod_security: dict[str, object],
) -> dict[str, object]:
    """A KServe custom predictor (serving.kserve.io/v1beta1 CRD, spec.predictor.containers).

    KServe reads the protocol of a custom container from its PROTOCOL env var ("v2" = Open
    Inference Protocol v2); the first container must be named kserve-container.
    """
    kcontainer = {
        "name": "kserve-container",
        "image": t.image,
        "imagePullPolicy": "IfNotPresent",
        "args": t.serve_args,
        "ports": [{"containerPort": t.port, "protocol": "TCP"}],
        "envFrom": env_from,
        "env": [{"name": "PROTOCOL", "value": "v2"}, {"name": "HOME", "value": "/tmp"}],
        "readinessProbe": {
            **_probe("/v2/health/ready", 5),
            "httpGet": {"path": "/v2/health/ready", "port": t.port},
        },
        "livenessProbe": {
            **_probe("/v2/health/live", 15),
            "httpGet": {"path": "/v2/health/live", "port": t.port},
        },
        "resources": resources,
        "securityContext": security,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {**meta, "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"}},
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "maxReplicas": t.replicas,
                "automountServiceAccountToken": False,
                "securityContext": pod_security,
                "containers": [kcontainer],
                "volumes": [{"name": "tmp", "emptyDir": {}}],
            }
        },
    }


def _dockerfile(t: _Target, civicml_version: str) -> str:
    return f"""FROM python:3.11-slim
# civicml serve for {t.model}: the model is fetched from the registry at start, verified by hash.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 OMP_NUM_THREADS=1
RUN pip install "civicml[scale]=={civicml_version}" \\
    && useradd --create-home --uid 10001 civicml
USER 10001
WORKDIR /home/civicml
EXPOSE {t.port}
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \\
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:{t.port}/v2/health/ready', timeout=2).status != 200)"
# CIVICML_REGISTRY, CIVICML_ARTIFACTS and cloud credentials come from the environment (a Secret).
ENTRYPOINT ["civicml"]
CMD {json.dumps(t.serve_args)}
"""


def _readme(t: _Target) -> str:
    return f"""# Deploying {t.model}

    docker build -t {t.image} . && docker push {t.image}
    kubectl create secret generic {t.secret} \\
      --from-literal=CIVICML_REGISTRY='postgresql+psycopg://USER:PASSWORD@HOST/civicml' \\
      --from-literal=CIVICML_ARTIFACTS='s3://BUCKET/civicml' \\
      --from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=...
    kubectl apply -f k8s/          # plain Kubernetes, or:
    kubectl apply -f kserve/       # KServe (Open Inference Protocol v2)

See docs/scale-out.md in civicml for the whole setup.
"""
