"""``civicml serve`` and ``civicml predict`` against a live ``civicml server`` (issue 17).

When the registry is an ``http(s)://`` URL, serve resolves the version on the server, downloads
its verified, signed bundle and applies the same gate as embedded mode from the server's record
(status and oversight). ``--allow-unapproved`` is refused there: the override must be audited,
and the CLI cannot write it through the API.

The server runs in a thread under uvicorn on 127.0.0.1 in server mode over its own SQLite
registry, with a bootstrap admin token (``civicml_server`` in tests/live_server.py).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from civicml._errors import IntegrityError
from civicml.bundle import SIGNATURE, read_signature, sign_bundle, write_keypair
from civicml.registry import RemoteRegistry
from live_server import Served, civicml_server, free_port, training_project
from serve._support import PREDICT_TOKEN, ROW, make_bundle, serve_cli

pytest.importorskip("uvicorn")
pytest.importorskip("civicml.server")

GOVERNANCE = {
    "oversight": "advisory",
    "owner": {
        "team": "Claims Analytics",
        "senior_responsible_owner": "Jo Bloggs",
        "contact": "claims-ml@example.gov.uk",
    },
    "intended_use": "Prioritise claims for review",
    "out_of_scope_uses": ["Deciding entitlement"],
}
REASON = "Pilot with two caseworkers"
SALT = "00112233445566778899aabbccddeeff"
runner = CliRunner()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("remote-serve")
    paths = [base / f"b{seed}" for seed in (1, 2)]
    for seed, path in enumerate(paths, start=1):
        make_bundle(path, seed=seed)
    return paths


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    with civicml_server(tmp_path, monkeypatch, Served) as live:
        yield live


@pytest.fixture
def governed(served: Served, bundles: list[Path]) -> dict[str, Any]:
    """claims/1 approved by a second person and promoted to production over HTTP; claims/2
    registered only. Alice trains, Bob approves, Vera (viewer) is the serving host's token."""
    alice = served.token("alice-laptop", "alice", "trainer")
    bob = served.token("bob-laptop", "bob", "approver")
    vera = served.token("serving-host", "vera", "viewer")

    signed, fingerprint = served.signed_copy(alice, bundles[0], "v1")
    other, _ = served.signed_copy(alice, bundles[1], "v2")
    with served.registry(alice) as reg:
        assert reg.register(signed, "claims", reason="first", **GOVERNANCE).signer == fingerprint
        reg.register(other, "claims", reason="second", **GOVERNANCE)
    served.cli("override", "claims", 1, "--reason", "assessed by hand, DPO agreed", token=bob)
    served.cli("request-approval", "claims", 1, "--reason", "ready for review", token=alice)
    served.cli("approve", "claims", 1, "--reason", "read the assessment report", token=bob)
    with served.registry(bob) as reg:  # about serving, not the ATRS record
        reg.record_atrs_exemption("claims", 1, reason="Test: exempt", actor="bob")
    served.cli("promote", "claims", 1, "--reason", "go live", token=alice)
    with served.registry(vera) as reg:
        v1 = reg.resolve("claims@production")
        assert (v1.version, v1.status, v1.approved_by) == (1, "approved", "bob")
        assert reg.get_version("claims", 2).status == "registered"
    return {"served": served, "alice": alice, "vera": vera, "signer": fingerprint}


def _serve(
    governed: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[Any, list[Any]]:
    """Run ``civicml serve`` against the server as the serving host (uvicorn replaced)."""
    from civicml.serve import hash_token

    apps: list[Any] = []
    monkeypatch.setattr("civicml.serve._launch.run_server", lambda app, **kw: apps.append(app))
    served: Served = governed["served"]
    env = {
        "CIVICML_REGISTRY": served.url,
        "CIVICML_TOKEN": governed["vera"],
        "CIVICML_SERVE_TOKEN_HASH": hash_token(PREDICT_TOKEN, salt=SALT),
        "COLUMNS": "200",
    }
    project = served.tmp / "serving"
    argv = ["serve", *args, "--project-dir", str(project), "--log-dir", str(project / "log")]
    result = runner.invoke(serve_cli(), [*argv, "--poll-seconds", "0"], env=env)
    return result, apps


def _one_line_refusal(result: Any, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    for word in words:
        assert word in text, text


def test_serve_a_production_alias_from_the_server(
    governed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import read_decision_log

    result, apps = _serve(governed, monkeypatch, "--model", "claims@production")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "claims/1 is approved in the registry; oversight advisory (from the registry)" in text
    (app,) = apps
    rt = app.holder.runtime
    assert rt.version == "1" and rt.governance.approved and rt.oversight == "advisory"
    # the bundle came down from the server, verified and signed by alice's registered key
    cached = Path(rt.bundle.path)
    assert cached.is_relative_to(governed["served"].tmp / "serving" / ".civicml" / "cache")
    assert (cached / SIGNATURE).is_file()
    assert read_signature(cached).fingerprint == governed["signer"]

    headers = {"Authorization": f"Bearer {PREDICT_TOKEN}"}
    inputs = [
        {"name": "age", "shape": [1], "datatype": "INT64", "data": [60]},
        {"name": "income", "shape": [1], "datatype": "FP32", "data": [31000.5]},
        {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["N"]},
        {"name": "postcode", "shape": [1], "datatype": "BYTES", "data": ["AB1 2CD"]},
        {"name": "member", "shape": [1], "datatype": "BOOL", "data": [True]},
    ]
    try:
        with TestClient(app) as client:
            meta = client.get("/v2/models/claims", headers=headers).json()["parameters"]
            assert meta["registry_version"] == "claims/1"
            assert meta["registry_status"] == "approved" and meta["oversight_approved"] is True
            assert meta["unapproved_override"] is None
            r = client.post("/v2/models/claims/infer", json={"inputs": inputs}, headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["model_version"] == "1"
            denied = client.post("/v2/models/claims/infer", json={"inputs": inputs})
            assert denied.status_code == 401
    finally:
        app.holder.stop()
    log = read_decision_log(governed["served"].tmp / "serving" / "log")
    assert len(log) == 1 and log["oversight_approved"].all()


def test_an_unapproved_version_on_the_server_is_refused(
    governed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    result, apps = _serve(governed, monkeypatch, "--model", "claims/2")
    _one_line_refusal(result, "claims/2 is not approved in the registry", "'registered'")
    assert apps == []
    # the oversight mode is the server's record, not the operator's
    result, apps = _serve(
        governed, monkeypatch, "--model", "claims/1", "--oversight", "human-in-the-loop"
    )
    _one_line_refusal(result, "--oversight human-in-the-loop differs", "'advisory'")
    assert apps == []


@pytest.mark.parametrize("ref", ["claims/2", "claims@production"])
def test_allow_unapproved_is_refused_against_a_server(
    governed: dict[str, Any], monkeypatch: pytest.MonkeyPatch, ref: str
) -> None:
    from civicml.serve._governance import OVERRIDE_ACTION

    result, apps = _serve(governed, monkeypatch, "--model", ref, "--allow-unapproved", REASON)
    _one_line_refusal(
        result,
        "civicml serve --allow-unapproved is refused against a civicml server",
        "an unapproved version can only be served with an override recorded on the registry "
        "host, because the CLI cannot write an audited override through the API",
    )
    assert apps == []
    with governed["served"].registry(governed["vera"]) as reg:
        assert not [e for e in reg.audit_events() if e.action == OVERRIDE_ACTION]


def test_allow_unapproved_is_refused_before_anything_is_asked_of_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token and no server at all: the refusal still comes first, as the one line."""
    monkeypatch.delenv("CIVICML_TOKEN", raising=False)
    url = f"http://127.0.0.1:{free_port()}"
    args = ["serve", "--model", "claims/1", "--registry", url, "--allow-unapproved", REASON]
    result = runner.invoke(serve_cli(), [*args, "--project-dir", str(tmp_path)])
    _one_line_refusal(result, "refused against a civicml server", "recorded on the registry host")


def test_predict_scores_with_the_servers_bundle(
    governed: dict[str, Any], tmp_path: Path, bundles: list[Path]
) -> None:
    import pandas as pd

    from civicml.cli import app as civicml_app

    served: Served = governed["served"]
    data = tmp_path / "people.csv"
    pd.DataFrame([{**ROW, "person_id": f"p{i}", "age": 20 + i} for i in range(5)]).to_csv(
        data, index=False
    )
    out = tmp_path / "scored.csv"
    env = {"CIVICML_REGISTRY": served.url, "CIVICML_TOKEN": governed["vera"], "COLUMNS": "200"}
    args = ["predict", "claims@production", str(data), "-o", str(out)]
    result = runner.invoke(civicml_app, [*args, "--project-dir", str(tmp_path / "p")], env=env)
    assert result.exit_code == 0, result.output
    assert "Scoring with claims@production" in result.output
    assert len(pd.read_csv(out)) == 5
    cached = list((tmp_path / "p" / ".civicml" / "cache").iterdir())
    assert len(cached) == 1 and read_signature(cached[0]).fingerprint == governed["signer"]
    # no token: one line naming the variable
    env["CIVICML_TOKEN"] = ""
    refused = runner.invoke(civicml_app, args, env=env)
    _one_line_refusal(refused, "CIVICML_TOKEN")


def test_a_bundle_signed_by_another_key_than_the_server_records_is_refused(
    tmp_path: Path, bundles: list[Path]
) -> None:
    """A server (or a proxy) that sends a validly signed bundle, but not signed by the key the
    version records, is refused by the client before anything is served from it."""
    import httpx

    from civicml.bundle import verify_bundle
    from civicml.registry import ModelVersion
    from civicml.registry._remote import bundle_tar

    ada, grace = write_keypair(tmp_path / "ada"), write_keypair(tmp_path / "grace")
    path = Path(shutil.copytree(bundles[0], tmp_path / "b"))
    sign_bundle(path, grace.private)
    digest = verify_bundle(path).digest
    version = ModelVersion(
        name="claims",
        version=1,
        digest=digest,
        status="approved",
        created_at="2026-01-01T00:00:00Z",
        created_by="ada",
        oversight="advisory",
        signer=ada.fingerprint,
    )
    tar = io.BytesIO()
    bundle_tar(path, tar)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/bundle"):
            return httpx.Response(200, content=tar.getvalue())
        return httpx.Response(200, json=version.to_dict())

    reg = RemoteRegistry(
        "http://127.0.0.1:9",
        token="t",
        cache_dir=tmp_path / "cache",
        transport=httpx.MockTransport(answer),
    )
    with pytest.raises(
        IntegrityError,
        match=f"claims/1 was registered signed by key {ada.fingerprint[:16]}…, but the bundle "
        f"fetched for it is signed by key {grace.fingerprint[:16]}…",
    ):
        reg.load_version("claims/1")
    assert not [p for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")]


def test_train_records_its_run_locally_when_the_registry_is_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """civicml train with CIVICML_REGISTRY=https://...: the run goes to the project's own
    database (a server's runs are read only over HTTP), and no server is contacted."""
    from civicml.cli import app as civicml_app
    from civicml.tracking import open_runs

    monkeypatch.delenv("CIVICML_TOKEN", raising=False)
    project = tmp_path / "project"
    config = training_project(project, rows=120, max_trials=1, cv_folds=2)
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    args = ["train", str(config), "--out", str(tmp_path / "bundle")]
    result = runner.invoke(civicml_app, args, env={"CIVICML_REGISTRY": url, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "recorded: civicml runs show" in " ".join(result.output.split())
    with open_runs(f"sqlite:///{project / '.civicml' / 'registry.db'}") as store:
        assert [r.kind for r in store.list_runs()] == ["train"]


def test_serving_from_a_server_needs_the_callers_token_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server does not lend its token table: without $CIVICML_SERVE_TOKEN_HASH every
    request would be refused, so serve says so and does not start."""
    monkeypatch.delenv("CIVICML_SERVE_TOKEN_HASH", raising=False)
    url = f"http://127.0.0.1:{free_port()}"
    args = ["serve", "--model", "claims@production", "--registry", url]
    result = runner.invoke(
        serve_cli(), [*args, "--project-dir", str(tmp_path)], env={"CIVICML_TOKEN": "t"}
    )
    _one_line_refusal(result, "$CIVICML_SERVE_TOKEN_HASH, which is not set", "hash_token")
