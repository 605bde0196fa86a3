from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _frame(n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "tenure": rng.integers(1, 30, n).astype(float),
            "age": rng.integers(18, 70, n),
            "sex": rng.choice(["female", "male"], n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    logit = 0.12 * (df["tenure"] - 10) + (df["region"] == "north") * 0.8
    df["ui"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return df


ENERGY = {
    "scope": "search, refit and assessment",
    "energy_kwh": 0.31,
    "emissions_g": 73.6,
    "duration_s": 58.2,
    "method": "CPU power estimate (TDP 8 W × this process's CPU load, AMD EPYC)",
    "carbon_intensity_g_per_kwh": 237.6,
    "country_iso_code": "GBR",
    "tool": "codecarbon 3.3.2",
    "predict": {"wh_per_1000": 0.0042, "g_per_1000": 0.001, "rows": 120000},
}
TRADED = "chose linear: roc_auc 0.698 vs 0.700 (−0.002, within 0.005), 8× less energy"


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small but real bundle with assessment.json and checks.json, as 'civicml run' saves."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from civicml.assess import assess_model, checks_to_dict, evaluate_checks
    from civicml.bundle import save_bundle

    df = _frame()
    feats = ["tenure", "age", "region"]
    train, test = df.iloc[:400], df.iloc[400:].reset_index(drop=True)
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), ["tenure", "age"]),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["region"]),
        ]
    )
    model = Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=300))])
    model.fit(train[feats], train["ui"])
    a = assess_model(
        model,
        test[feats],
        test["ui"],
        task="binary",
        classes=["no", "yes"],
        threshold=0.4,
        protected={"sex": "sex", "age": "age"},
        frame_test=test,
        features=feats,
        n_boot=50,
    )
    checks = evaluate_checks(a, metric="roc_auc", min_metric=0.6)
    spec = {
        "name": "benefits-mini",
        "description": "Who takes up unemployment insurance.",
        "cv_folds": 5,
        "protected": {"sex": "sex", "age": "age"},
        "owner": {
            "organisation": "Example Department",
            "team": "Analytics",
            "senior_responsible_owner": "Director",
            "contact": "team@example.gov.uk",
        },
        "intended_use": "Prioritising outreach. Not for deciding eligibility.",
        "out_of_scope_uses": ["Deciding anyone's entitlement to benefits"],
    }
    info = {
        "name": "benefits-mini",
        "task": "binary",
        "target": "ui",
        "metric": "roc_auc",
        "candidate": "linear",
        "features": feats,
        "classes": ["no", "yes"],
        "positive_label": "yes",
        "threshold": 0.4,
        "n_train": 400,
        "n_test": 100,
    }
    cols = [
        {
            "name": c,
            "role": "numeric" if c in ("tenure", "age") else "categorical",
            "dtype": str(df[c].dtype),
            "n_unique": int(df[c].nunique()),
            "null_share": 0.0,
        }
        for c in df.columns
    ]
    board = {
        "entries": [
            {
                "name": "linear",
                "rank": 1,
                "status": "ok",
                "cv_mean": {"roc_auc": 0.7},
                "cv_std": {"roc_auc": 0.02},
                "extra": {"fit_energy_wh": 0.012, "predict_energy_wh_per_1000": 0.00031},
            },
            {
                "name": "baseline",
                "rank": 2,
                "status": "ok",
                "cv_mean": {"roc_auc": 0.5},
                "cv_std": {"roc_auc": 0.0},
            },
        ]
    }
    threshold = {
        "value": 0.4,
        "cost_false_positive": 1.0,
        "cost_false_negative": 3.0,
        "expected_cost_per_1000": 300.0,
        "false_positives_per_1000": 250.0,
        "false_negatives_per_1000": 16.7,
        "rule": "least expected cost",
    }
    dest = tmp_path_factory.mktemp("bundle") / "bundle"
    save_bundle(
        dest,
        model=model,
        documents={
            "model_info.json": info,
            "spec.json": spec,
            "contract.json": {"columns": cols},
            "leaderboard.json": board,
            "metrics.json": {"threshold": threshold},
            "lineage.json": {
                "created_at": "2025-01-01T00:00:00+00:00",
                "data": {"source": "mini.csv", "rows": 500, "columns": 5},
                "energy": ENERGY,
            },
            "selection.json": {"selection": {"given_up": {"text": TRADED}}},
            "personal_data.json": {"findings": []},
            "assessment.json": a.to_dict(),
            "checks.json": checks_to_dict(checks),
        },
        tables={"reference.parquet": train[feats]},
    )
    return dest


@pytest.fixture(scope="session")
def report_dir(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from civicml.report import write_report

    out = tmp_path_factory.mktemp("report")
    return write_report(
        bundle_dir, out, pdf=False, registry_info={"name": "benefits", "version": 3}
    )
