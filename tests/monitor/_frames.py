"""Deterministic frames shared by the monitor tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def evidently_fixture_frame(n: int, seed: int, shift: int) -> pd.DataFrame:
    """The frame whose Evidently 0.7.23 scores are pinned in test_drift.py."""
    rng = np.random.default_rng(seed)
    p_region = [0.4, 0.3, 0.2, 0.1] if shift == 0 else [0.3, 0.3, 0.2, 0.2]
    income = rng.normal(30000 + shift * 1500, 5000, n)
    income[rng.random(n) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "income": income,
            "age": rng.integers(18, 90, n),
            "band": rng.integers(1, 6, n),
            "region": rng.choice(np.array(["N", "S", "E", "W"]), n, p=p_region),
            "flag": rng.random(n) < 0.3 + 0.05 * shift,
            "hours": rng.choice(np.array([0.0, 7.5, 15.0, 37.5]), n),
        }
    )


def decision_log(
    n: int, seed: int = 0, *, start: str = "2025-03-01", days: int = 10
) -> pd.DataFrame:
    """A decision log shaped as the serving layer writes it."""
    rng = np.random.default_rng(seed)
    times = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(
        np.sort(rng.uniform(0, days * 86400, n)), unit="s"
    )
    score = rng.uniform(0, 1, n)
    return pd.DataFrame(
        {
            "request_id": [f"r{i:06d}" for i in range(n)],
            "time": times,
            "model_version": "3",
            "age": rng.normal(40, 10, n),
            "region": rng.choice(np.array(["N", "S", "E"]), n),
            "sex": rng.choice(np.array(["F", "M"]), n),
            "score": score,
            "prediction": (score >= 0.5).astype(int),
            "decision": (score >= 0.5).astype(int),
        }
    )
