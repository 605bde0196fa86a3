"""The app through Starlette's TestClient: formats, auth, validation, log, metrics, reload."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from serve._support import ADMIN_TOKEN, REVIEW_TOKEN, ROW, VIEWER_ONLY, auth, make_bundle


def test_health_needs_no_token(client: Any) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2"),
        ("GET", "/v2/models/claims"),
        ("GET", "/v2/models/claims/ready"),
        ("POST", "/v2/models/claims/infer"),
        ("POST", "/predict"),
        ("POST", "/invocations"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("POST", "/decisions/abc"),
        ("POST", "/decisions/abc/review"),
        ("POST", "/decisions/abc/contest"),
        ("GET", "/decisions/queue"),
        ("GET", "/decisions/abc"),
    ],
)
def test_every_other_endpoint_needs_a_token(client: Any, method: str, path: str) -> None:
    r = client.request(method, path, json={})
    assert r.status_code == 401
    assert set(r.json()) == {"error"}
    r = client.request(method, path, json={}, headers=auth("bogus"))
    assert r.status_code == 401


def test_scopes(client: Any) -> None:
    r = client.post("/predict", json=ROW, headers=auth(VIEWER_ONLY))
    assert r.status_code == 403 and "predict" in r.json()["error"]
    assert client.get("/metrics", headers=auth()).status_code == 403
    assert client.get("/metrics", headers=auth(ADMIN_TOKEN)).status_code == 200
    assert client.post("/predict", json=ROW, headers=auth(ADMIN_TOKEN)).status_code == 200


def test_predict_matches_predictor(client: Any, bundle_dir: Path) -> None:
    import pandas as pd

    from civicml.bundle import Predictor, load_bundle

    r = client.post("/predict", json=[ROW, {**ROW, "age": 20}], headers=auth())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_name"] == "claims" and r.headers["x-request-id"] == body["request_id"]
    expected = Predictor(load_bundle(bundle_dir)).predict(pd.DataFrame([ROW, {**ROW, "age": 20}]))
    got = body["predictions"]
    assert [p["prediction"] for p in got] == expected["prediction"].tolist()
    assert [p["score"] for p in got] == pytest.approx(expected["score"].tolist())
    assert [p["decision"] for p in got] == expected["decision"].tolist()
    assert set(got[0]) == {"prediction", "score", "decision", "probability"}


def test_predict_without_content_type_and_single_object(client: Any) -> None:
    import orjson

    r = client.post("/predict", content=orjson.dumps(ROW), headers=auth())
    assert r.status_code == 200 and len(r.json()["predictions"]) == 1


def test_predict_csv(client: Any) -> None:
    csv = "age,income,region,postcode,member\n60,31000.5,N,AB1 2CD,true\n22,,S,,false\n"
    r = client.post("/predict", content=csv, headers={**auth(), "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 2


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())]}},
        {"dataframe_records": [ROW]},
        {"instances": [ROW]},
        {"inputs": {k: [v] for k, v in ROW.items()}},
        {"inputs": [ROW], "params": {}},
    ],
)
def test_invocations_mlflow_formats(client: Any, payload: dict[str, Any]) -> None:
    r = client.post("/invocations", json=payload, headers=auth())
    assert r.status_code == 200, r.text
    (pred,) = r.json()["predictions"]
    assert pred["prediction"] in ("yes", "no") and 0 <= pred["score"] <= 1


def test_invocations_refuses_two_formats(client: Any) -> None:
    r = client.post("/invocations", json={"instances": [ROW], "inputs": [ROW]}, headers=auth())
    assert r.status_code == 400 and "exactly one" in r.json()["error"]


def test_validation_names_every_failing_field(client: Any) -> None:
    bad = {
        "income": "lots",
        "region": "Mars",
        "postcode": None,
        "member": "maybe",
        "age": 200,
        "shoe_size": 9,
    }
    r = client.post("/predict", json=bad, headers=auth())
    assert r.status_code == 422
    body = r.json()
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"shoe_size", "age", "income", "region", "member"}
    assert "shoe_size" in body["error"] and "Traceback" not in r.text


def test_missing_column_is_named(client: Any) -> None:
    row = dict(ROW)
    del row["age"]
    r = client.post("/predict", json=row, headers=auth())
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "age", "problem": "is missing"}]


def test_extra_columns_allowed_when_configured(bundle_dir: Path, verifier: Any) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import ServeOptions, create_app

    app = create_app(
        bundle_dir,
        verifier=verifier,
        poll_seconds=0,
        options=ServeOptions(extra_columns="allow", unknown_category={"region": "allow"}),
    )
    with TestClient(app) as c:
        r = c.post("/predict", json={**ROW, "region": "Mars", "extra": 1}, headers=auth())
        assert r.status_code == 200, r.text
        # id columns are always accepted
        r = c.post("/predict", json={**ROW, "person_id": "P1"}, headers=auth())
        assert r.status_code == 200


def test_decision_log_and_reviews(app: Any, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import read_decision_log

    with TestClient(app) as c:
        r = c.post(
            "/predict", json={**ROW, "person_id": "P1"}, headers={**auth(), "X-Request-ID": "req-1"}
        )
        assert r.status_code == 200
        case = r.json()["case_ids"][0]
        assert r.headers["x-case-id"] == case and case != "req-1"
        decision = r.json()["predictions"][0]["decision"]
        c.post("/predict", json=[ROW, ROW], headers=auth())
        flipped = 1 - decision
        review = f"/decisions/{case}/review"
        r = c.post(review, json={"decision": flipped}, headers=auth(REVIEW_TOKEN))
        assert r.status_code == 422  # an override needs a reason
        r = c.post(
            review, json={"decision": flipped, "reason": "New evidence"}, headers=auth(REVIEW_TOKEN)
        )
        assert r.status_code == 200 and r.json()["overridden"] is True
        assert r.json()["reviewer"] == "caseworker-7"
        r = c.post("/decisions/nope/review", json={"decision": 1}, headers=auth(REVIEW_TOKEN))
        assert r.status_code == 404
        r = c.post("/decisions/req-1", json={"decision": 1}, headers=auth())
        assert r.status_code == 410 and "/review" in r.json()["error"]
    df = read_decision_log(tmp_path / "log")  # shutdown flushed everything
    assert len(df) == 3
    assert str(df["time"].dt.tz) == "UTC"
    first = df[df["case_id"] == case].iloc[0]
    assert first["request_id"] == "req-1"
    assert first["postcode"] == "[redacted]" and first["age"] == 60
    assert bool(first["overridden"]) and first["override_reason"] == "New evidence"
    assert df["overridden"].isna().sum() == 2
    assert {
        "model_version",
        "model_sha256",
        "input_hmac",
        "score",
        "prediction",
        "decision",
        "latency_ms",
        "reviewer_decision",
    } <= set(df.columns)
    assert "person_id" not in df.columns and "input_sha256" not in df.columns
    assert len(read_decision_log(tmp_path / "log", since="2999-01-01")) == 0


def test_metrics_and_openapi(client: Any) -> None:
    client.post("/predict", json=ROW, headers=auth())
    client.post("/predict", json={"age": "x"}, headers=auth())
    text = client.get("/metrics", headers=auth(ADMIN_TOKEN)).text
    assert 'civicml_requests_total{route="/predict",code="200"} 1' in text
    assert 'civicml_errors_total{route="/predict",code="422"} 1' in text
    assert "civicml_request_seconds_bucket" in text and 'model="claims"' in text
    doc = client.get("/openapi.json", headers=auth()).json()
    assert doc["openapi"].startswith("3.")
    props = doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    row = props["schema"]["oneOf"][0]["properties"]
    assert row["region"]["enum"] == ["E", "N", "S", "W"]


def test_oip_json_infer_echoes_id(client: Any) -> None:
    inputs = [
        {"name": "age", "shape": [1, 1], "datatype": "INT64", "data": [[60]]},
        {"name": "income", "shape": [1], "datatype": "FP32", "data": [31000.5]},
        {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["N"]},
        {"name": "postcode", "shape": [1], "datatype": "BYTES", "data": ["AB1 2CD"]},
        {"name": "member", "shape": [1], "datatype": "BOOL", "data": [True]},
    ]
    r = client.post("/v2/models/claims/infer", json={"id": "abc", "inputs": inputs}, headers=auth())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "abc" and body["model_name"] == "claims"
    assert [o["name"] for o in body["outputs"]] == [
        "prediction",
        "score",
        "decision",
        "probability",
    ]
    meta = client.get("/v2/models/claims", headers=auth()).json()
    assert {i["name"]: i["datatype"] for i in meta["inputs"]}["region"] == "BYTES"
    version = meta["versions"][0]
    assert client.get(f"/v2/models/claims/versions/{version}", headers=auth()).status_code == 200
    r = client.get("/v2/models/other", headers=auth())
    assert r.status_code == 404 and set(r.json()) == {"error"}


def test_rate_limit(bundle_dir: Path) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import StaticToken, create_app

    tok = StaticToken("slow", ("predict",), rate_limit="2/m")
    app = create_app(bundle_dir, verifier={"t": tok}.get, poll_seconds=0)
    with TestClient(app) as c:
        codes = [c.get("/v2", headers=auth("t")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_hashed_env_token(bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import create_app, hash_token

    monkeypatch.setenv("CIVICML_SERVE_TOKEN_HASH", hash_token("s3cret", salt="ab" * 16))
    app = create_app(bundle_dir, poll_seconds=0)
    with TestClient(app) as c:
        assert c.get("/v2", headers=auth("s3cret")).status_code == 200
        assert c.get("/v2", headers=auth("other")).status_code == 401


def test_hot_reload_swaps_and_refuses_tampered(tmp_path: Path, verifier: Any) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import create_app

    path = tmp_path / "b"
    first = make_bundle(path, seed=0)
    app = create_app(path, verifier=verifier, poll_seconds=0)
    with TestClient(app) as c:
        v1 = c.get("/v2/models/claims", headers=auth()).json()["versions"][0]
        assert v1 == first.digest[:12]
        second = make_bundle(tmp_path / "b2", seed=1)
        shutil.rmtree(path)
        shutil.copytree(tmp_path / "b2", path)
        assert app.holder.check() is True
        v2 = c.get("/v2/models/claims", headers=auth()).json()["versions"][0]
        assert v2 == second.digest[:12] != v1
        # a tampered bundle is refused and v2 keeps serving
        make_bundle(tmp_path / "b3", seed=2)
        shutil.rmtree(path)
        shutil.copytree(tmp_path / "b3", path)
        info = path / "model_info.json"
        info.write_text(info.read_text().replace("0.4", "0.9"))
        assert app.holder.check() is False
        assert c.get("/v2/models/claims", headers=auth()).json()["versions"][0] == v2
        assert c.post("/predict", json=ROW, headers=auth()).status_code == 200
        assert app.metrics.reload_failures == 1 and app.metrics.reloads == 1


def test_micro_batching_gives_same_answers(bundle_dir: Path, verifier: Any) -> None:
    import asyncio

    import httpx

    from civicml.serve import ServeOptions, create_app

    app = create_app(
        bundle_dir,
        verifier=verifier,
        poll_seconds=0,
        options=ServeOptions(max_batch_size=8, max_batch_time_ms=5),
    )
    rows = [{**ROW, "age": 20 + i} for i in range(12)]

    async def go() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            rs = await asyncio.gather(*(c.post("/predict", json=r, headers=auth()) for r in rows))
            single = await c.post("/predict", json=rows, headers=auth())
        return [r.json()["predictions"][0] for r in rs], single.json()["predictions"]

    batched, single = asyncio.run(go())
    assert [b["score"] for b in batched] == pytest.approx([s["score"] for s in single])


def test_graceful_shutdown_flushes_log(app: Any, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import read_decision_log

    with TestClient(app) as c:
        for _ in range(50):
            c.post("/predict", json=ROW, headers=auth())
        time.sleep(0)
    assert len(read_decision_log(tmp_path / "log")) == 50


def test_explain_gives_plain_reasons_per_row(client: Any) -> None:
    r = client.post("/explain", json=[ROW, {**ROW, "age": 20}], headers=auth())
    assert r.status_code == 200, r.text
    rows = r.json()["predictions"]
    assert len(rows) == 2
    for row in rows:
        assert 1 <= len(row["reasons"]) <= 3
        assert all(isinstance(x["text"], str) and x["feature"] for x in row["reasons"])
    assert client.post("/explain", json=[ROW] * 101, headers=auth()).status_code == 400
    assert client.post("/explain", json=[ROW]).status_code == 401


def test_bandit_endpoints_mount_beside_the_model(app: Any, verifier: Any) -> None:
    from starlette.testclient import TestClient

    from civicml.bandits import BanditSpec, bandit_app, open_bandit_store
    from serve._support import PREDICT_TOKEN

    store = open_bandit_store("sqlite://")
    store.create_bandit(BanditSpec(name="letters", arms=["plain", "deadline"], policy="thompson"))
    app.mount("/bandits/", bandit_app(store, verifier, seed=0))
    with TestClient(app) as c:
        headers = {"Authorization": f"Bearer {PREDICT_TOKEN}"}
        chosen = c.post("/bandits/letters/choose", json={"context": {}}, headers=headers)
        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["arm"] in ("plain", "deadline")
        assert c.post("/bandits/letters/choose", json={"context": {}}).status_code == 401
        assert c.post("/predict", json=[ROW], headers=auth()).status_code == 200  # model still
    store.close()


def _letters(tmp_path: Path, token_name: str) -> tuple[str, str, str]:
    """A bandit store holding 'letters' and a registry with a predict token: (store, registry,
    token)."""
    from civicml.bandits import BanditSpec, open_bandit_store
    from civicml.registry import open_registry

    db = f"sqlite:///{tmp_path / 'bandits.db'}"
    store = open_bandit_store(db)
    store.create_bandit(BanditSpec(name="letters", arms=["plain", "deadline"], policy="thompson"))
    store.close()
    registry = f"sqlite:///{tmp_path / 'registry.db'}"
    with open_registry(registry) as reg:
        token = reg.create_token(token_name, ["predict"], actor="ops")
    return db, registry, token


def test_build_app_mounts_bandits_beside_a_model(bundle_dir: Path, tmp_path: Path) -> None:
    """``civicml serve BUNDLE --bandits URL``: one server, one token table for both surfaces."""
    from starlette.testclient import TestClient

    from civicml.serve._server import build_app

    db, registry, token = _letters(tmp_path, "caseworker-app")
    app = build_app(
        {
            "bundle": str(bundle_dir),
            "bandits": db,
            "registry": registry,
            "project_dir": str(tmp_path),
            "decision_log": str(tmp_path / "log"),
        }
    )
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as c:
        assert c.post("/predict", json=[ROW], headers=auth).status_code == 200
        chosen = c.post("/bandits/letters/choose", json={"context": {}}, headers=auth)
        assert chosen.status_code == 200, chosen.text
        assert c.post("/bandits/letters/choose", json={"context": {}}).status_code == 401
        assert c.post("/predict", json=[ROW]).status_code == 401


def test_bandits_alone_need_no_model(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from civicml.serve._server import BanditsOnlyApp, build_app

    db, registry, token = _letters(tmp_path, "letters-app")
    app = build_app({"bandits": db, "registry": registry, "project_dir": str(tmp_path)})
    assert isinstance(app, BanditsOnlyApp)
    with TestClient(app) as c:
        assert c.get("/v2/health/ready").status_code == 200  # no token for health
        chosen = c.post(
            "/bandits/letters/choose",
            json={"context": {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["arm"] in ("plain", "deadline")
        assert c.post("/bandits/letters/choose", json={"context": {}}).status_code == 401
        r = c.post("/predict", json=[ROW], headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 404 and "bandits only" in r.json()["error"]


def test_serve_log_retention_days_reaches_the_decision_log(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """``civicml serve --log-retention-days 30`` (ServerOptions.log_retention_days)."""
    from civicml.serve import ServerOptions
    from civicml.serve._launch import _model_config
    from civicml.serve._server import build_app

    opts = ServerOptions(bundle=bundle_dir, project_dir=tmp_path, log_retention_days=30)
    config, _ = _model_config(opts)
    assert config["log_retention_days"] == 30
    app = build_app(config)
    assert app.decision_log is not None and app.decision_log.retention_days == 30


def test_decision_log_deletions_are_audited_in_the_registry(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """Issue 19: an enforced retention period, each deletion in the registry's audit log."""
    import datetime as dt

    import pandas as pd

    from civicml.registry import open_registry
    from civicml.serve import ServerOptions, read_decision_log
    from civicml.serve._launch import _model_config
    from civicml.serve._server import build_app

    opts = ServerOptions(bundle=bundle_dir, project_dir=tmp_path, log_retention_days=30)
    config, folder = _model_config(opts)
    parts = folder / "predictions"
    parts.mkdir(parents=True)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    frame = pd.DataFrame({"time": [pd.Timestamp(old)], "case_id": ["c1"], "score": [0.5]})
    part = parts / f"part-{old:%Y%m%dT%H%M%S}-0001.parquet"
    frame.to_parquet(part, index=False)
    import os

    os.utime(part, (old.timestamp(), old.timestamp()))
    app = build_app(config)
    assert app.decision_log is not None and app.decision_log.on_delete is not None
    app.decision_log.start()
    app.decision_log.close()
    assert not part.exists() and read_decision_log(folder).empty
    with open_registry(None, project_dir=tmp_path) as reg:
        events = [e for e in reg.audit_events() if e.action == "decision_log.delete"]
        assert events and events[-1].subject == f"decisions/{folder.name}"
        assert events[-1].details["rows"] == 1 and reg.verify_audit().ok
