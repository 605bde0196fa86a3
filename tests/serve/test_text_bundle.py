"""A bundle with a free-text column serves like any other, and its text is never logged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from serve._support import auth

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "text" / "reviews.csv"


@pytest.fixture(scope="module")
def text_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from civicml.spec import spec_from_dict
    from civicml.workflow import run_training

    folder = tmp_path_factory.mktemp("text")
    pd.read_csv(EXAMPLE).head(300).to_csv(folder / "reviews.csv", index=False)
    spec = spec_from_dict(
        {
            "name": "reviews",
            "data": {"path": "reviews.csv"},
            "target": "label",
            "task": "binary",
            "max_trials": 1,
            "cv_folds": 2,
            "models": ["linear"],
            "columns": {"text": ["text"]},
            "personal_data": {"scan": False},
        },
        base_dir=folder,
    )
    with pytest.MonkeyPatch.context() as env:  # never leak into later tests
        env.setenv("CIVICML_REGISTRY", f"sqlite:///{folder / 'registry.db'}")
        run_training(spec, folder / "bundle", track=False)
    return folder / "bundle"


def test_text_bundle_serves_predict_and_v2(
    text_bundle: Path, verifier: Any, tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from civicml.bundle import Predictor, load_bundle
    from civicml.serve import create_app
    from civicml.serve._decision_log import REDACTED, read_decision_log

    rows = [
        {"text": "A warm, funny and moving film; the best of the year."},
        {"text": "Dull, clumsy and far too long. Call 07700 900123 for a refund."},
    ]
    app = create_app(text_bundle, verifier=verifier, decision_log=tmp_path / "log", poll_seconds=0)
    with TestClient(app) as client:
        r = client.post("/predict", json=rows, headers=auth())
        assert r.status_code == 200, r.text
        got = [p["score"] for p in r.json()["predictions"]]
        want = Predictor(load_bundle(text_bundle)).predict(pd.DataFrame(rows))["score"]
        assert got == pytest.approx(want.tolist())
        body = {
            "inputs": [
                {
                    "name": "text",
                    "shape": [2, 1],
                    "datatype": "BYTES",
                    "data": [r_["text"] for r_ in rows],
                }
            ]
        }
        r = client.post("/v2/models/reviews/infer", json=body, headers=auth())
        assert r.status_code == 200, r.text
        outs = {o["name"]: o["data"] for o in r.json()["outputs"]}
        assert outs["score"] == pytest.approx(want.tolist())
    log = read_decision_log(tmp_path / "log")
    assert len(log) >= 4
    assert set(log["text"].dropna()) == {REDACTED}
    assert not log.astype(str).apply(lambda c: c.str.contains("07700")).any().any()
