"""Generate a deployment bundle for ``civicml serve``: a Dockerfile, a Kubernetes Deployment and
Service, and a KServe InferenceService (civicml speaks the Open Inference Protocol v2).

Nothing secret is written: the registry URL and cloud credentials come from a Kubernetes Secret
(``civicml-registry`` by default) at run time. What the image installs comes from the model's
bundle (:func:`~civicml.deploy.bundle_needs`; ``civicml deploy generate`` fetches it from the
registry first, so a model that does not exist stops there) and from this civicml
(:func:`~civicml.deploy.civicml_source`).

The containers run with a read-only root filesystem. Everything ``serve`` writes (the decision
log, the review queue, the bundle download cache: all under ``.civicml/`` in its project folder)
goes to the state volume at ``state_dir`` (passed as ``--project-dir``), and scratch files to
``/tmp``: both are ``emptyDir`` volumes, or the state a PersistentVolumeClaim (``state_claim``)
so the decision log outlives the pod.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from civicml._errors import SpecError
from civicml.deploy._needs import BundleNeeds, bundle_needs
from civicml.deploy._source import CivicmlSource, civicml_source, stage_source

__all__ = ["DEFAULT_STATE_DIR", "DeployFiles", "DeployOptions", "generate_deployment"]

_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)@(?P<alias>[A-Za-z0-9][A-Za-z0-9_.-]*)$")

#: Where the container keeps everything serve writes (its ``--project-dir``), a volume.
DEFAULT_STATE_DIR = "/var/lib/civicml"


@dataclass(frozen=True)
class DeployFiles:
    """Paths of the generated files (``source``: the copied civicml wheel or source tree)."""

    dockerfile: Path
    deployment: Path
    service: Path
    inferenceservice: Path
    readme: Path
    needs: BundleNeeds = BundleNeeds()
    source: CivicmlSource | None = None

    def all(self) -> list[Path]:
        return [self.dockerfile, self.deployment, self.service, self.inferenceservice, self.readme]


def _k8s_name(name: str) -> str:
    """A DNS-1035 label (a Service name must start with a letter)."""
    label = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:50].rstrip("-") or "model"
    return label if label[0].isalpha() else f"m-{label}"


@dataclass(frozen=True)
class DeployOptions:
    """How the service runs.

    Attributes
    ----------
    image : str, optional
        Container image the manifests run (default ``civicml-NAME:latest``; build it from the
        Dockerfile and push it to your registry).
    secret : str
        Kubernetes Secret holding ``CIVICML_REGISTRY``, ``CIVICML_ARTIFACTS`` and the AWS keys.
    port, replicas, cpu, memory, namespace
        Where serve listens, how many pods (KServe's maximum), their requests and limits, and
        the namespace written into the manifests (none by default).
    state_dir : str
        The container's writable project folder (a volume): serve's ``--project-dir``.
    state_claim : str, optional
        A PersistentVolumeClaim for ``state_dir`` (default: an ``emptyDir``, lost with the pod).
    """

    image: str | None = None
    secret: str = "civicml-registry"
    port: int = 8080
    replicas: int = 2
    cpu: str = "1"
    memory: str = "1Gi"
    namespace: str | None = None
    state_dir: str = DEFAULT_STATE_DIR
    state_claim: str | None = None


def generate_deployment(
    model: str,
    out: str | Path,
    *,
    bundle: str | Path,
    options: DeployOptions | None = None,
    wheel: str | Path | None = None,
    source: CivicmlSource | None = None,
) -> DeployFiles:
    """Write ``Dockerfile``, ``k8s/deployment.yaml``, ``k8s/service.yaml`` and
    ``kserve/inferenceservice.yaml`` for serving ``model`` (``NAME@ALIAS``) from the registry.

    Parameters
    ----------
    model : str
        ``NAME@ALIAS``, e.g. ``claims@production``.
    out : path
        Output folder (created).
    bundle : path
        The model's bundle folder, read for what the image needs (:func:`bundle_needs`).
        ``civicml deploy generate`` fetches it from the registry, so a model that does not
        exist stops there, before anything is written.
    options : DeployOptions, optional
        Image, Secret, port, sizing and the state volume.
    wheel : path, optional
        A civicml wheel to install in the image (default: this civicml's source tree or wheel,
        see :func:`~civicml.deploy.civicml_source`); ``source`` overrides both.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()  # a bundle folder with nothing special in it
    >>> files = generate_deployment("claims@production", tempfile.mkdtemp(), bundle=folder,
    ...                             source=CivicmlSource("index", "1.0.0"))
    >>> files.dockerfile.read_text().splitlines()[0]
    'FROM python:3.11-slim'
    >>> generate_deployment("claims", tempfile.mkdtemp(), bundle=folder)
    Traceback (most recent call last):
    ...
    civicml._errors.SpecError: The model to deploy is not NAME@ALIAS. Expected for example 'claims@production'; got 'claims'. Pass the registry name and alias, such as claims@production.
    """
    m = _parse_model(model)
    if not Path(bundle).is_dir():
        raise SpecError.build(
            "The bundle folder to deploy does not exist",
            got=str(bundle),
            fix="Pass the model's bundle folder (civicml deploy generate fetches it from the "
            "registry)",
        )
    needs = bundle_needs(bundle)
    source = source or civicml_source(wheel)
    opts = options or DeployOptions()
    name = _k8s_name(m["name"])
    target = _Target(
        model=model,
        name=name,
        image=opts.image or f"civicml-{name}:latest",
        port=opts.port,
        replicas=opts.replicas,
        resources={"cpu": opts.cpu, "memory": opts.memory},
        secret=opts.secret,
        namespace=opts.namespace,
        state_dir=opts.state_dir,
        state_claim=opts.state_claim,
    )
    root = Path(out)
    (root / "k8s").mkdir(parents=True, exist_ok=True)
    (root / "kserve").mkdir(parents=True, exist_ok=True)
    copies, pip_target = stage_source(source, root)
    deployment, service, isvc = _manifests(target)
    files = DeployFiles(
        dockerfile=root / "Dockerfile",
        deployment=root / "k8s" / "deployment.yaml",
        service=root / "k8s" / "service.yaml",
        inferenceservice=root / "kserve" / "inferenceservice.yaml",
        readme=root / "README.md",
        needs=needs,
        source=source,
    )
    files.dockerfile.write_text(
        _dockerfile(target, needs, source, copies, pip_target), encoding="utf-8"
    )
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
    state_dir: str = DEFAULT_STATE_DIR
    state_claim: str | None = None

    @property
    def serve_args(self) -> list[str]:
        return [
            "serve",
            "--model",
            self.model,
            "--host",
            "0.0.0.0",
            "--port",
            str(self.port),
            "--project-dir",
            self.state_dir,
        ]

    def volumes(self) -> list[dict[str, object]]:
        """The pod's writable volumes: scratch ``/tmp`` and the state folder."""
        state: dict[str, object] = {"name": "state"}
        if self.state_claim:
            state["persistentVolumeClaim"] = {"claimName": self.state_claim}
        else:
            state["emptyDir"] = {}
        return [{"name": "tmp", "emptyDir": {}}, state]

    def mounts(self) -> list[dict[str, object]]:
        return [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "state", "mountPath": self.state_dir},
        ]


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
        "volumeMounts": t.mounts(),
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
                    "volumes": t.volumes(),
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
        "volumeMounts": t.mounts(),
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
                "volumes": t.volumes(),
            }
        },
    }


def _pip_line(needs: BundleNeeds, pip_target: str) -> str:
    """``pip install`` of civicml with the bundle's extras and the model's package pins."""
    extras = ",".join(needs.extras)
    if pip_target.startswith("civicml=="):
        first = f"civicml[{extras}]=={pip_target.split('==', 1)[1]}"
    else:
        first = f"{pip_target}[{extras}]"
    pins = " ".join(f'"{k}=={v}"' for k, v in sorted(needs.pins.items()))
    return f'pip install "{first}"' + (f" {pins}" if pins else "")


def _dockerfile(
    t: _Target, needs: BundleNeeds, source: CivicmlSource, copies: list[str], pip_target: str
) -> str:
    why = "".join(f"#   {r}\n" for r in needs.reasons)
    copy = "".join(f"{line}\n" for line in copies)
    apt = " ".join(needs.system_packages)
    return f"""FROM python:{needs.python or "3.11"}-slim
# civicml serve for {t.model}: the model is fetched from the registry at start, verified by hash.
# Installs {source.describe()}, with what the bundle needs:
{why}ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 OMP_NUM_THREADS=1 HOME=/tmp
RUN apt-get update \\
    && apt-get install -y --no-install-recommends {apt} \\
    && rm -rf /var/lib/apt/lists/* \\
    && useradd --create-home --uid 10001 civicml \\
    && mkdir -p {t.state_dir} && chown 10001:10001 {t.state_dir}
{copy}RUN {_pip_line(needs, pip_target)}
USER 10001
# Everything serve writes (decision log, review queue, download cache: .civicml/) is under
# {t.state_dir}, its --project-dir; scratch goes to /tmp. Both are volumes, so the root
# filesystem can be read-only (docker run --read-only; the manifests mount them).
WORKDIR {t.state_dir}
VOLUME ["{t.state_dir}", "/tmp"]
EXPOSE {t.port}
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \\
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:{t.port}/v2/health/ready', timeout=2).status != 200)"
# CIVICML_REGISTRY, CIVICML_ARTIFACTS and cloud credentials come from the environment (a Secret).
ENTRYPOINT ["civicml"]
CMD {json.dumps(t.serve_args)}
"""


def _readme(t: _Target) -> str:
    state = (
        f"the PersistentVolumeClaim `{t.state_claim}`"
        if t.state_claim
        else "an `emptyDir` (lost when the pod goes: pass `--state-claim NAME` to keep it)"
    )
    return f"""# Deploying {t.model}

    docker build -t {t.image} . && docker push {t.image}
    kubectl create secret generic {t.secret} \\
      --from-literal=CIVICML_REGISTRY='postgresql+psycopg://USER:PASSWORD@HOST/civicml' \\
      --from-literal=CIVICML_ARTIFACTS='s3://BUCKET/civicml' \\
      --from-literal=CIVICML_AUDIT_KEY=... \\
      --from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=...
    kubectl apply -f k8s/          # plain Kubernetes, or:
    kubectl apply -f kserve/       # KServe (Open Inference Protocol v2)

The container's root filesystem is read-only. `civicml serve` writes its decision log, review
queue and bundle download cache under `{t.state_dir}` (its `--project-dir`), mounted from
{state}, and scratch files under `/tmp` (an `emptyDir`). With a claim and several replicas the
claim must be ReadWriteMany.

See docs/scale-out.md in civicml for the whole setup.
"""
