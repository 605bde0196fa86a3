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

Beside them, ``sbom.cdx.json`` is a CycloneDX 1.6 SBOM of the image (see :func:`image_sbom`):
the base image, the Debian packages, civicml and the packages it installs, each marked pinned or
floating, referring to the bundle's own SBOM (copied as ``bundle.cdx.json``).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
import tomllib
import uuid
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from civicml._errors import SpecError
from civicml.deploy._lock import LockChoice, choose_lock
from civicml.deploy._needs import BUNDLE_SBOM, BundleNeeds, bundle_needs
from civicml.deploy._source import CivicmlSource, civicml_source, stage_source

__all__ = [
    "DEFAULT_STATE_DIR",
    "DeployFiles",
    "DeployOptions",
    "civicml_requirements",
    "generate_deployment",
    "image_sbom",
]

_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)@(?P<alias>[A-Za-z0-9][A-Za-z0-9_.-]*)$")

#: The serve lock copied beside the Dockerfile when the image installs from it.
LOCK_FILE = "requirements.lock"

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
    sbom: Path | None = None
    bundle_sbom: Path | None = None
    lock: Path | None = None
    lock_note: str = ""
    pvc: Path | None = None

    def all(self) -> list[Path]:
        paths = [self.dockerfile, self.deployment, self.service, self.inferenceservice]
        extra = [p for p in (self.pvc, self.sbom, self.bundle_sbom, self.lock) if p is not None]
        return [*paths, self.readme, *extra]


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
        An existing PersistentVolumeClaim for ``state_dir``. By default the files include one,
        ``k8s/state-pvc.yaml`` (``NAME-state``, ReadWriteMany, ``state_size``), so the decision
        log outlives the pod and every replica writes its own stream into the same volume.
    ephemeral_state : bool
        An ``emptyDir`` instead (the decision log is lost with the pod): for trials only.
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
    ephemeral_state: bool = False
    state_size: str = "10Gi"


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
    lock = choose_lock(needs.extras, needs.pins)
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
        state_claim=opts.state_claim or (None if opts.ephemeral_state else f"{name}-state"),
    )
    root = Path(out)
    (root / "k8s").mkdir(parents=True, exist_ok=True)
    (root / "kserve").mkdir(parents=True, exist_ok=True)
    copies, pip_target = stage_source(source, root)
    deployment, service, isvc = _manifests(target)
    copied = root / "bundle.cdx.json" if (Path(bundle) / BUNDLE_SBOM).is_file() else None
    files = DeployFiles(
        dockerfile=root / "Dockerfile",
        deployment=root / "k8s" / "deployment.yaml",
        service=root / "k8s" / "service.yaml",
        inferenceservice=root / "kserve" / "inferenceservice.yaml",
        readme=root / "README.md",
        needs=needs,
        source=source,
        sbom=root / "sbom.cdx.json",
        bundle_sbom=copied,
        lock=root / LOCK_FILE if lock.usable else None,
        lock_note=lock.explain(),
        pvc=_write_claim(target, opts, root)
        if not (opts.state_claim or opts.ephemeral_state)
        else None,
    )
    if files.lock is not None and lock.path is not None:
        shutil.copyfile(lock.path, files.lock)
    files.dockerfile.write_text(
        _dockerfile(target, needs, source, copies, pip_target, lock), encoding="utf-8"
    )
    for path, doc in (
        (files.deployment, deployment),
        (files.service, service),
        (files.inferenceservice, isvc),
    ):
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    files.readme.write_text(_readme(target), encoding="utf-8")
    if copied is not None:
        shutil.copyfile(Path(bundle) / BUNDLE_SBOM, copied)
    sbom_path = root / "sbom.cdx.json"
    sbom = image_sbom(target.model, target.image, needs, source, lock=lock)
    sbom_path.write_text(json.dumps(sbom, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return files


def _write_claim(t: _Target, opts: DeployOptions, root: Path) -> Path:
    """``k8s/state-pvc.yaml``: the volume serve's state lives on (its decision log outlives
    the pod; ReadWriteMany so every replica writes its own stream into it)."""
    meta: dict[str, object] = {
        "name": t.state_claim,
        "labels": {"app.kubernetes.io/name": t.name, "app.kubernetes.io/part-of": "civicml"},
    }
    if t.namespace:
        meta["namespace"] = t.namespace
    doc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta,
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": opts.state_size}},
        },
    }
    path = root / "k8s" / "state-pvc.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


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


def _pip_line(needs: BundleNeeds, pip_target: str, lock: LockChoice | None = None) -> str:
    """``pip install`` of civicml with the bundle's extras and the model's package pins; with a
    usable lock, every package from the lock (hash-checked) and then civicml alone."""
    if lock is not None and lock.usable:
        target = f'"{pip_target}"'
        return (
            f"pip install --require-hashes -r /tmp/{LOCK_FILE} \\\n"
            f"    && pip install --no-deps {target} \\\n    && rm /tmp/{LOCK_FILE}"
        )
    extras = ",".join(needs.extras)
    if pip_target.startswith("civicml=="):
        first = f"civicml[{extras}]=={pip_target.split('==', 1)[1]}"
    else:
        first = f"{pip_target}[{extras}]"
    pins = " ".join(f'"{k}=={v}"' for k, v in sorted(needs.pins.items()))
    return f'pip install "{first}"' + (f" {pins}" if pins else "")


def _dockerfile(
    t: _Target,
    needs: BundleNeeds,
    source: CivicmlSource,
    copies: list[str],
    pip_target: str,
    lock: LockChoice | None = None,
) -> str:
    why = "".join(f"#   {r}\n" for r in needs.reasons)
    if lock is not None and lock.usable:
        copies = [f"COPY {LOCK_FILE} /tmp/{LOCK_FILE}", *copies]
    copy = "".join(f"{line}\n" for line in copies)
    apt = " ".join(needs.system_packages)
    return f"""FROM python:{needs.python or "3.11"}-slim
# civicml serve for {t.model}: the model is fetched from the registry at start, verified by hash.
# Installs {source.describe()}, with what the bundle needs:
{why}{_pin_comments(needs, lock)}ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 OMP_NUM_THREADS=1 HOME=/tmp
RUN apt-get update \\
    && apt-get install -y --no-install-recommends {apt} \\
    && rm -rf /var/lib/apt/lists/* \\
    && useradd --create-home --uid 10001 civicml \\
    && mkdir -p {t.state_dir} && chown 10001:10001 {t.state_dir}
{copy}RUN {_pip_line(needs, pip_target, lock)}
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


_REQ = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^;()]*)\)?\s*(?:;(.*))?$"
)
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_entries(source: CivicmlSource) -> list[tuple[str, str | None]]:
    """``(requirement, extra or None)`` of the civicml the image installs: its source tree's
    pyproject.toml, its wheel's METADATA, or (same version only) the installed metadata."""
    if source.kind == "source" and source.path is not None:
        try:
            project = tomllib.loads((source.path / "pyproject.toml").read_text("utf-8"))["project"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return []
        out: list[tuple[str, str | None]] = [(r, None) for r in project.get("dependencies", [])]
        for extra, reqs in (project.get("optional-dependencies") or {}).items():
            out += [(r, extra) for r in reqs]
        return out
    lines: list[str] = []
    if source.kind == "wheel" and source.path is not None:
        try:
            with zipfile.ZipFile(source.path) as wheel:
                found = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
                text = wheel.read(found[0]).decode("utf-8") if found else ""
        except (OSError, zipfile.BadZipFile, UnicodeDecodeError):
            text = ""
        lines = [ln[len("Requires-Dist:") :] for ln in text.splitlines() if ln.startswith("Req")]
    else:
        try:
            if metadata.version("civicml") == source.version:
                lines = list(metadata.distribution("civicml").requires or [])
        except metadata.PackageNotFoundError:
            pass
    entries: list[tuple[str, str | None]] = []
    for line in lines:
        found = _EXTRA.findall(line)
        entries.append((line.split(";")[0].strip(), found[0] if found else None))
    return entries


def civicml_requirements(source: CivicmlSource, extras: tuple[str, ...]) -> dict[str, str]:
    """What installing ``civicml[extras]`` asks for directly: normalised name -> version range
    (``""``: any version). Their own dependencies are not listed (pip resolves them).

    >>> reqs = civicml_requirements(CivicmlSource("index", "0.0.0-not-installed"), ("scale",))
    >>> reqs
    {}
    """
    out: dict[str, str] = {}
    for requirement, extra in _requirement_entries(source):
        if extra is not None and extra not in extras:
            continue
        m = _REQ.match(requirement)
        if m is None:
            continue
        key, spec = _norm(m.group(1)), m.group(2).strip().replace(" ", "")
        out[key] = ",".join(x for x in (out.get(key), spec) if x)
    return dict(sorted(out.items()))


def _props(**values: str) -> list[dict[str, str]]:
    return [{"name": f"civicml:{k.replace('_', '-')}", "value": v} for k, v in values.items()]


def _pypi(name: str, version: str | None = None) -> str:
    return f"pkg:pypi/{_norm(name)}" + (f"@{quote(version, safe='.-_~!')}" if version else "")


def _python_components(
    needs: BundleNeeds, source: CivicmlSource, reqs: dict[str, str], lock: LockChoice | None = None
) -> list[dict[str, Any]]:
    """civicml, the model's pins and civicml's direct requirements, each pinned or floating;
    with a usable lock, every package it pins (exact, hash-checked)."""
    where = needs.pinned_from or "the bundle"
    how = {"index": "from the package index", "wheel": "the wheel copied into the image"}
    out = [
        {
            "type": "library",
            "bom-ref": _pypi("civicml", source.version),
            "name": "civicml",
            "version": source.version,
            "purl": _pypi("civicml", source.version),
            "properties": _props(
                pin="exact", pin_reason=how.get(source.kind, "the source tree copied in")
            ),
        }
    ]
    if lock is not None and lock.usable:
        for pkg, pinned in sorted(lock.pins.items()):
            locked: dict[str, Any] = {"type": "library", "bom-ref": _pypi(pkg), "name": pkg}
            locked.update(version=pinned, purl=_pypi(pkg, pinned))
            locked["properties"] = _props(
                pin="exact", pin_reason=f"{lock.name}, installed with --require-hashes"
            )
            out.append(locked)
        return out
    for name in sorted(set(reqs) | set(needs.pins)):
        version, spec = needs.pins.get(name), reqs.get(name, "")
        exact = re.fullmatch(r"===?([^,*]+)", spec)
        if version is None and exact:
            version, reason = exact.group(1), f"civicml requires {spec}"
        elif version is not None:
            reason = f"the version the model was trained with ({where})"
        else:
            reason = f"pip resolves it at build time within {spec or 'any version'}"
        part: dict[str, Any] = {"type": "library", "bom-ref": _pypi(name), "name": name}
        if version is not None:
            part.update(version=version, purl=_pypi(name, version))
        else:
            part["purl"] = _pypi(name)
        pin = "exact" if version is not None else "floating"
        part["properties"] = _props(pin=pin, pin_reason=reason)
        out.append(part)
    return out


def image_sbom(
    model: str,
    image: str,
    needs: BundleNeeds,
    source: CivicmlSource,
    *,
    requirements: dict[str, str] | None = None,
    lock: LockChoice | None = None,
) -> dict[str, Any]:
    """A CycloneDX 1.6 SBOM of the image the generated Dockerfile builds.

    With a usable ``lock`` (the image installs civicml's serve lock), every package it pins is
    listed as exact and nothing in Python floats.

    Each component says whether the Dockerfile pins it (``civicml:pin`` ``exact``) or lets it
    float (``floating``, with ``civicml:pin-reason``): the base image tag and the Debian packages
    float; civicml, the model's packages (the versions it was trained with) and civicml's own
    ``==`` requirements are exact; civicml's other direct requirements float within their
    ranges; their dependencies are resolved by pip and not listed. The model component refers
    to the bundle's SBOM (a BOM-Link to its serial number, with its file's sha256).

    Examples
    --------
    >>> doc = image_sbom("claims@production", "civicml-claims:1.0",
    ...                  BundleNeeds(pins={"scikit-learn": "1.5.2"}), CivicmlSource("index", "1.0"),
    ...                  requirements={"scikit-learn": ">=1.5", "torch": "==2.13.0"})
    >>> {c["name"]: c["properties"][0]["value"] for c in doc["components"][2:-1]}
    {'civicml': 'exact', 'scikit-learn': 'exact', 'torch': 'exact'}
    >>> doc["components"][0]["purl"], doc["components"][1]["properties"][0]["value"]
    ('pkg:docker/library/python@3.11-slim', 'floating')
    """
    from civicml import __version__ as me

    reqs = civicml_requirements(source, needs.extras) if requirements is None else requirements
    tag = f"{needs.python or '3.11'}-slim"
    base = {
        "type": "container",
        "bom-ref": "base-image",
        "name": "python",
        "version": tag,
        "purl": f"pkg:docker/library/python@{tag}",
        "properties": _props(
            pin="floating",
            pin_reason=f"the tag python:{tag} moves with Python patch and Debian releases; pin "
            "it by digest (FROM python:TAG@sha256:...) for a reproducible build",
        ),
    }
    debs = [
        {
            "type": "library",
            "bom-ref": f"pkg:deb/debian/{p}",
            "name": p,
            "purl": f"pkg:deb/debian/{p}",
            "properties": _props(
                pin="floating", pin_reason="apt installs the base image's current Debian version"
            ),
        }
        for p in needs.system_packages
    ]
    python = _python_components(needs, source, reqs, lock)
    model_part: dict[str, Any] = {"type": "machine-learning-model", "bom-ref": "model"}
    model_part["name"] = model
    model_part["properties"] = _props(
        fetched="at start, from the registry, verified by hash; the alias may move later"
    )
    if needs.sbom_serial and needs.sbom_sha256:
        model_part["externalReferences"] = [
            {
                "type": "bom",
                "url": f"{needs.sbom_serial.replace('urn:uuid:', 'urn:cdx:')}/1",
                "comment": "the bundle's SBOM (bundle.cdx.json beside this file): the "
                "environment that trained the model",
                "hashes": [{"alg": "SHA-256", "content": needs.sbom_sha256}],
            }
        ]
    name, _, version = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    refs = [base["bom-ref"], *(d["bom-ref"] for d in debs), python[0]["bom-ref"], "model"]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "civicml", "version": me}]},
            "component": {
                "type": "container",
                "bom-ref": "image",
                "name": name,
                **({"version": version} if version else {}),
            },
            "properties": _props(
                transitive=f"every Python package, dependencies included, is pinned by "
                f"{lock.name} and hash-checked at build time"
                if lock is not None and lock.usable
                else "the dependencies of these packages are resolved by pip at build "
                "time and float; list them from the built image (pip freeze, or syft)"
            ),
        },
        "components": [base, *debs, *python, model_part],
        "dependencies": [
            {"ref": "image", "dependsOn": refs},
            {"ref": python[0]["bom-ref"], "dependsOn": [c["bom-ref"] for c in python[1:]]},
        ],
    }


def _pin_comments(needs: BundleNeeds, lock: LockChoice | None = None) -> str:
    """The Dockerfile's plain statement of what is pinned and what floats."""
    if lock is not None and lock.usable:
        return (
            f"# Pinned: {lock.explain()}; civicml itself.\n"
            "# Floating: the base image tag and the Debian packages. sbom.cdx.json lists "
            "each one.\n"
        )
    note = f"# {lock.explain()}\n" if lock is not None else ""
    pins = ", ".join(f"{k}=={v}" for k, v in sorted(needs.pins.items()))
    pinned = (
        f"# Pinned: {pins} (the versions the model was trained with, from the bundle's "
        f"{needs.pinned_from}), civicml itself, and civicml's own == requirements.\n"
        if pins
        else "# Pinned: civicml itself and its own == requirements (the bundle records no "
        "package versions).\n"
    )
    return (
        note
        + pinned
        + "# Floating: the base image tag, the Debian packages, and every other package "
        "(pip resolves\n# them within civicml's ranges at build time). sbom.cdx.json lists "
        "each one, pinned or floating.\n"
    )


def _readme(t: _Target) -> str:
    state = (
        f"the PersistentVolumeClaim `{t.state_claim}` (k8s/state-pvc.yaml unless you named an "
        "existing claim; apply it first)"
        if t.state_claim
        else "an `emptyDir` (`--ephemeral-state`: lost when the pod goes, with its decision log)"
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
claim must be ReadWriteMany: each replica writes its own decision-log files (named by pod and
process) into it, and `civicml monitor` reads them all.

See docs/scale-out.md in civicml for the whole setup.
"""
