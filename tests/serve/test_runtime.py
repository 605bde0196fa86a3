"""The ONNX Runtime path gives the same outputs as the skops pipeline, and falls back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")

from civicml.bundle import load_bundle
from civicml.serve import ServeOptions
from civicml.serve._runtime import ModelRuntime
from serve._support import ADMIN_TOKEN, ROW, auth, make_bundle, make_lgbm_bundle


@pytest.fixture(scope="module")
def onnx_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("onnx") / "bundle"
    make_bundle(path, onnx=True)
    return path


@pytest.fixture(scope="module")
def lgbm_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lgbm") / "bundle"
    make_lgbm_bundle(path)
    return path


def _runtime(path: Path, **opts: Any) -> ModelRuntime:
    return ModelRuntime(load_bundle(path), "m", "1", ServeOptions(**opts))


def _columns(rt: ModelRuntime, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return rt.schema.validate_records(rows)


def _assert_same(rt: ModelRuntime, columns: dict[str, list[Any]]) -> None:
    fast = rt.predict_columns(columns)
    slow = rt.predict_skops(columns)
    assert list(fast) == list(slow)
    assert fast["prediction"] == slow["prediction"]
    if "decision" in fast:
        assert fast["decision"] == slow["decision"]
        np.testing.assert_allclose(fast["score"], slow["score"], atol=1e-5)
    np.testing.assert_allclose(fast["probability"], slow["probability"], atol=1e-5)
    for k in fast:
        assert [type(v) for v in fast[k]] == [type(v) for v in slow[k]], k


def test_onnx_bundle_serves_through_onnxruntime_with_identical_outputs(onnx_bundle: Path) -> None:
    rt = _runtime(onnx_bundle, unknown_category="allow", out_of_range="allow")
    assert rt.runtime_name == "onnxruntime"
    assert rt.metadata()["parameters"]["runtime"] == "onnxruntime"
    rng = np.random.default_rng(1)
    rows = [
        {
            "age": int(rng.integers(18, 90)),
            "income": None if i % 5 == 0 else float(rng.normal(30_000, 9_000)),
            "region": ["N", "S", "E", "W"][i % 4],
            "postcode": [None, "AB1 2CD", "ZZ9 9ZZ", "SW1A 1AA"][i % 4],
            "member": bool(i % 2),
        }
        for i in range(200)
    ]
    cols = _columns(rt, rows)
    _assert_same(rt, cols)
    _assert_same(rt, _columns(rt, [ROW]))


def test_civicml_lightgbm_with_native_categoricals_matches(lgbm_bundle: Path) -> None:
    rt = _runtime(lgbm_bundle, unknown_category="allow")
    assert rt.runtime_name == "onnxruntime"
    rng = np.random.default_rng(2)
    rows = [
        {
            "age": None if i % 9 == 0 else int(rng.integers(18, 90)),
            "income": None if i % 6 == 0 else float(rng.normal(30_000, 9_000)),
            "region": [None, "N", "S", "E", "W", "X", "unseen"][i % 7],
            "member": [True, False, None][i % 3],
        }
        for i in range(300)
    ]
    cols = _columns(rt, rows)
    _assert_same(rt, cols)
    assert set(rt.predict_columns(cols)["decision"]) == {0, 1}


def test_bundle_without_onnx_uses_skops(bundle_dir: Path) -> None:
    rt = _runtime(bundle_dir)
    assert rt.runtime_name == "skops"
    assert rt.metadata()["parameters"]["runtime"] == "skops"
    from civicml._errors import CivicMLError

    with pytest.raises(CivicMLError, match="ONNX Runtime"):
        _runtime(bundle_dir, runtime="onnx")


def test_operator_can_force_skops(onnx_bundle: Path) -> None:
    assert _runtime(onnx_bundle, runtime="skops").runtime_name == "skops"


def test_runtime_is_in_metadata_and_metrics(
    onnx_bundle: Path, verifier: Any, tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import create_app

    app = create_app(onnx_bundle, verifier=verifier, decision_log=tmp_path / "log", poll_seconds=0)
    with TestClient(app) as c:
        r = c.post("/predict", json=ROW, headers=auth())
        assert r.status_code == 200, r.text
        meta = c.get("/v2/models/claims", headers=auth()).json()
        assert meta["parameters"]["runtime"] == "onnxruntime"
        text = c.get("/metrics", headers=auth(ADMIN_TOKEN)).text
        assert 'civicml_model_runtime{runtime="onnxruntime"} 1' in text
