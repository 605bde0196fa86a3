from __future__ import annotations

import pandas as pd

from civicml.assess import Reason, explain_rows

FEATURES = ["tenure", "age", "region"]


def test_reasons_in_plain_words_for_any_model(frame: pd.DataFrame, fit_pipeline) -> None:
    model = fit_pipeline(frame, FEATURES)
    out = explain_rows(model, frame.head(4), features=FEATURES, reference=frame, top_k=2)
    assert len(out) == 4 and all(1 <= len(r) <= 2 for r in out)
    r = out[0][0]
    assert isinstance(r, Reason)
    assert r.text.startswith(r.feature) and ("raised" in r.text or "lowered" in r.text)
    assert abs(out[0][0].contribution) >= abs(out[0][-1].contribution)


def test_reasons_from_lightgbm_tree_shap(frame: pd.DataFrame, fit_pipeline) -> None:
    model = fit_pipeline(frame, FEATURES, kind="lightgbm")
    row = frame.head(1).assign(tenure=29.0)
    reasons = explain_rows(model, row, features=FEATURES, reference=frame, top_k=3)[0]
    texts = [r.text for r in reasons]
    assert "tenure of 29 raised the score" in texts
    assert reasons[0].to_dict()["feature"] in FEATURES
