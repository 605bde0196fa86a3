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


def test_permutation_drops_batch_the_calls_and_agree_with_scikit_learn(
    frame: pd.DataFrame, fit_pipeline, monkeypatch
) -> None:
    import numpy as np
    from sklearn.inspection import permutation_importance

    from civicml.assess import _explain
    from civicml.assess._explain import _scorer, permutation_drops

    model = fit_pipeline(frame, FEATURES)
    X, y = frame[FEATURES].head(300).reset_index(drop=True), frame["outcome"].head(300)
    calls: list[int] = []

    class Counted:
        def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
            calls.append(len(rows))
            return model.predict_proba(rows)

    scorer = _scorer("roc_auc", ["no", "yes"])
    drops = permutation_drops(Counted(), X, y.to_numpy(), scorer, 4, 0)
    assert drops.shape == (3, 4)
    # the baseline, then all 12 shuffled copies in one call (3,600 rows is under one batch)
    assert calls == [300, 3 * 4 * 300]
    # the same importances (to the noise of the shuffles) as scikit-learn's, call by call
    sk = permutation_importance(
        model, X, y, scoring="roc_auc", n_repeats=30, random_state=0, n_jobs=1
    )
    ours = permutation_drops(model, X, y.to_numpy(), scorer, 30, 1).mean(axis=1)
    np.testing.assert_allclose(ours, sk.importances_mean, atol=0.01)
    assert np.argmax(ours) == np.argmax(sk.importances_mean)
    # a batch never exceeds BATCH_ROWS rows: the copies are split across calls
    calls.clear()
    monkeypatch.setattr(_explain, "BATCH_ROWS", 1000)
    again = permutation_drops(Counted(), X, y.to_numpy(), scorer, 4, 0)
    assert calls == [300, 900, 900, 900, 900] and np.array_equal(again, drops)
