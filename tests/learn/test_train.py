from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civicml._errors import SpecError
from civicml.learn import FeatureRoles, choose_threshold, detect_task, get_metric, train


def _classification(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "region": rng.choice(["north", "south", "east"], size=n),
        }
    )
    X.loc[::17, "x2"] = np.nan
    logit = 1.5 * X["x1"] + (X["region"] == "south") * 1.0
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"), name="y")
    return X, y


ROLES = FeatureRoles(numeric=["x1", "x2"], categorical=["region"])


def test_binary_training_beats_baseline_and_is_reproducible() -> None:
    X, y = _classification()
    kw = dict(roles=ROLES, budget_seconds=60, max_trials=3, seed=1, cv_folds=3)
    r1 = train(X, y, **kw)
    r2 = train(X, y, **kw)
    assert r1.task == "binary" and r1.metric == "roc_auc"
    # the warm starts first: each family's defaults, and LightGBM's library defaults after its own
    assert [e.name for e in r1.leaderboard.entries][:4] == [
        "baseline",
        "linear",
        "lightgbm",
        "lightgbm_2",
    ]
    assert r1.leaderboard.get("lightgbm_2").params["n_estimators"] == 100
    assert r1.leaderboard.best.name != "baseline"
    assert r1.leaderboard.best.cv_mean["roc_auc"] > 0.75
    assert r1.test_metrics["roc_auc"] > 0.7
    assert r1.n_train + r1.n_test == len(X)
    assert r1.classes == ["no", "yes"]
    for a, b in zip(r1.leaderboard.entries, r2.leaderboard.entries, strict=True):
        assert a.cv_mean == b.cv_mean
    assert 0 < r1.threshold.value < 1
    # every reported classification metric is there, as mean and sd
    assert set(r1.leaderboard.best.cv_mean) == {
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
    }
    assert r1.leaderboard.best.fit_seconds > 0 and r1.leaderboard.best.predict_us_per_row > 0


def test_regression_and_multiclass() -> None:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = pd.Series(3 * X["a"] - X["b"] + rng.normal(scale=0.1, size=300), name="t")
    r = train(X, y, roles=FeatureRoles(numeric=["a", "b"]), max_trials=2, cv_folds=3)
    assert r.task == "regression" and r.metric == "rmse"
    assert r.leaderboard.best.name in ("linear", "ensemble")
    assert r.test_metrics["r2"] > 0.95 and r.threshold is None

    yc = pd.Series(np.digitize(X["a"], [-0.5, 0.5]), name="c")
    rc = train(X, yc, roles=FeatureRoles(numeric=["a", "b"]), max_trials=2, cv_folds=3)
    assert rc.task == "multiclass" and rc.metric == "log_loss"
    assert rc.classes == [0, 1, 2]
    assert rc.test_metrics["accuracy"] > 0.8


def test_grouped_cv_keeps_groups_together() -> None:
    X, y = _classification(300)
    groups = pd.Series(np.repeat(np.arange(60), 5))
    r = train(X, y, roles=ROLES, max_trials=2, cv_folds=3, groups=groups)
    test_groups = set(groups.iloc[r.test_index])
    train_groups = set(groups) - test_groups
    assert test_groups and not (test_groups & train_groups)


def test_budget_stops_new_candidates_but_baseline_runs() -> None:
    X, y = _classification()
    events: list[str] = []
    r = train(X, y, roles=ROLES, budget_seconds=1e-6, on_event=lambda k, **kw: events.append(k))
    assert [e.name for e in r.leaderboard.entries] == ["baseline"]
    assert r.best == "baseline"
    assert "candidate_skipped" in events


def test_binary_task_with_three_classes_is_refused() -> None:
    X, _ = _classification(90)
    y = pd.Series(["a", "b", "c"] * 30, name="y")
    with pytest.raises(SpecError, match="'binary'.*3 classes.*multiclass"):
        train(X, y, roles=ROLES, task="binary", max_trials=1)


def test_metric_must_fit_the_task() -> None:
    with pytest.raises(SpecError, match="'rmse' does not apply to a binary task"):
        get_metric("rmse", "binary")


def test_detect_task() -> None:
    assert detect_task(pd.Series([True, False])) == "binary"
    assert detect_task(pd.Series(["a", "b", "c"])) == "multiclass"
    assert detect_task(pd.Series(np.arange(100) * 1.5)) == "regression"


def test_threshold_follows_costs() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    s = np.clip(y * 0.3 + rng.random(2000) * 0.7, 0, 1)
    cheap_fn = choose_threshold(y, s, cost_fp=5, cost_fn=1)
    dear_fn = choose_threshold(y, s, cost_fp=1, cost_fn=5)
    assert dear_fn.value < cheap_fn.value
    assert dear_fn.false_negatives_per_1000 < cheap_fn.false_negatives_per_1000
    # the reported cost is the cost at that threshold
    t = dear_fn.value
    fp = np.sum((s >= t) & (y == 0))
    fn = np.sum((s < t) & (y == 1))
    assert dear_fn.expected_cost_per_1000 == pytest.approx((fp + 5 * fn) / 2000 * 1000)


def test_options_object_equals_keywords_and_keywords_replace_its_fields() -> None:
    from dataclasses import fields

    from civicml.learn import TrainOptions, TrainSettings

    assert set(TrainSettings.__annotations__) == {f.name for f in fields(TrainOptions)}
    X, y = _classification(200)
    kw = dict(max_trials=2, seed=3, cv_folds=3, families=["linear"])
    by_keywords = train(X, y, roles=ROLES, **kw)
    by_options = train(X, y, roles=ROLES, options=TrainOptions(**kw))
    replaced = train(X, y, roles=ROLES, options=TrainOptions(**{**kw, "seed": 9}), seed=3)
    for other in (by_options, replaced):
        assert [e.cv_mean for e in other.leaderboard.entries] == [
            e.cv_mean for e in by_keywords.leaderboard.entries
        ]
        assert other.test_metrics == by_keywords.test_metrics
    with pytest.raises(TypeError):
        train(X, y, roles=ROLES, max_trails=2)  # type: ignore[call-arg]


def test_constant_feature_columns_are_dropped_and_named() -> None:
    """A column with one value cannot help the model, and a served model would demand it."""
    import numpy as np
    import pandas as pd

    from civicml._errors import DataError
    from civicml.learn import FeatureRoles, train

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    X["k"], X["c"], X["gone"] = 1.0, "x", np.nan
    y = pd.Series((X["a"] + rng.normal(size=200) > 0).astype(int))
    roles = FeatureRoles(numeric=["a", "b", "k", "gone"], categorical=["c"])
    result = train(X, y, roles=roles, max_trials=1, families=["linear"], cv_folds=3)
    assert result.roles.features == ["a", "b"]
    assert result.extra["dropped_constant"] == ["c", "k", "gone"]
    assert list(result.pipeline.feature_names_in_) == ["a", "b"]

    with pytest.raises(DataError, match="Every feature column holds a single value"):
        train(X, y, roles=FeatureRoles(numeric=["k"]), max_trials=1, families=["linear"])
