from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civicml._errors import DataError
from civicml.monitor import override_rate, selection_rates_over_time

from ._frames import decision_log


def test_selection_rates_per_group_and_window() -> None:
    log = pd.DataFrame(
        {
            "time": pd.to_datetime(["2025-01-01 09:00"] * 5 + ["2025-01-02 09:00"] * 4, utc=True),
            "sex": ["F", "F", "M", "M", "M", "F", "F", "M", "M"],
            "disability": ["Y", "N", "N", "N", None, "Y", "N", "N", "N"],
            "decision": [1, 0, 1, 1, 0, 1, 1, 0, 1],
        }
    )
    out = selection_rates_over_time(log, protected={"sex": "sex", "disabled": "disability"})
    sex_day1 = out[
        (out["characteristic"] == "sex") & (out["window_start"] == out["window_start"].min())
    ]
    assert sex_day1.set_index("group")["selection_rate"].to_dict() == {
        "F": 0.5,
        "M": pytest.approx(2 / 3),
    }
    assert sex_day1.set_index("group")["ratio_to_max"]["F"] == pytest.approx(0.75)
    assert bool(sex_day1.set_index("group")["below_min_ratio"]["F"])
    disabled = out[out["characteristic"] == "disabled"]
    assert disabled["n"].sum() == 8  # the missing value is left out
    with pytest.raises(DataError, match="lacks columns"):
        selection_rates_over_time(log, protected=["ethnicity"])


def test_selection_rate_drift_over_time_is_visible() -> None:
    log = decision_log(6000, seed=1, days=6)
    late = log["time"] >= pd.Timestamp("2025-03-04", tz="UTC")
    log.loc[late & (log["sex"] == "F"), "decision"] = 0
    out = selection_rates_over_time(log, protected=["sex"])
    f = out[out["group"] == "F"].set_index("window_start")["ratio_to_max"]
    assert (f.iloc[:3] > 0.8).all() and (f.iloc[-3:] < 0.1).all()


def _review_log(rates: list[float], per_day: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for day, rate in enumerate(rates):
        t = (
            pd.Timestamp("2025-06-01", tz="UTC")
            + pd.Timedelta(days=day)
            + pd.to_timedelta(rng.uniform(0, 86000, per_day), unit="s")
        )
        decision = rng.integers(0, 2, per_day)
        flip = rng.random(per_day) < rate
        frames.append(
            pd.DataFrame(
                {
                    "time": t,
                    "decision": decision,
                    "reviewer_decision": np.where(flip, 1 - decision, decision),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_override_rate_near_zero_signals_automation_bias() -> None:
    report = override_rate(_review_log([0.08, 0.07, 0.0]))
    assert report.signals == ["possible automation bias"]
    assert "0 of 200" in report.evidence[0]


def test_override_rate_climbing_signals_model_quality_concern() -> None:
    log = _review_log([0.05, 0.06, 0.05, 0.25])
    log["overridden"] = log["reviewer_decision"] != log["decision"]
    report = override_rate(log.drop(columns="reviewer_decision"))
    assert report.signals == ["model quality concern"]
    assert report.table["override_rate"].iloc[-1] == pytest.approx(0.25, abs=0.07)


def test_override_rate_steady_raises_nothing_and_counts_only_reviewed() -> None:
    log = _review_log([0.06, 0.05, 0.07])
    log.loc[::2, "reviewer_decision"] = np.nan  # half not reviewed
    report = override_rate(log)
    assert report.signals == []
    assert (report.table["n_reviewed"] == 100).all()
    with pytest.raises(DataError, match="no human review columns"):
        override_rate(log.drop(columns="reviewer_decision"))
