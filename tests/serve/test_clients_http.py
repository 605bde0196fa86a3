"""What raw HTTP clients send: compressed bodies on every POST route (and gzip bombs), media
types a route does not read (415), unknown paths (no new metrics series), and a model warmed
before it reports ready."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from serve._support import ADMIN_TOKEN, REVIEW_TOKEN, ROW, auth

GZ = {"Content-Encoding": "gzip"}
JSON_T = {"Content-Type": "application/json"}


def _post(client: Any, path: str, body: bytes, token: str | None = None, **headers: str) -> Any:
    return client.post(path, content=body, headers={**auth(*([token] if token else [])), **headers})


def _infer_doc() -> dict[str, Any]:
    types = {"age": "FP64", "income": "FP64", "region": "BYTES", "postcode": "BYTES"}
    inputs = [{"name": k, "shape": [1], "datatype": t, "data": [ROW[k]]} for k, t in types.items()]
    inputs.append({"name": "member", "shape": [1], "datatype": "BOOL", "data": [True]})
    return {"inputs": inputs}


@pytest.mark.parametrize(
    ("path", "doc"),
    [
        ("/predict", ROW),
        ("/invocations", {"dataframe_records": [ROW]}),
        ("/explain", ROW),
        ("/v2/models/claims/infer", None),
    ],
)
@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate"])
def test_compressed_json_bodies_on_every_scoring_route(
    client: Any, path: str, doc: Any, coding: str
) -> None:
    raw = orjson.dumps(doc if doc is not None else _infer_doc())
    packed = zlib.compress(raw) if coding == "deflate" else gzip.compress(raw)
    r = _post(client, path, packed, **JSON_T, **{"Content-Encoding": coding})
    assert r.status_code == 200, r.text
    plain = _post(client, path, raw, **JSON_T)
    key = "outputs" if doc is None else "predictions"
    assert r.json()[key] == plain.json()[key]


def test_compressed_csv_and_case_routes(client: Any) -> None:
    csv = b"age,income,region,postcode,member\n60,31000.5,N,AB1 2CD,true\n"
    r = _post(client, "/invocations", gzip.compress(csv), **GZ, **{"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    case_id = r.headers["x-case-id"]
    body = gzip.compress(orjson.dumps({"reason": "I was not asked"}))
    r = _post(client, f"/decisions/{case_id}/contest", body, **GZ, **JSON_T)
    assert r.status_code == 201, r.text
    body = gzip.compress(orjson.dumps({"decision": "yes", "reason": "checked"}))
    r = _post(client, f"/decisions/{case_id}/review", body, REVIEW_TOKEN, **GZ, **JSON_T)
    assert r.status_code == 200, r.text


def test_a_gzip_bomb_is_refused_without_inflating_it(client: Any) -> None:
    # 64 MB of zeros in ~64 KB: far under the 8 MB body limit as sent, far over it inflated
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000
    started = time.perf_counter()
    r = _post(client, "/predict", bomb, **GZ, **JSON_T)
    assert r.status_code == 413, r.text
    assert "once decompressed" in r.json()["error"]
    assert time.perf_counter() - started < 5
    # nested codings are capped at every step too
    r = _post(client, "/predict", gzip.compress(bomb), **{"Content-Encoding": "gzip, gzip"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("body", "coding", "status", "says"),
    [
        (b"{}", "br", 415, "gzip, x-gzip, deflate, identity"),
        (b"{}", "compress", 415, "Content-Encoding 'compress'"),
        (b"not gzip at all", "gzip", 400, "not valid gzip"),
        (gzip.compress(b'{"age": 1}')[:-12], "gzip", 400, "not valid gzip"),
    ],
)
def test_bad_codings(client: Any, body: bytes, coding: str, status: int, says: str) -> None:
    r = _post(client, "/predict", body, **JSON_T, **{"Content-Encoding": coding})
    assert r.status_code == status, r.text
    assert says in r.json()["error"]


@pytest.mark.parametrize(
    ("path", "ctype", "accepted"),
    [
        ("/predict", "text/plain", "application/json, text/csv"),
        ("/invocations", "application/x-www-form-urlencoded", "application/json, text/csv"),
        ("/invocations", "application/vnd.apache.parquet", "application/json, text/csv"),
        ("/explain", "text/csv", "application/json"),
        ("/v2/models/claims/infer", "text/xml", "application/json, application/octet-stream"),
        ("/decisions/c-1/contest", "multipart/form-data; boundary=x", "application/json"),
    ],
)
def test_unsupported_media_types_are_415(client: Any, path: str, ctype: str, accepted: str) -> None:
    r = _post(client, path, orjson.dumps(ROW), **{"Content-Type": ctype})
    assert r.status_code == 415, r.text
    assert set(r.json()) == {"error"}
    assert accepted in r.json()["error"]


def test_a_charset_other_than_utf8_is_415_and_json_variants_are_read(client: Any) -> None:
    body = orjson.dumps(ROW)
    r = _post(client, "/predict", body, **{"Content-Type": "application/json; charset=latin-1"})
    assert r.status_code == 415 and "UTF-8" in r.json()["error"]
    for ctype in (
        "application/json; charset=UTF-8",
        "application/problem+json",
        "APPLICATION/JSON",
    ):
        assert _post(client, "/predict", body, **{"Content-Type": ctype}).status_code == 200
    assert _post(client, "/predict", body).status_code == 200  # no Content-Type: read as JSON


def test_unknown_paths_add_no_metrics_series(client: Any) -> None:
    before = client.get("/metrics", headers=auth(ADMIN_TOKEN)).text.count("civicml_requests_total{")
    for i in range(100):
        client.get(f"/scan/{i}/wp-admin.php")
        client.post(f"/v2/models/model-{i}/infer", json={}, headers=auth())
        client.get(f"/decisions/case-{i}", headers=auth(REVIEW_TOKEN))
    text = client.get("/metrics", headers=auth(ADMIN_TOKEN)).text
    assert "wp-admin" not in text and "model-1" not in text and "case-1" not in text
    assert text.count("civicml_requests_total{") <= before + 4


# -- warm before ready -------------------------------------------------------------------


def _ready(app: Any, path: str = "/v2/health/ready") -> int:
    """The status of one unauthenticated GET, straight through the ASGI interface."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"])


def test_readiness_waits_for_the_warm_up(
    bundle_dir: Path, verifier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml.serve import create_app
    from civicml.serve._runtime import ModelRuntime

    release = threading.Event()
    warmed: list[bool] = []
    real = ModelRuntime.warm_up

    def slow_warm_up(self: Any) -> Any:
        release.wait(10)
        warmed.append(True)
        return real(self)

    monkeypatch.setattr(ModelRuntime, "warm_up", slow_warm_up)
    app = create_app(bundle_dir, verifier=verifier, poll_seconds=0, load=False)
    loader = threading.Thread(target=app.holder.load)
    loader.start()
    try:
        time.sleep(0.3)
        assert _ready(app) == 503 and _ready(app, "/ping") == 503
        assert not warmed
    finally:
        release.set()
        loader.join(20)
    assert warmed and _ready(app) == 200 and _ready(app, "/ping") == 200


def test_the_first_request_after_ready_is_not_the_slow_one(
    bundle_dir: Path, verifier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.testclient import TestClient

    from civicml.bundle import Predictor
    from civicml.serve import create_app

    # a model that builds something expensive on its first call (an embedder's weights, a
    # session's first run): 1.5 s once, then nothing
    real = Predictor.predict
    built: list[bool] = []

    def lazy_predict(self: Any, frame: Any) -> Any:
        if not built:
            time.sleep(1.5)
            built.append(True)
        return real(self, frame)

    monkeypatch.setattr(Predictor, "predict", lazy_predict)
    app = create_app(bundle_dir, verifier=verifier, poll_seconds=0)
    assert built, "the warm-up scored a row before the app existed"
    assert app.holder.runtime.warm_seconds is not None
    with TestClient(app) as c:
        assert c.get("/v2/health/ready").status_code == 200
        times = []
        for _ in range(2):
            started = time.perf_counter()
            assert c.post("/predict", json=ROW, headers=auth()).status_code == 200
            times.append(time.perf_counter() - started)
    assert times[0] < times[1] + 0.75, times


def test_a_model_that_fails_its_warm_up_is_still_served(
    bundle_dir: Path, verifier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml.serve import create_app
    from civicml.serve._runtime import ModelRuntime

    def broken(self: Any) -> Any:
        raise ValueError("no typical row")

    monkeypatch.setattr(ModelRuntime, "typical_row", broken)
    app = create_app(bundle_dir, verifier=verifier, poll_seconds=0)
    assert app.holder.runtime.warm_seconds is None
    assert _ready(app) == 200


def test_raw_deflate_is_read_too(client: Any) -> None:
    packer = zlib.compressobj(wbits=-15)  # some clients send deflate without the zlib header
    body = packer.compress(orjson.dumps(ROW)) + packer.flush()
    r = _post(client, "/predict", body, **JSON_T, **{"Content-Encoding": "deflate"})
    assert r.status_code == 200, r.text
