"""The data-minimisation list: purposes, identifiers, constant columns and unused inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .conftest import _frame

FEATURES = ["tenure", "region", "sex", "married", "noise", "client_email"]


@pytest.fixture(scope="module")
def mini_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real model that reads tenure, region, sex and married, and ignores noise and
    client_email (the column transformer drops them), with its permutation importance."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from civicml.assess import global_importance
    from civicml.bundle import save_bundle

    rng = np.random.default_rng(1)
    df = _frame(300, seed=1)
    df["married"] = rng.choice(["yes", "no"], len(df))
    df["noise"] = rng.normal(size=len(df))
    df["client_email"] = [f"person{i}@example.com" for i in range(len(df))]
    cat = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    prep = ColumnTransformer(
        [("num", StandardScaler(), ["tenure"]), ("cat", cat, ["region", "sex", "married"])],
        remainder="drop",
    )
    model = Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=300))])
    model.fit(df[FEATURES], df["ui"])
    importance = global_importance(
        model,
        df,
        df["ui"],
        features=FEATURES,
        task="binary",
        classes=["no", "yes"],
        n_repeats=2,
        max_rows=200,
    )
    spec = {
        "name": "minimise-me",
        "target": "ui",
        "protected": {"sex": "sex", "marriage_and_civil_partnership": "married"},
        "columns": {
            "id": ["case_id"],
            "drop": ["notes"],
            "purpose": {
                "tenure": "Longer claims mean more need.",
                "region": "Services differ by region.",
                "married": "Household income rules depend on it.",
            },
        },
    }
    cols = [
        {"name": c, "role": "numeric" if c in ("tenure", "noise") else "categorical", "n_unique": 5}
        for c in FEATURES
    ] + [{"name": "office", "role": "categorical", "n_unique": 1}]  # an older, undropped one
    quality = {
        "name": "data_quality",
        "passed": False,
        "evidence": "1 data finding(s) need a person's review",
        "details": [
            "'bluecol' has a single value; it cannot help the model and is not used as an input",
            "'tenure' is 3% missing",
        ],
    }
    dest = tmp_path_factory.mktemp("minimise") / "bundle"
    save_bundle(
        dest,
        model=model,
        documents={
            "model_info.json": {
                "name": "minimise-me",
                "task": "binary",
                "target": "ui",
                "features": FEATURES,
                "id_columns": ["case_id"],
                "special_category": {},
            },
            "spec.json": spec,
            "contract.json": {
                "columns": cols,
                "target": "ui",
                "dropped": ["notes", "case_id", "bluecol"],
            },
            "personal_data.json": {
                "findings": [
                    {"column": "client_email", "kind": "email", "label": "email addresses"},
                    {"column": "notes", "kind": "phone", "label": "UK phone numbers"},
                ]
            },
            "checks.json": {"checks": [quality], "passed": False},
            "assessment.json": {"importance": importance},
        },
    )
    return dest


def test_each_kind_is_found_and_nothing_else(mini_bundle: Path) -> None:
    from civicml.report import MINIMISATION_KINDS, minimisation_findings

    found = minimisation_findings(mini_bundle)
    assert sorted((f.column, f.kind) for f in found) == sorted(
        [
            ("client_email", "identifier"),
            ("client_email", "no_purpose"),
            ("client_email", "unused"),
            ("noise", "no_purpose"),
            ("noise", "unused"),
            ("sex", "no_purpose"),
            ("married", "sensitive_input"),
            ("bluecol", "constant"),
            ("office", "constant"),
        ]
    )
    # most serious kind first; dropped ids and declared drops are not "constant"
    assert [f.kind for f in found] == sorted((f.kind for f in found), key=MINIMISATION_KINDS.index)
    assert not {"case_id", "notes", "tenure", "region"} & {f.column for f in found}


def test_sentences_are_plain_and_name_the_reason(mini_bundle: Path) -> None:
    from civicml.report import minimisation_findings

    by = {(f.column, f.kind): f.sentence for f in minimisation_findings(mini_bundle)}
    assert all(s.endswith(".") and "None" not in s for s in by.values())
    assert "protected characteristic sex" in by["sex", "no_purpose"]
    assert "purpose is required" in by["sex", "no_purpose"]
    assert "Household income rules depend on it." in by["married", "sensitive_input"]
    assert "email addresses" in by["client_email", "identifier"]
    assert "roc_auc" in by["noise", "unused"]
    assert "single value" in by["bluecol", "constant"]
    assert by["noise", "unused"].count("'noise'") == 1


def test_an_input_the_model_uses_is_not_called_unused(mini_bundle: Path) -> None:
    from civicml.bundle import verify_bundle

    imp = verify_bundle(mini_bundle).read_json("assessment.json")["importance"]
    by = {r["feature"]: r["importance"] for r in imp["features"]}
    assert by["tenure"] > 0 and by["noise"] == 0.0  # the fixture measures what it claims


def test_findings_serialise(mini_bundle: Path) -> None:
    import json

    from civicml.bundle import verify_bundle
    from civicml.report import minimisation_findings

    found = minimisation_findings(verify_bundle(mini_bundle))  # a loaded bundle works too
    doc = json.loads(json.dumps([f.to_dict() for f in found]))
    assert set(doc[0]) == {"column", "kind", "sentence"}
