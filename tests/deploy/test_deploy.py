"""Generated deployment files pass their schemas; the linter catches what it should."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from civicml._errors import SpecError
from civicml.deploy import (
    generate_deployment,
    lint_dockerfile,
    validate_deployment,
    validate_kserve,
    validate_kubernetes,
)

pytest.importorskip("kubernetes_validate")


def test_generated_files_are_valid(tmp_path: Path) -> None:
    files = generate_deployment("claims@production", tmp_path, civicml_version="1.0.0")
    assert validate_deployment(tmp_path) == []
    docker = files.dockerfile.read_text()
    assert docker.startswith("FROM python:3.11-slim")
    assert "/v2/health/ready" in docker and "USER 10001" in docker
    assert '"--model", "claims@production"' in docker
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
    files = generate_deployment("claims@production", tmp_path)
    dep = yaml.safe_load(files.deployment.read_text())
    dep["spec"]["replicas"] = "two"
    files.deployment.write_text(yaml.safe_dump(dep))
    assert validate_kubernetes(files.deployment)
    isvc = yaml.safe_load(files.inferenceservice.read_text())
    isvc["spec"]["predictor"]["container"] = isvc["spec"]["predictor"].pop("containers")
    files.inferenceservice.write_text(yaml.safe_dump(isvc))
    assert validate_kserve(files.inferenceservice)


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


def test_bad_reference_and_cli(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="NAME@ALIAS"):
        generate_deployment("claims", tmp_path)
    from civicml.cli._deploy import deploy_app

    res = CliRunner().invoke(
        deploy_app, ["generate", "claims@production", "-o", str(tmp_path / "d")]
    )
    assert res.exit_code == 0, res.output
    assert "Validated" in res.output and (tmp_path / "d" / "kserve").is_dir()
