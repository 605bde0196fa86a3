"""Energy per candidate and per 1,000 predictions.

A candidate's fit energy is the measured training energy apportioned by fit time: the average
power measured over training × the candidate's cross-validation fit seconds. Its predict energy
per 1,000 rows is that power × its predict time per row × 1,000. The selected model's figure is
also measured directly, by scoring held-out rows in a short loop under an :class:`EnergyMeter`.
"""

from __future__ import annotations

import math
import time
from typing import Any, TypeGuard

from civicml.energy._meter import EnergyMeter, EnergyReading

__all__ = ["annotate_leaderboard", "measure_predict_energy"]

_WH_PER_J = 1 / 3600.0


def annotate_leaderboard(board: Any, training: EnergyReading) -> None:
    """Add ``fit_energy_wh`` and ``predict_energy_wh_per_1000`` to each entry's ``extra``.

    ``board`` is a :class:`civicml.learn.Leaderboard`; entries without timings get ``None``.

    Examples
    --------
    >>> from civicml.learn import Leaderboard
    >>> from civicml.learn._leaderboard import Entry
    >>> lb = Leaderboard("rmse", False, [Entry("a", "linear", {}, {}, {}, 2.0, 10.0, 1)])
    >>> r = EnergyReading(0.001, 0.24, 36.0, "RAPL", 240.0)   # 100 W on average
    >>> annotate_leaderboard(lb, r)
    >>> lb.entries[0].extra["fit_energy_wh"], lb.entries[0].extra["predict_energy_wh_per_1000"]
    (0.0556, 0.000278)
    """
    power = training.power_w
    for e in board.entries:
        fit = getattr(e, "fit_seconds", None)
        per_row = getattr(e, "predict_us_per_row", None)
        e.extra["fit_energy_wh"] = _round(power * fit * _WH_PER_J) if _pos(fit) else None
        e.extra["predict_energy_wh_per_1000"] = (
            _round(power * per_row * 1e-6 * 1000 * _WH_PER_J) if _pos(per_row) else None
        )


def measure_predict_energy(
    model: Any,
    X: Any,
    *,
    seconds: float = 1.5,
    max_rounds: int = 100_000,
    use_codecarbon: bool = True,
) -> dict[str, Any]:
    """Score ``X`` repeatedly for about ``seconds`` and return the energy per 1,000 rows.

    Uses ``predict_proba`` when the model has it (what a service returns), else ``predict``.

    Returns
    -------
    dict
        ``wh_per_1000``, ``g_per_1000``, ``rows``, ``seconds``, ``method`` and the reading; with
        ``wh_per_1000=None`` and a ``reason`` when nothing could be measured.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.arange(40.0).reshape(20, 2); m = LinearRegression().fit(X, X[:, 0])
    >>> out = measure_predict_energy(m, X, seconds=0.05, use_codecarbon=False)
    >>> out["wh_per_1000"] > 0, out["rows"] >= 20
    (True, True)
    """
    if X is None or len(X) == 0:
        return {"wh_per_1000": None, "reason": "no rows to score"}
    score = getattr(model, "predict_proba", None) or model.predict
    try:
        score(X)  # warm up outside the measurement (caches, lazy imports)
    except Exception as exc:
        return {"wh_per_1000": None, "reason": f"scoring failed: {type(exc).__name__}: {exc}"}
    rows = 0
    with EnergyMeter(measure_power_secs=max(seconds, 1.0), use_codecarbon=use_codecarbon) as m:
        end = time.perf_counter() + seconds
        for _ in range(max_rounds):
            score(X)
            rows += len(X)
            if time.perf_counter() >= end:
                break
    r = m.reading
    if r is None or not r.ok or rows == 0:
        return {"wh_per_1000": None, "reason": (r.reason if r else None) or "not measured"}
    wh = r.energy_kwh * 1000 / rows * 1000
    return {
        "wh_per_1000": _round(wh),
        "g_per_1000": _round(r.emissions_g / rows * 1000),
        "rows": rows,
        "seconds": round(r.duration_s, 3),
        "method": r.method,
        "how": "measured: held-out rows scored in a loop",
        "reading": r.to_dict(),
    }


def _pos(v: Any) -> TypeGuard[float]:
    return isinstance(v, int | float) and math.isfinite(v) and v > 0


def _round(v: float) -> float | None:
    """Three significant figures (None when not finite)."""
    if not math.isfinite(v):
        return None
    if v == 0:
        return 0.0
    return round(v, 2 - math.floor(math.log10(abs(v))))
