"""AutoClassifier / AutoRegressor on real public tables as pandas reads them (issue 22).

The table is Palmer penguins' raw data as shipped by the ``palmerpenguins`` package: strings,
a date, free-text comments and missing values in most columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civicml._errors import ContractError, DataError, SpecError
from civicml.data import drop_constant_columns, infer_contract
from civicml.learn import AutoClassifier, AutoRegressor, FeatureRoles, _auto

penguins = pytest.importorskip("palmerpenguins")

FAST = dict(max_trials=2, cv_folds=3, families=["linear", "lightgbm"])
NO_TEXT = {"Comments": "drop"}  # the sentence embedder is tested once, in the first test


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The raw table with one column of each kind: strings, a pandas categorical, booleans, a
    date, free text, numbers, and missing values."""
    df = penguins.load_penguins_raw()
    df["Sex"] = df["Sex"].astype("category")
    df["Clutch Completion"] = df["Clutch Completion"] == "Yes"
    return df


@pytest.fixture(scope="module")
def species(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, AutoClassifier]:
    X, y = raw.drop(columns="Species"), raw["Species"]
    return X, y, AutoClassifier(roles=NO_TEXT, **FAST).fit(X, y)


def test_classifier_fits_a_frame_of_every_kind_of_column(raw: pd.DataFrame) -> None:
    X, y = raw.drop(columns="Species"), raw["Species"]
    assert X.isna().any().sum() >= 8
    assert {str(t) for t in X.dtypes} >= {"str", "category", "bool", "float64", "int64"}
    clf = AutoClassifier(max_trials=1, cv_folds=3, families=["linear"]).fit(X, y)
    # roles exactly as `civicml train` infers them (the workflow's contract -> FeatureRoles)
    contract = drop_constant_columns(infer_contract(X))
    expected = FeatureRoles.from_mapping({c.name: c.role for c in contract.columns})
    assert clf.roles_ == expected
    assert clf.roles_.text == ["Comments"] and clf.roles_.date == ["Date Egg"]
    assert "Sex" in clf.roles_.categorical and "Clutch Completion" in clf.roles_.categorical
    assert list(clf.feature_names_in_) == list(X.columns)
    proba = clf.predict_proba(X.iloc[:40])
    assert proba.shape == (40, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= set(y) and clf.score(X, y) > 0.9


def test_classifier_predict_proba_score_and_labels(species: tuple) -> None:
    X, y, clf = species
    assert list(clf.classes_) == sorted(y.unique())
    assert clf.score(X, y) > 0.9
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert "Comments" not in clf.roles_.features and "Comments" in clf.contract_.dropped


def test_a_missing_column_is_one_line_naming_it_and_the_method(species: tuple) -> None:
    X, _, clf = species
    for method in ("predict", "predict_proba"):
        with pytest.raises(ContractError) as err:
            getattr(clf, method)(X.drop(columns=["Island"]))
        message = str(err.value)
        assert "\n" not in message
        assert f"AutoClassifier.{method}" in message and "'Island'" in message
        assert "is missing" in message and "Add the missing columns" in message


def test_a_column_of_the_wrong_type_is_refused(species: tuple) -> None:
    X, _, clf = species
    bad = X.copy()
    bad["Body Mass (g)"] = bad["Body Mass (g)"].astype(object)
    bad.loc[3, "Body Mass (g)"] = "heavy"
    with pytest.raises(ContractError, match=r"Body Mass \(g\).*heavy|heavy.*Body Mass"):
        clf.predict(bad)


def test_extra_columns_order_and_new_blanks_are_scored(species: tuple) -> None:
    X, _, clf = species
    expected = clf.predict_proba(X.iloc[:30])
    shuffled = X.iloc[:30, ::-1].assign(unseen=1, Comments="now a comment")
    assert np.allclose(clf.predict_proba(shuffled), expected)
    blanks = X.iloc[:30].copy()
    blanks["Island"] = None  # no blanks in training: imputed, not refused
    assert clf.predict(blanks).shape == (30,)
    # columns that are not model inputs (dropped, constant) are not required
    assert clf.predict(X.drop(columns=["Comments", "Region"])).shape == (len(X),)


def test_roles_override_the_inference(raw: pd.DataFrame) -> None:
    X, y = raw.drop(columns="Species"), raw["Species"]
    roles = {**NO_TEXT, "Island": "drop", "Sample Number": "categorical", "Individual ID": "id"}
    clf = AutoClassifier(roles=roles, max_trials=1, cv_folds=3, families=["linear"]).fit(X, y)
    assert "Sample Number" in clf.roles_.categorical
    assert not {"Island", "Individual ID", "Comments"} & set(clf.roles_.features)
    assert clf.predict(X.drop(columns=["Island", "Individual ID"])).shape == (len(X),)


@pytest.mark.parametrize(
    ("roles", "match"),
    [
        ({"Islnd": "drop"}, "Did you mean 'Island'"),
        ({"Island": "feature"}, "unknown role"),
        ({"Island": "numeric"}, "holds string values"),
        (["Island"], "roles must map column names to roles"),
    ],
)
def test_bad_roles_are_one_clear_line(raw: pd.DataFrame, roles: object, match: str) -> None:
    X, y = raw.drop(columns="Species"), raw["Species"]
    with pytest.raises(SpecError, match=match) as err:
        AutoClassifier(roles=roles, max_trials=1, families=["linear"]).fit(X, y)
    assert "\n" not in str(err.value)


def test_roles_need_a_frame() -> None:
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(SpecError, match="roles= needs X as a pandas DataFrame"):
        AutoClassifier(roles={"x0": "numeric"}, max_trials=1).fit(X, X[:, 0] > 0)


def test_regressor_on_the_raw_frame(raw: pd.DataFrame) -> None:
    rows = raw[raw["Body Mass (g)"].notna()]
    X, y = rows.drop(columns="Body Mass (g)"), rows["Body Mass (g)"]
    reg = AutoRegressor(roles=NO_TEXT, **FAST).fit(X, y)
    assert reg.score(X, y) > 0.7
    assert reg.predict(X.iloc[:5]).shape == (5,)
    with pytest.raises(ContractError, match="'Flipper Length \\(mm\\)'"):
        reg.predict(X.drop(columns="Flipper Length (mm)"))
    with pytest.raises(DataError, match="y has 2 missing values"):
        AutoRegressor(roles=NO_TEXT, **FAST).fit(
            raw.drop(columns="Body Mass (g)"), raw["Body Mass (g)"]
        )


def test_small_budgets_leave_out_the_family_that_cannot_stop_and_count_from_fit(
    monkeypatch: pytest.MonkeyPatch, raw: pd.DataFrame
) -> None:
    seen: dict = {}

    def fake_train(frame: pd.DataFrame, y: pd.Series, **kwargs: object) -> object:
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(_auto, "train", fake_train)
    X, y = raw.drop(columns="Species"), raw["Species"]
    with pytest.raises(RuntimeError, match="stop here"):
        AutoClassifier(budget_seconds=5, roles=NO_TEXT).fit(X, y)
    assert seen["families"] is not None and "mlp" not in seen["families"]
    assert "lightgbm" in seen["families"] and "linear" in seen["families"]
    # the time spent checking and inferring the frame comes out of the budget
    assert 0 < seen["budget_seconds"] < 5
    with pytest.raises(RuntimeError):
        AutoClassifier(budget_seconds=60, roles=NO_TEXT).fit(X, y)
    assert seen["families"] is None
    with pytest.raises(RuntimeError):
        AutoClassifier(budget_seconds=5, families=["mlp"], roles=NO_TEXT).fit(X, y)
    assert seen["families"] == ["mlp"]


def test_arrays_are_still_numbers_only() -> None:
    X = np.array([["April", 1.0], ["May", 2.0]] * 10, dtype=object)
    with pytest.raises(ValueError, match="could not convert string to float"):
        AutoClassifier(max_trials=1, families=["linear"]).fit(X, [0, 1] * 10)


def test_unnamed_input_to_a_frame_model_is_read_in_the_fitted_order(species: tuple) -> None:
    X, _, clf = species
    expected = clf.predict_proba(X.iloc[:20])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = clf.predict_proba(X.iloc[:20].to_numpy())
    assert np.allclose(from_array, expected)
    unnamed = X.iloc[:20].set_axis(range(X.shape[1]), axis=1)
    assert np.allclose(clf.predict_proba(unnamed), expected)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X.iloc[:5, :4].to_numpy())
