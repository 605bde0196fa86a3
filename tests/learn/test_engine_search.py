"""The search whose trials' folds run on an engine: identical results on every engine (local,
Dask), and a lost Dask worker is retried, not fatal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civicml.engines import open_engine
from civicml.learn import search_on_engine


def _problem(n: int = 300):
    from sklearn.datasets import make_classification

    from civicml.learn._cv import make_splitter
    from civicml.learn._metrics import get_metric
    from civicml.learn._preprocess import FeatureRoles

    Xa, y = make_classification(n, 6, n_informative=4, random_state=1)
    X = pd.DataFrame(Xa, columns=[f"x{i}" for i in range(6)])
    X["band"] = np.where(Xa[:, 0] > 0, "high", "low")
    splits = list(make_splitter("binary", 3, 0, grouped=False).split(X, y))
    return dict(
        X=X,
        y=y,
        task="binary",
        classes=np.array([0, 1]),
        splits=splits,
        roles=FeatureRoles(numeric=[f"x{i}" for i in range(6)], categorical=["band"]),
        metric=get_metric(None, "binary"),
    )


def _summary(records) -> list:
    return [
        (
            r.name,
            r.number,
            sorted(r.params.items()),
            r.status,
            r.cv.fold_metrics,
            np.round(r.cv.oof, 12).tolist(),
        )
        for r in records
    ]


FAMILIES = ["baseline", "linear", "lightgbm"]


@pytest.fixture(scope="module")
def local_reference() -> list:
    return _summary(
        search_on_engine(**_problem(), families=FAMILIES, max_trials=6, seed=7, engine="local")
    )


def test_search_gives_identical_results_on_every_engine(
    engine_spec: str, local_reference: list
) -> None:
    events: list[str] = []
    with open_engine(engine_spec) as engine:
        records = search_on_engine(
            **_problem(),
            families=FAMILIES,
            max_trials=6,
            seed=7,
            engine=engine,
            emit=lambda kind, **kw: events.append(kind),
        )
        # a second search on the same engine (same client, same data) gives the same result
        again = search_on_engine(
            **_problem(), families=FAMILIES, max_trials=6, seed=7, engine=engine, window=2
        )
    assert len(records) == 7 and records[0].name == "baseline"
    assert all(r.status == "ok" for r in records)
    assert {r.family for r in records[1:]} <= {"linear", "lightgbm"}
    assert _summary(records) == local_reference
    assert events.count("fold_done") == 7 * 3
    assert len(again) == 7 and all(r.status == "ok" for r in again)
