"""Energy measurement: positive, finite, recorded, never fatal (issue 11)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from civicml.energy import (
    EnergyMeter,
    EnergyReading,
    annotate_leaderboard,
    compare,
    measure_predict_energy,
    training_sentence,
)
from civicml.learn import Leaderboard
from civicml.learn._leaderboard import Entry


def _busy(n: int = 300_000) -> int:
    return sum(i * i for i in range(n))


def _finite_positive(*values: float) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in values)


def test_codecarbon_meter_gives_positive_finite_gb_figures() -> None:
    pytest.importorskip("codecarbon")
    with EnergyMeter(measure_power_secs=1.0) as m:
        _busy()
    r = m.reading
    assert r is not None and r.ok, r
    assert r.tool.startswith("codecarbon"), r.method
    assert _finite_positive(r.energy_kwh, r.emissions_g, r.duration_s, r.power_w)
    assert r.country_iso_code == "GBR"
    assert 50 < r.carbon_intensity_g_per_kwh < 1000
    assert r.method.startswith(("RAPL", "CPU power estimate"))
    d = r.to_dict()
    assert d["energy_kwh"] == r.energy_kwh and d["method"] == r.method


def test_fallback_estimate_says_so_and_is_positive() -> None:
    with EnergyMeter(use_codecarbon=False) as m:
        _busy()
    r = m.reading
    assert r is not None and r.ok
    assert (
        r.method.startswith("estimate: CPU seconds × ") and "CodeCarbon could not run" in r.method
    )
    assert _finite_positive(r.energy_kwh, r.emissions_g)


def test_broken_codecarbon_never_fails_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: EnergyMeter) -> None:
        raise RuntimeError("no power data")

    monkeypatch.setattr(EnergyMeter, "_start_tracker", boom)
    with EnergyMeter() as m:
        _busy(1000)
    assert m.reading is not None and m.reading.ok
    assert "RuntimeError: no power data" in m.reading.method


def test_errors_in_the_block_propagate_and_are_still_measured() -> None:
    with pytest.raises(ZeroDivisionError), EnergyMeter(use_codecarbon=False) as m:
        _ = 1 / 0
    assert m.reading is not None


def test_unavailable_reading_is_recorded_with_its_reason() -> None:
    r = EnergyReading.unavailable("no clock")
    assert not r.ok and r.to_dict()["energy_kwh"] is None and r.reason == "no clock"
    assert training_sentence(r.to_dict()) is None


def test_leaderboard_annotation_and_predict_loop() -> None:
    lb = Leaderboard(
        "roc_auc",
        True,
        [
            Entry("linear", "linear", {}, {"roc_auc": 0.7}, {}, 1.0, 5.0, 1),
            Entry("forest", "forest", {}, {"roc_auc": 0.7}, {}, 4.0, 40.0, 3),
            Entry("broken", "forest", {}, {}, {}, 0.0, float("nan"), 3, status="failed"),
        ],
    )
    annotate_leaderboard(lb, EnergyReading(0.002, 0.48, 72.0, "RAPL", 240.0))  # 100 W
    lin, forest, broken = (e.extra for e in lb.entries)
    assert lin["fit_energy_wh"] == pytest.approx(100 / 3600, rel=0.01)
    assert forest["fit_energy_wh"] == pytest.approx(4 * lin["fit_energy_wh"], rel=0.01)
    assert forest["predict_energy_wh_per_1000"] == pytest.approx(
        8 * lin["predict_energy_wh_per_1000"], rel=0.01
    )
    assert broken["fit_energy_wh"] is None and broken["predict_energy_wh_per_1000"] is None
    doc = lb.to_dict()
    assert doc["entries"][0]["extra"]["fit_energy_wh"] > 0

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    model = LogisticRegression().fit(X, X[:, 0] > 0)
    out = measure_predict_energy(model, X, seconds=0.3, use_codecarbon=False)
    assert _finite_positive(out["wh_per_1000"], out["g_per_1000"]) and out["rows"] >= 200
    assert measure_predict_energy(model, X[:0])["wh_per_1000"] is None


@pytest.mark.parametrize(
    ("kwh", "words"),
    [
        (0.31, "about the same as boiling a kettle 3 times"),
        (2.4, "about the same as boiling a kettle 24 times"),
        (0.06, "about the same as using a laptop for an hour"),
        (0.03, "about the same as charging a smartphone 2 times"),
        (0.0004, "less than charging a smartphone once"),
    ],
)
def test_plain_comparisons(kwh: float, words: str) -> None:
    assert compare(kwh) == words
