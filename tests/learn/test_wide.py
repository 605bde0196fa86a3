"""Wide tables (columns far more than rows) are screened before the search and keep the budget."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from civicml.learn import FeatureRoles, train
from civicml.learn._screen import is_wide, keep_count, screen_features


def _wide(rows: int, cols: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, cols)), columns=[f"c{i}" for i in range(cols)])
    signal = 3 * X["c17"] + 3 * X[f"c{min(4242, cols - 1)}"] + 0.3 * rng.normal(size=rows)
    return X, pd.Series((signal > 0).astype(int), name="y")


def test_a_wide_table_finishes_within_its_budget_and_says_what_it_dropped() -> None:
    X, y = _wide(40, 10_000)
    events: list[tuple[str, dict]] = []
    budget = 4.0
    t0 = time.monotonic()
    r = train(
        X,
        y,
        roles=FeatureRoles(numeric=list(X.columns)),
        budget_seconds=budget,
        on_event=lambda kind, **kw: events.append((kind, kw)),
    )
    took = time.monotonic() - t0
    assert took <= budget + max(0.05 * budget, 1.0)
    screened = r.extra["screened"]
    assert screened["n_before"] == 10_000
    assert screened["n_kept"] == keep_count(r.n_train, 10_000) < 10_000
    assert len(screened["dropped"]) == 10_000 - screened["n_kept"]
    assert {"c17", "c4242"}.isdisjoint(screened["dropped"])  # the signal survives the screen
    assert set(r.roles.features) == set(X.columns) - set(screened["dropped"])
    warnings = [kw["message"] for kind, kw in events if kind == "warning"]
    assert any("Wide table" in m and "9" in m for m in warnings)
    # the search ran real candidates, not just the baseline, and the model needs only kept columns
    assert r.best != "baseline"
    r.pipeline.predict(X[r.roles.features].head(3))


def test_a_normal_table_is_not_screened() -> None:
    X, y = _wide(300, 30)
    r = train(X, y, roles=FeatureRoles(numeric=list(X.columns)), max_trials=1, families=["linear"])
    assert "screened" not in r.extra
    assert len(r.roles.features) == 30


def test_screen_ranks_categories_and_numbers_and_keeps_text_and_dates() -> None:
    rng = np.random.default_rng(1)
    n = 60
    X = pd.DataFrame(rng.normal(size=(n, 400)), columns=[f"n{i}" for i in range(400)])
    y = rng.integers(0, 2, n)
    for j in range(20):  # categorical noise and one categorical column that is the target
        X[f"cat{j}"] = rng.choice(["a", "b", "c"], n)
    X["cat_signal"] = np.where(y == 1, "yes", "no")
    X["note"] = "text"
    X["when"] = "2024-01-01"
    roles = FeatureRoles(
        numeric=[f"n{i}" for i in range(400)],
        categorical=[*(f"cat{j}" for j in range(20)), "cat_signal"],
        text=["note"],
        date=["when"],
    )
    assert is_wide(n, len(roles.features))
    s = screen_features(X, y, roles, task="binary")
    assert "cat_signal" in s.kept and s.kept.index("cat_signal") >= 0
    assert "note" in s.roles.text and "when" in s.roles.date
    assert len(s.kept) == keep_count(n, len(roles.features))
    assert set(s.kept).isdisjoint(s.dropped) and len(s.kept) + len(s.dropped) == 423
    # regression: a numeric column carrying the target outranks noise
    yr = X["n123"].to_numpy() * 5 + rng.normal(size=n) * 0.1
    sr = screen_features(X, yr, roles, task="regression")
    assert "n123" in sr.kept and "n123" not in sr.dropped


def test_screen_stops_scoring_at_its_deadline() -> None:
    rng = np.random.default_rng(2)
    X = pd.DataFrame({f"k{j}": rng.choice(list("abc"), 30) for j in range(300)})
    roles = FeatureRoles(categorical=list(X.columns))
    s = screen_features(X, rng.integers(0, 2, 30), roles, task="binary", deadline=0.0)
    assert s.unscored  # nothing could be scored in time: ranked last, and listed
    assert s.record()["unscored"] == s.unscored


@pytest.mark.parametrize(("rows", "cols", "wide"), [(40, 10_000, True), (5000, 20, False)])
def test_wide_rule(rows: int, cols: int, wide: bool) -> None:
    assert is_wide(rows, cols) is wide
