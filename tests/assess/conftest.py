from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "tenure": rng.integers(1, 30, n).astype(float),
            "age": rng.integers(18, 70, n),
            "sex": rng.choice(["female", "male"], n),
            "nwhite": rng.choice(["no", "yes"], n, p=[0.8, 0.2]),
            "region": rng.choice(["north", "south", "east", "west"], n),
        }
    )
    logit = 0.12 * (df["tenure"] - 10) - 0.03 * (df["age"] - 40) + (df["region"] == "north") * 0.8
    df["outcome"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return df


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return make_frame()


def _fit_pipeline(df: pd.DataFrame, features: list[str], kind: str = "linear"):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = [f for f in features if pd.api.types.is_numeric_dtype(df[f])]
    cat = [f for f in features if f not in num]
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), num),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat),
        ]
    )
    if kind == "lightgbm":
        from lightgbm import LGBMClassifier

        est = LGBMClassifier(n_estimators=40, num_leaves=8, verbose=-1, n_jobs=1, random_state=0)
    else:
        est = LogisticRegression(max_iter=500)
    return Pipeline([("prep", prep), ("model", est)]).fit(df[features], df["outcome"])


@pytest.fixture(scope="session")
def fit_pipeline():
    return _fit_pipeline
