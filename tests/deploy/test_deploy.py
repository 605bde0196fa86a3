"""Generated deployment files pass their schemas; the linter catches what it should."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from civicml._errors import SpecError
from civicml.deploy import (
    CivicmlSource,
    DeployFiles,
    DeployOptions,
    generate_deployment,
    kserve_schema,
    kserve_source,
    lint_dockerfile,
    validate_deployment,
    validate_kserve,
    validate_kubernetes,
)

pytest.importorskip("kubernetes_validate")

INDEX = CivicmlSource("index", "1.0.0")


def _generate(model: str, out: Path, **kw: Any) -> DeployFiles:
    """Generate from an empty bundle folder (no registry), civicml from the index."""
    bundle = out.parent / f"{out.name}-bundle"
    bundle.mkdir(exist_ok=True)
    return generate_deployment(model, out, bundle=bundle, source=INDEX, options=DeployOptions(**kw))


def test_generated_files_are_valid(tmp_path: Path) -> None:
    files = _generate("claims@production", tmp_path)
    assert validate_deployment(tmp_path) == []
    docker = files.dockerfile.read_text()
    assert docker.startswith("FROM python:3.11-slim")
    assert "/v2/health/ready" in docker and "USER 10001" in docker
    assert '"--model", "claims@production"' in docker
    # the bundle records no package versions, so the image installs civicml's serve lock
    # (civicml with [scale]: psycopg and s3fs for Postgres + S3), hash-checked, then civicml
    assert "COPY requirements.lock /tmp/requirements.lock" in docker
    assert "pip install --require-hashes -r /tmp/requirements.lock" in docker
    assert 'pip install --no-deps "civicml==1.0.0"' in docker
    assert files.lock is not None and "psycopg==" in files.lock.read_text()
    dep = yaml.safe_load(files.deployment.read_text())
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert c["securityContext"]["runAsNonRoot"] is True
    assert c["envFrom"] == [{"secretRef": {"name": "civicml-registry"}}]
    text = "".join(p.read_text() for p in files.all())
    assert "AWS_SECRET_ACCESS_KEY=..." in text  # only the README's placeholder
    isvc = yaml.safe_load(files.inferenceservice.read_text())
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    env = isvc["spec"]["predictor"]["containers"][0]["env"]
    assert {"name": "PROTOCOL", "value": "v2"} in env


def test_schemas_catch_mistakes(tmp_path: Path) -> None:
    files = _generate("claims@production", tmp_path)
    dep = yaml.safe_load(files.deployment.read_text())
    dep["spec"]["replicas"] = "two"
    files.deployment.write_text(yaml.safe_dump(dep))
    assert validate_kubernetes(files.deployment)
    isvc = yaml.safe_load(files.inferenceservice.read_text())
    isvc["spec"]["predictor"]["container"] = isvc["spec"]["predictor"].pop("containers")
    files.inferenceservice.write_text(yaml.safe_dump(isvc))
    assert validate_kserve(files.inferenceservice)


def test_kserve_schema_is_the_vendored_crd() -> None:
    source = kserve_source()
    assert source["repository"] == "https://github.com/kserve/kserve"
    assert source["path"] == "config/crd/full/serving.kserve.io_inferenceservices.yaml"
    assert len(source["commit"]) == 40 and "Apache-2.0" in source["licence"]
    predictor = kserve_schema()["properties"]["spec"]["properties"]["predictor"]
    container = predictor["properties"]["containers"]["items"]
    assert container["required"] == ["name"] and container["additionalProperties"] is False
    port = container["properties"]["readinessProbe"]["properties"]["httpGet"]["properties"]["port"]
    assert port == {"anyOf": [{"type": "integer"}, {"type": "string"}]}  # int-or-string
    assert predictor["properties"]["minReplicas"]["maximum"] == 2**31 - 1  # format: int32


def test_generated_inferenceservice_uses_the_crd_fields(tmp_path: Path) -> None:
    files = _generate("claims@production", tmp_path, port=9000)
    assert validate_kserve(files.inferenceservice) == []
    pred = yaml.safe_load(files.inferenceservice.read_text())["spec"]["predictor"]
    (c,) = pred["containers"]
    assert c["name"] == "kserve-container"
    assert {"name": "PROTOCOL", "value": "v2"} in c["env"]
    assert c["ports"] == [{"containerPort": 9000, "protocol": "TCP"}]
    assert c["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 9000}
    assert c["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 9000}
    # readOnlyRootFilesystem needs a writable /tmp (HOME), as in the Deployment.
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {}} in pred["volumes"]


def _broken(isvc: dict, case: str) -> None:
    pred = isvc["spec"]["predictor"]
    c = pred["containers"][0]
    if case == "minReplicas-string":
        pred["minReplicas"] = "1"
    elif case == "maxReplicas-over-int32":
        pred["maxReplicas"] = 2**31
    elif case == "scaleMetric-enum":
        pred["scaleMetric"] = "gpu"
    elif case == "logger-mode-enum":
        pred["logger"] = {"mode": "everything"}
    elif case == "containers-not-list":
        pred["containers"] = c
    elif case == "container-without-name":
        del c["name"]
    elif case == "unknown-container-field":
        c["imagePullPolicyy"] = "Always"
    elif case == "port-not-int":
        c["ports"][0]["containerPort"] = "8080"
    elif case == "probe-port-bool":
        c["readinessProbe"]["httpGet"]["port"] = True
    elif case == "env-value-int":
        c["env"][0]["value"] = 2
    elif case == "bad-quantity":
        c["resources"]["limits"]["memory"] = "1 gigabyte"
    elif case == "volume-without-name":
        del pred["volumes"][0]["name"]
    elif case == "no-predictor":
        isvc["spec"] = {"transformer": pred}
    elif case == "wrong-kind":
        isvc["kind"] = "InferenceGraph"
    elif case == "bad-name":
        isvc["metadata"]["name"] = "1claims_prod"
    else:  # pragma: no cover
        raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "where"),
    [
        ("minReplicas-string", "spec.predictor.minReplicas"),
        ("maxReplicas-over-int32", "spec.predictor.maxReplicas"),
        ("scaleMetric-enum", "spec.predictor.scaleMetric"),
        ("logger-mode-enum", "spec.predictor.logger.mode"),
        ("containers-not-list", "spec.predictor.containers"),
        ("container-without-name", "spec.predictor.containers.0"),
        ("unknown-container-field", "spec.predictor.containers.0"),
        ("port-not-int", "spec.predictor.containers.0.ports.0.containerPort"),
        ("probe-port-bool", "spec.predictor.containers.0.readinessProbe.httpGet.port"),
        ("env-value-int", "spec.predictor.containers.0.env.0.value"),
        ("bad-quantity", "spec.predictor.containers.0.resources.limits.memory"),
        ("volume-without-name", "spec.predictor.volumes.0"),
        ("no-predictor", "spec"),
        ("wrong-kind", "kind"),
        ("bad-name", "metadata.name"),
    ],
)
def test_kserve_schema_refuses_broken_manifests(tmp_path: Path, case: str, where: str) -> None:
    files = _generate("claims@production", tmp_path)
    isvc = yaml.safe_load(files.inferenceservice.read_text())
    _broken(isvc, case)
    files.inferenceservice.write_text(yaml.safe_dump(isvc))
    problems = validate_kserve(files.inferenceservice)
    assert problems, case
    assert any(where in p for p in problems), problems


def test_model_names_become_dns_labels(tmp_path: Path) -> None:
    files = _generate("2024_Claims.v2@production", tmp_path)
    assert (
        yaml.safe_load(files.inferenceservice.read_text())["metadata"]["name"] == "m-2024-claims-v2"
    )
    assert validate_deployment(tmp_path) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("FROM x\nUSER root\nHEALTHCHECK CMD true", "final USER is root"),
        ("FROM x\nHEALTHCHECK CMD true", "no USER"),
        ("FROM x\nUSER 1\n", "no HEALTHCHECK"),
        ("FROM x\nUSER 1\nHEALTHCHECK CMD true\nADD http://e.com/a /a", "ADD fetches a URL"),
        ("FROM x\nENV DB_PASSWORD=x\nUSER 1\nHEALTHCHECK CMD true", "secret"),
        ("RUN x\nFROM x\nUSER 1\nHEALTHCHECK CMD true", "not FROM"),
    ],
)
def test_dockerfile_lint(text: str, problem: str) -> None:
    assert any(problem in p for p in lint_dockerfile(text))


def test_bad_reference(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="NAME@ALIAS"):
        generate_deployment("claims", tmp_path / "out", bundle=tmp_path)
    assert not (tmp_path / "out").exists()


def test_state_outlives_the_pod_by_default(tmp_path: Path) -> None:
    """The decision log goes to a claim the files include; an emptyDir only when asked."""
    files = _generate("claims@production", tmp_path / "a")
    assert files.pvc is not None and files.pvc in files.all()
    pvc = yaml.safe_load(files.pvc.read_text())
    assert pvc["kind"] == "PersistentVolumeClaim" and pvc["metadata"]["name"] == "claims-state"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert validate_deployment(tmp_path / "a") == []
    dep = yaml.safe_load(files.deployment.read_text())
    vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert {"persistentVolumeClaim": {"claimName": "claims-state"}}.items() <= vols[
        next(k for k in vols if k != "tmp")
    ].items()
    existing = _generate("claims@production", tmp_path / "b", state_claim="shared-logs")
    assert existing.pvc is None and "shared-logs" in existing.deployment.read_text()
    trial = _generate("claims@production", tmp_path / "c", ephemeral_state=True)
    assert trial.pvc is None and "persistentVolumeClaim" not in trial.deployment.read_text()
    assert "lost when the pod goes" in trial.readme.read_text()
