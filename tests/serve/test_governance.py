"""``civicml serve`` serves only governed versions (issue 17, section 2).

A registry version must be approved unless serve is started with ``--allow-unapproved REASON``,
which is audited, shown in ``/v2/models/{name}`` metadata and written in every decision-log
record; the oversight mode comes from the registry, and a different ``--oversight`` is refused.
Hot reload applies the same gate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from serve._support import ROW, make_bundle, serve_cli

REGISTRANT, APPROVER = "Ada Analyst", "Grace Reviewer"
REASON = "Pilot with two caseworkers, signed off by the SRO"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("governed")
    paths = [base / f"b{seed}" for seed in (1, 2, 3)]
    for seed, path in enumerate(paths, start=1):
        make_bundle(path, seed=seed)
    return paths


@pytest.fixture()
def project(tmp_path: Path, bundles: list[Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """claims/1 registered (not approved, on ``staging``), claims/2 approved (advisory),
    claims/3 registered; a predict token; serve's uvicorn replaced by a recorder."""
    from civicml.registry import open_registry

    for var in ("CIVICML_REGISTRY", "CIVICML_ARTIFACTS", "CIVICML_SERVE_TOKEN_HASH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    reg = open_registry(project_dir=tmp_path)
    for path in bundles:
        reg.register(path, "claims", actor=REGISTRANT, oversight="advisory")
    reg.request_approval("claims", 2, actor=REGISTRANT, reason="Ready", oversight="advisory")
    reg.approve("claims", 2, by=APPROVER, reason="Read the assessment report")
    reg.set_alias("claims", "staging", 1, actor=REGISTRANT)
    token = reg.create_token("caseworker-app", ["predict"], actor="ops")
    served: list[Any] = []
    monkeypatch.setattr("civicml.serve._launch.run_server", lambda app, **kw: served.append(app))
    yield {"dir": tmp_path, "registry": reg, "token": token, "served": served}
    for app in served:
        app.holder.stop()
    reg.close()


def _serve(project: dict[str, Any], *args: str) -> Any:
    return CliRunner().invoke(
        serve_cli(),
        [
            "serve",
            *args,
            "--project-dir",
            str(project["dir"]),
            "--log-dir",
            str(project["dir"] / "log"),
            "--poll-seconds",
            "0",
        ],
    )


def _one_line_refusal(result: Any, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


def _overrides(reg: Any) -> list[Any]:
    from civicml.serve._governance import OVERRIDE_ACTION

    return [e for e in reg.audit_events() if e.action == OVERRIDE_ACTION]


@pytest.mark.parametrize("ref", ["claims/1", "claims@staging", "claims/3"])
def test_unapproved_version_is_refused(project: dict[str, Any], ref: str) -> None:
    result = _serve(project, "--model", ref)
    _one_line_refusal(result, "not approved", "--allow-unapproved")
    assert project["served"] == [] and _overrides(project["registry"]) == []


def test_registered_bundle_folder_is_refused(project: dict[str, Any], bundles: list[Path]) -> None:
    """A bundle folder whose digest is a registered, unapproved version is gated too."""
    _one_line_refusal(_serve(project, str(bundles[0])), "claims/1", "not approved")


def test_empty_override_reason_is_refused(project: dict[str, Any]) -> None:
    _one_line_refusal(_serve(project, "--model", "claims/1", "--allow-unapproved", "  "), "reason")


def test_override_serves_and_is_recorded_everywhere(project: dict[str, Any]) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import read_decision_log

    result = _serve(project, "--model", "claims@staging", "--allow-unapproved", REASON)
    assert result.exit_code == 0, result.output
    assert "not approved" in result.output and REASON in result.output
    (app,) = project["served"]
    events = _overrides(project["registry"])
    assert [(e.subject, e.reason) for e in events] == [("claims/1", REASON)]
    assert events[0].details["identity_verified"] is False
    assert project["registry"].verify_audit().ok
    headers = {"Authorization": f"Bearer {project['token']}"}
    with TestClient(app) as client:
        meta = client.get("/v2/models/claims", headers=headers).json()["parameters"]
        assert meta["unapproved_override"] == REASON
        assert meta["registry_version"] == "claims/1" and meta["registry_status"] == "registered"
        assert meta["oversight"] == "advisory" and meta["oversight_approved"] is False
        r = client.post("/predict", json=[ROW, {**ROW, "age": 20}], headers=headers)
        assert r.status_code == 200, r.text
    log = read_decision_log(project["dir"] / "log")
    assert len(log) == 2
    assert list(log["unapproved_override"]) == [REASON, REASON]
    assert not log["oversight_approved"].any()


def test_oversight_comes_from_the_registry(project: dict[str, Any]) -> None:
    result = _serve(project, "--model", "claims/2", "--oversight", "human-in-the-loop")
    _one_line_refusal(result, "--oversight human-in-the-loop differs", "'advisory'")
    assert project["served"] == []
    assert _serve(project, "--model", "claims/2", "--oversight", "advisory").exit_code == 0
    assert _serve(project, "--model", "claims/2").exit_code == 0
    for app in project["served"]:
        rt = app.holder.runtime
        assert rt.oversight == "advisory" and rt.governance.approved
        assert rt.log_fields == {"oversight_approved": True}
    assert _overrides(project["registry"]) == []


def test_approved_version_serves_without_override(project: dict[str, Any]) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import read_decision_log

    assert _serve(project, "--model", "claims/2").exit_code == 0
    (app,) = project["served"]
    headers = {"Authorization": f"Bearer {project['token']}"}
    with TestClient(app) as client:
        meta = client.get("/v2/models/claims", headers=headers).json()["parameters"]
        assert meta["oversight_approved"] is True and meta["unapproved_override"] is None
        assert client.post("/predict", json=ROW, headers=headers).status_code == 200
    log = read_decision_log(project["dir"] / "log")
    assert log["oversight_approved"].all() and "unapproved_override" not in log.columns


def test_unregistered_bundle_says_its_oversight_was_not_approved(
    project: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A bundle folder not in the registry keeps --oversight, and says it was not approved."""
    from civicml.serve import ServeOptions, create_app

    folder = tmp_path_factory.mktemp("loose") / "bundle"
    make_bundle(folder, seed=9)
    result = _serve(project, str(folder), "--oversight", "human-in-the-loop")
    assert result.exit_code == 0, result.output
    assert "not approved in a registry" in result.output
    rt = project["served"][0].holder.runtime
    assert rt.oversight == "human-in-the-loop"
    assert rt.governance.ref is None and rt.log_fields == {"oversight_approved": False}
    meta = rt.metadata()["parameters"]
    assert meta["oversight_approved"] is False and "not a version" in meta["oversight_source"]
    app = create_app(folder, options=ServeOptions(oversight="advisory"), poll_seconds=0)
    assert app.holder.runtime.oversight == "advisory"  # the library keeps today's behaviour


def test_hot_reload_applies_the_gate(project: dict[str, Any]) -> None:
    from civicml.serve import RegistrySource, ServeOptions, create_app

    reg = project["registry"]
    reg.set_alias("claims", "staging", 2, actor=REGISTRANT)
    app = create_app(RegistrySource(reg, "claims@staging"), poll_seconds=0)
    assert app.holder.runtime.version == "2"
    reg.set_alias("claims", "staging", 3, actor=REGISTRANT)  # an unapproved version
    assert app.holder.check() is False and app.holder.runtime.version == "2"

    # an override covers the version it was given for, not the next unapproved one
    reg.set_alias("claims", "staging", 1, actor=REGISTRANT)
    opts = ServeOptions(allow_unapproved=REASON)
    app = create_app(RegistrySource(reg, "claims@staging"), options=opts, poll_seconds=0)
    assert app.holder.runtime.governance.unapproved_override == REASON
    assert len(_overrides(reg)) == 1
    reg.set_alias("claims", "staging", 3, actor=REGISTRANT)
    assert app.holder.check() is False and app.holder.runtime.version == "1"
    reg.set_alias("claims", "staging", 2, actor=REGISTRANT)  # an approved one: no override
    assert app.holder.check() is True
    rt = app.holder.runtime
    assert rt.version == "2" and rt.governance.approved
    assert "unapproved_override" not in rt.log_fields
    assert len(_overrides(reg)) == 1


def test_workers_reuse_the_audited_override(
    project: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--workers N``: each worker rebuilds the app from the config the parent wrote; the
    override covers the audited version only and is recorded once, by the parent."""
    import json
    import os

    from civicml.serve._server import CONFIG_ENV, build_app

    reg = project["registry"]
    v1, v3 = reg.get_version("claims", 1), reg.get_version("claims", 3)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    result = _serve(project, "--model", "claims/1", "--allow-unapproved", REASON, "--workers", "2")
    assert result.exit_code == 0, result.output
    assert project["served"] == [None]  # uvicorn starts the workers from the config
    assert json.loads(os.environ[CONFIG_ENV])["override_digest"] == v1.digest
    assert len(_overrides(reg)) == 1
    monkeypatch.delenv(CONFIG_ENV)
    project["served"].clear()
    config = {
        "model": "claims/1",
        "project_dir": str(project["dir"]),
        "options": {"allow_unapproved": REASON},
        "poll_seconds": 0,
        "override_digest": v1.digest,
    }
    app = build_app(config)
    assert app.holder.runtime.governance.unapproved_override == REASON
    assert len(_overrides(reg)) == 1  # the parent recorded it; a worker does not
    with pytest.raises(Exception, match="covers another one"):
        build_app({**config, "override_digest": v3.digest})


def test_the_override_names_the_os_login_whatever_user_says(
    project: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person behind --allow-unapproved is the process's OS account: $USER, $LOGNAME and
    friends (which getpass.getuser() reads first) do not change who the audit log names."""
    import getpass

    from civicml.registry import os_login

    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "someone-else")
    assert getpass.getuser() == "someone-else"  # what the gate must not believe
    assert os_login() != "someone-else"
    result = _serve(project, "--model", "claims/1", "--allow-unapproved", REASON)
    assert result.exit_code == 0, result.output
    (event,) = _overrides(project["registry"])
    assert event.actor == os_login()
    assert event.details["identity"] == {"verified": False, "via": "os-login"}
    assert event.details["identity_verified"] is False
    assert project["registry"].verify_audit().ok
