"""The clients people bring, against a live uvicorn server: MLflow's scoring-server client
(waits on /ping, asks /version, posts to /invocations) and tritonclient with request
compression (gzip and deflate, JSON and binary tensors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from serve._support import PREDICT_TOKEN, ROW, auth

H = {"Authorization": f"Bearer {PREDICT_TOKEN}"}
ROW2 = {**ROW, "age": 21, "region": "S", "member": False}


def _expected(live: Any, rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    from civicml.bundle import Predictor, load_bundle

    return Predictor(load_bundle(live.bundle_dir)).predict(pd.DataFrame(rows))


def test_mlflow_client_waits_for_readiness_and_reads_the_version(live: Any) -> None:
    pytest.importorskip("mlflow")
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    from civicml import __version__

    client = ScoringServerClient("127.0.0.1", live.port)
    client.wait_server_ready(timeout=5)  # polls /ping with no token, as MLflow does
    client.ping()
    assert client.get_version() == __version__


def test_mlflow_probes_reveal_nothing_and_need_no_token(live: Any) -> None:
    import httpx

    for path in ("/ping", "/health"):
        r = httpx.get(live.url + path)
        assert r.status_code == 200 and r.text == "\n"  # MLflow's body: no model, no version
        assert "claims" not in r.text
    r = httpx.get(live.url + "/version")
    assert r.status_code == 200 and "claims" not in r.text and len(r.text) < 40
    assert httpx.post(live.url + "/ping").status_code == 405
    # scoring still needs a token: the probes open nothing else
    assert httpx.post(live.url + "/invocations", json={"inputs": [ROW]}).status_code == 401


def test_mlflow_client_payload_scores_through_invocations(live: Any) -> None:
    pytest.importorskip("mlflow")
    import httpx
    import pandas as pd
    from mlflow.deployments import PredictionsResponse
    from mlflow.utils.proto_json_utils import dump_input_data

    frame = pd.DataFrame([ROW, ROW2])
    # exactly what ScoringServerClient.invoke sends, plus the bearer token civicml requires
    r = httpx.post(
        live.url + "/invocations",
        content=dump_input_data(frame),
        headers={"Content-Type": "application/json", **auth()},
    )
    assert r.status_code == 200, r.text
    got = PredictionsResponse.from_json(r.text).get_predictions()
    expected = _expected(live, [ROW, ROW2])
    assert list(got["prediction"]) == expected["prediction"].tolist()


def _triton_inputs(httpclient: Any, binary: bool) -> list[Any]:
    specs = [
        ("age", "FP32", np.array([[60.0], [21.0]], dtype=np.float32)),
        ("income", "FP32", np.array([[31000.5], [31000.5]], dtype=np.float32)),
        ("region", "BYTES", np.array([["N"], ["S"]], dtype=np.object_)),
        ("postcode", "BYTES", np.array([["AB1 2CD"], ["AB1 2CD"]], dtype=np.object_)),
        ("member", "BOOL", np.array([[True], [False]], dtype=bool)),
    ]
    out = []
    for name, dt, arr in specs:
        t = httpclient.InferInput(name, list(arr.shape), dt)
        t.set_data_from_numpy(arr, binary_data=binary)
        out.append(t)
    return out


@pytest.mark.parametrize(
    ("algorithm", "binary"), [("gzip", True), ("gzip", False), ("deflate", True)]
)
def test_tritonclient_request_compression(live: Any, algorithm: str, binary: bool) -> None:
    httpclient = pytest.importorskip("tritonclient.http")

    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{live.port}")
    result = client.infer(
        "claims",
        _triton_inputs(httpclient, binary),
        outputs=[httpclient.InferRequestedOutput("score", binary_data=binary)],
        headers=dict(H),
        request_compression_algorithm=algorithm,
    )
    expected = _expected(live, [ROW, ROW2])
    np.testing.assert_allclose(
        result.as_numpy("score").ravel(), expected["score"].to_numpy(), rtol=1e-5
    )


#: the KServe SDK's own environment (its pins of pandas and psutil differ from the project's):
#: .ci/run builds it; locally: python3 -m venv .venv-kserve && .venv-kserve/bin/pip install kserve
KSERVE_PYTHON = Path(__file__).resolve().parents[2] / ".venv-kserve" / "bin" / "python"


@pytest.mark.parametrize("binary", [True, False])
def test_kserve_sdk_rest_client(live: Any, binary: bool) -> None:
    import json
    import os
    import subprocess

    if not KSERVE_PYTHON.exists():
        if os.environ.get("CIVICML_REQUIRE_KSERVE"):
            pytest.fail(f"CIVICML_REQUIRE_KSERVE is set but {KSERVE_PYTHON} does not exist")
        pytest.skip("the KServe SDK's environment (.venv-kserve) is not built")
    script = Path(__file__).with_name("kserve_client.py")
    mode = "binary" if binary else "json"
    done = subprocess.run(
        [str(KSERVE_PYTHON), str(script), live.url, PREDICT_TOKEN, mode],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(done.stdout.strip().splitlines()[-1])
    assert doc["ready"] is True
    outputs = {k: np.asarray(v) for k, v in doc["outputs"].items()}
    expected = _expected(live, [ROW, ROW2])
    np.testing.assert_allclose(outputs["score"].ravel(), expected["score"].to_numpy(), rtol=1e-5)
