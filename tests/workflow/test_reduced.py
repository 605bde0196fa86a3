"""The smaller feature set: which columns it drops, and its measured cost on the same folds."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from civicml.workflow._reduced import (
    ReducedSet,
    _members,
    _NotMeasured,
    _refit_folds,
    compare_folds,
    measure_reduced,
    reduced_features,
    reduced_record,
)


def _finding(column: str, kind: str) -> SimpleNamespace:
    return SimpleNamespace(column=column, kind=kind)


def _table(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "x1": x1,
            "noise": rng.normal(size=n),
            "area": rng.choice(["a", "b", "c"], size=n),
            "office": rng.integers(0, 12, size=n),
        }
    )
    y = pd.Series(np.where(x1 + rng.normal(scale=0.6, size=n) > 0, "yes", "no"), name="y")
    return X, y


def _trained(X: pd.DataFrame, y: pd.Series, *, groups: pd.Series | None = None, **kw):
    from civicml.learn import FeatureRoles, train

    roles = FeatureRoles(numeric=["x1", "noise"], categorical=["area"])
    opts = dict(max_trials=1, families=["linear"], cv_folds=4, test_size=0.25, seed=3)
    return train(X, y, roles=roles, groups=groups, **{**opts, **kw})


# --- which columns the smaller set drops -----------------------------------------------------


def test_identifiers_constant_and_unused_are_dropped_but_purpose_and_protected_stay() -> None:
    found = [
        _finding("email", "identifier"),
        _finding("email", "no_purpose"),
        _finding("sex", "sensitive_input"),
        _finding("age", "no_purpose"),
        _finding("noise", "unused"),
        _finding("bluecol", "constant"),
    ]
    r = reduced_features(["age", "sex", "email", "noise", "tenure"], found)
    assert r.kept == ["age", "sex", "tenure"]
    assert r.dropped == {"email": ["identifier"], "noise": ["unused"]}
    assert r.not_inputs == {"bluecol": ["constant"]}
    assert r.differs


def test_an_important_identifier_is_still_dropped() -> None:
    # the rule does not look at importance for identifiers: a model that leans on a person's
    # email address is the case minimisation exists for
    r = reduced_features(["email", "x"], [_finding("email", "identifier")])
    assert r.kept == ["x"] and "email" in r.dropped


def test_only_constant_non_inputs_means_no_refit_and_zero_cost(monkeypatch) -> None:
    import civicml.learn

    def boom(*a, **k):
        raise AssertionError("no refit may run when nothing is dropped")

    monkeypatch.setattr(civicml.learn, "cross_validate", boom)
    r = reduced_features(["x1", "noise"], [_finding("bluecol", "constant")])
    assert not r.differs
    result = SimpleNamespace(metric="roc_auc", task="binary")
    doc = measure_reduced(pd.DataFrame(), pd.Series(dtype=float), result, r, seed=0, cv_folds=5)
    assert doc["refit"] is False and doc["seconds"] == 0.0
    assert "no refit was needed and it costs nothing" in doc["verdict"]
    assert doc["not_model_inputs"][0]["column"] == "bluecol"


def test_dropping_every_input_is_said_not_measured() -> None:
    r = reduced_features(["email"], [_finding("email", "identifier")])
    result = SimpleNamespace(metric="roc_auc", task="binary")
    doc = measure_reduced(pd.DataFrame(), pd.Series(dtype=float), result, r, seed=0, cv_folds=5)
    assert doc["refit"] is False
    assert doc["verdict"].startswith("Dropping 1 column (email) was not measured")
    assert "every input would be dropped" in doc["verdict"]


# --- the same folds, the same configuration ---------------------------------------------------


@pytest.mark.parametrize(
    ("task", "grouped"),
    [("binary", False), ("binary", True), ("multiclass", False), ("regression", False)],
)
def test_folds_are_the_ones_learn_train_made(task: str, grouped: bool) -> None:
    """The refit calls learn's own fold rule (one rule, no copy): each row is held out once a
    repeat, a rare class caps the folds, and grouped folds keep a group on one side."""
    from civicml.learn import cv_splits

    rng = np.random.default_rng(1)
    n = 90
    X = pd.DataFrame({"a": rng.normal(size=n)})
    if task == "regression":
        y = rng.normal(size=n)
    elif task == "multiclass":
        y = np.array(["a"] * 40 + ["b"] * 47 + ["c"] * 3, dtype=object)  # rare class: 3 folds
    else:
        y = rng.integers(0, 2, size=n)
    groups = rng.integers(0, 15, size=n) if grouped else None
    folds = cv_splits(X, y, task, 5, 7, groups)
    assert len(folds) == (3 if task == "multiclass" else 5)
    assert np.array_equal(np.sort(np.concatenate([va for _, va in folds])), np.arange(n))
    for tr, va in folds:
        assert not set(tr) & set(va)
        if grouped:
            assert not set(groups[tr]) & set(groups[va])
    if not grouped:
        again = cv_splits(X, y, task, 5, 7, None, 3)
        assert len(again) == 3 * len(folds) > 5


def test_a_refit_on_all_inputs_reproduces_the_recorded_fold_scores() -> None:
    # the strongest check that the folds, the held-out rows, the target encoding and the
    # candidate's configuration are the full model's: nothing dropped, identical scores
    X, y = _table()
    result = _trained(X, y)
    feats = result.roles.features
    same = ReducedSet(feats, feats, {}, {})
    full, small, (n_train, n_test), repeats = _refit_folds(X, y, result, same, 3, 4, None)
    assert repeats == 1
    assert len(full) == 4
    assert np.allclose(full, small, rtol=0, atol=1e-12)
    assert n_train + n_test == result.n_train


def test_repeated_folds_are_reproduced_and_labelled() -> None:
    from civicml.learn import TrainOptions

    if "cv_repeats" not in TrainOptions.__dataclass_fields__:
        pytest.skip("this learn has no repeated cross-validation")
    X, y = _table()
    result = _trained(X, y, cv_repeats=2)
    assert result.extra["estimate"]["repeats"] == 2
    feats = result.roles.features
    same = ReducedSet(feats, feats, {}, {})
    full, small, _, repeats = _refit_folds(X, y, result, same, 3, 4, None)
    assert repeats == 2 and len(full) == 8
    assert np.allclose(full, small, rtol=0, atol=1e-12)
    r = reduced_features(feats, [_finding("noise", "unused")])
    doc = measure_reduced(X, y, result, r, seed=3, cv_folds=4)
    assert [(f["fold"], f["repeat"]) for f in doc["folds"]][3:5] == [(4, 1), (1, 2)]
    assert doc["n_folds"] == 8 and "4 folds × 2 repeats" in doc["verdict"]


def test_grouped_folds_are_reproduced_too() -> None:
    X, y = _table(seed=4)
    groups = pd.Series(np.arange(len(X)) // 4, name="household")
    result = _trained(X, y, groups=groups)
    feats = result.roles.features
    full, small, _, _ = _refit_folds(X, y, result, ReducedSet(feats, feats, {}, {}), 3, 4, groups)
    assert np.allclose(full, small, rtol=0, atol=1e-12)


def test_dropping_noise_is_measured_and_within_noise() -> None:
    X, y = _table()
    result = _trained(X, y)
    r = reduced_features(result.roles.features, [_finding("noise", "unused")])
    doc = measure_reduced(X, y, result, r, seed=3, cv_folds=4)
    assert doc["refit"] is True and sorted(doc["kept"]) == ["area", "x1"]
    assert [f["fold"] for f in doc["folds"]] == [1, 2, 3, 4]
    assert {f["repeat"] for f in doc["folds"]} == {1}
    assert doc["full_mean"] == pytest.approx(result.leaderboard.best.cv_mean["roc_auc"])
    assert 0.0 <= doc["p_value"] <= 1.0 and doc["low"] <= doc["cost"] <= doc["high"]
    assert abs(doc["cost"]) < 0.05 and doc["within_noise"] is True
    assert doc["verdict"].startswith("Dropping 1 column (noise) ")
    assert "within noise" in doc["verdict"] and "p = " in doc["verdict"]
    assert doc["seconds"] > 0


def test_dropping_the_signal_is_reported_as_a_real_loss() -> None:
    X, y = _table(n=400)
    result = _trained(X, y, cv_folds=5)
    r = reduced_features(result.roles.features, [_finding("x1", "identifier")])
    doc = measure_reduced(X, y, result, r, seed=3, cv_folds=5)
    assert doc["cost"] > 0.2  # the model loses nearly everything it knew
    assert doc["p_value"] < 0.05 and doc["within_noise"] is False
    assert "a real loss" in doc["verdict"] and "ROC AUC" in doc["verdict"]
    assert all(f["cost"] > 0 for f in doc["folds"])


def test_a_refit_that_breaks_is_recorded_not_raised(monkeypatch) -> None:
    import civicml.learn

    X, y = _table()
    result = _trained(X, y)

    def broken(*a, **k):
        raise RuntimeError("out of file handles\nmore detail")

    monkeypatch.setattr(civicml.learn, "cross_validate", broken)
    r = reduced_features(result.roles.features, [_finding("noise", "unused")])
    doc = measure_reduced(X, y, result, r, seed=3, cv_folds=4)
    assert doc["refit"] is False and "folds" not in doc
    assert doc["verdict"] == (
        "Dropping 1 column (noise) was not measured: the refit failed "
        "(RuntimeError: out of file handles)."
    )


def test_a_lower_is_better_metric_counts_a_higher_error_as_cost() -> None:
    c = compare_folds([1.0, 1.1, 0.9], [1.3, 1.4, 1.2], (80, 20), greater_is_better=False)
    assert c["cost"] == pytest.approx(0.3)
    r = ReducedSet(["a", "b"], ["a"], {"b": ["unused"]}, {})
    doc = reduced_record(
        r, "rmse", c, ([1.0, 1.1, 0.9], [1.3, 1.4, 1.2]), seconds=1.0, greater_is_better=False
    )
    assert [round(f["cost"], 6) for f in doc["folds"]] == [0.3, 0.3, 0.3]
    assert "costs 0.300 RMSE, a real loss" in doc["verdict"]
    assert doc["verdict"].endswith("the model needs it.")


def test_the_record_is_plain_json() -> None:
    import json

    c = compare_folds([0.8, 0.82, 0.81], [0.79, 0.82, 0.80], (800, 200), greater_is_better=True)
    r = ReducedSet(["a", "b", "c"], ["a"], {"b": ["unused"], "c": ["identifier", "unused"]}, {})
    doc = reduced_record(r, "roc_auc", c, ([0.8, 0.82, 0.81], [0.79, 0.82, 0.80]), seconds=0.4)
    again = json.loads(json.dumps(doc, allow_nan=False))
    assert again["dropped"][1] == {
        "column": "c",
        "kinds": ["identifier", "unused"],
        "reason": "can identify a person; the model does not use it (zero importance)",
    }
    assert again["verdict"].startswith("Dropping 2 columns (b, c) costs 0.007 ROC AUC, within")


def test_an_ensemble_refits_each_member_with_its_weight() -> None:
    def entry(name: str, family: str, params: dict) -> SimpleNamespace:
        return SimpleNamespace(name=name, family=family, params=params)

    lin, rf = entry("linear", "linear", {}), entry("rf#2", "random_forest", {"n": 5})
    ens = entry("ensemble", "ensemble", {"members": {"linear": 1.0, "rf#2": 3.0}})
    got = _members(ens, [lin, rf, ens])
    assert [(m.name, w) for m, w in got] == [("linear", 0.25), ("rf#2", 0.75)]
    with pytest.raises(_NotMeasured, match="not on the board"):
        _members(entry("ensemble", "ensemble", {"members": {"gone": 1.0}}), [lin])


# --- through civicml run ----------------------------------------------------------------------


@pytest.mark.slow  # one real training run (search, assessment, ONNX, energy): ~6 s of CPU
def test_civicml_run_records_the_smaller_set_in_the_bundle(
    tiny_project: Path, tmp_path: Path
) -> None:
    from civicml.bundle import verify_bundle
    from civicml.spec import load_spec
    from civicml.workflow import run_training

    spec = load_spec(tiny_project)
    stages: list[str] = []
    out = run_training(
        spec,
        tmp_path / "bundle",
        track=False,
        on_event=lambda kind, **kw: stages.append(kw["name"]) if kind == "stage" else None,
    )
    assert "minimise" in stages
    bundle = verify_bundle(out.bundle.path)  # hashed with the rest
    doc = bundle.read_json("minimisation.json")
    assert doc["features"] == bundle.info["features"] == ["region", "x1"]
    # region is pure noise in the tiny project: the model does not use it (x1 it does)
    assert {d["column"] for d in doc["dropped"]} <= {"region"}
    if not doc["dropped"]:  # the assessment found a use for it after all: nothing to refit
        assert doc["refit"] is False and "costs nothing" in doc["verdict"]
        return
    assert doc["refit"] is True and len(doc["folds"]) == spec.cv_folds
    best = out.result.leaderboard.best
    assert [f["full"] for f in doc["folds"]] == best.extra["fold_scores"]
    assert doc["verdict"].startswith("Dropping 1 column (region) ")
