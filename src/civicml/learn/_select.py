"""Selection under constraints (latency, size, interpretability), the energy tolerance rule,
and the Pareto front.

The energy rule (``energy_tolerance``): among the candidates that meet the constraints and
whose primary score is within the tolerance of the best of them (absolute, in the metric's
units), choose the one that uses the least energy per prediction, but only when it is strictly
cheaper than the best. Inside ``learn`` energy is not measured, so the cost is, in order of
preference, the measured energy per 1,000 rows, else the predict time per row, else the
one-row predict latency: at constant power energy is proportional to CPU time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Candidate", "Constraints", "pareto_front", "select"]


@dataclass(frozen=True)
class Constraints:
    """Limits a chosen model must meet; ``None``/``False`` means no limit.

    Examples
    --------
    >>> Constraints.from_any({"max_model_size_mb": 5, "energy_tolerance": 0.1}).max_model_size_mb
    5.0
    """

    max_predict_latency_ms: float | None = None
    max_model_size_mb: float | None = None
    interpretable: bool = False
    energy_tolerance: float | None = None

    @classmethod
    def from_any(cls, obj: Any) -> Constraints:
        """From None, a mapping, or an object with those attributes (``spec.selection``)."""
        if obj is None:
            return cls()
        if isinstance(obj, Constraints):
            return obj
        get = obj.get if isinstance(obj, dict) else lambda k, d=None: getattr(obj, k, d)
        lat, size = get("max_predict_latency_ms", None), get("max_model_size_mb", None)
        tol = get("energy_tolerance", None)
        return cls(
            None if lat is None else float(lat),
            None if size is None else float(size),
            bool(get("interpretable", False)),
            None if tol is None else float(tol),
        )

    @property
    def any(self) -> bool:
        return bool(self.max_predict_latency_ms or self.max_model_size_mb or self.interpretable)

    def violations(self, c: Candidate) -> list[str]:
        """Why ``c`` breaks the limits (empty when it meets them)."""
        out = []
        if self.interpretable and not c.interpretable:
            out.append("not interpretable")
        lim = self.max_predict_latency_ms
        if lim is not None and (c.predict_ms is None or c.predict_ms > lim):
            out.append(f"predicts one row in {c.predict_ms or float('nan'):.2f} ms > {lim:g} ms")
        cap = self.max_model_size_mb
        if cap is not None and (c.model_bytes is None or c.model_bytes / 1e6 > cap):
            mb = (c.model_bytes or 0) / 1e6
            out.append(f"model is {mb:.2f} MB > {cap:g} MB")
        return out


@dataclass(frozen=True)
class Candidate:
    """What selection needs to know about one candidate."""

    name: str
    score: float
    predict_ms: float | None
    model_bytes: int | None
    interpretable: bool
    simplicity: int
    predict_us_per_row: float | None = None
    predict_energy_wh_per_1000: float | None = None

    def energy_cost(self) -> tuple[str, float] | None:
        """What stands for energy per prediction: ``(basis, value)``, or None if unknown."""
        for basis, v in (
            ("energy per 1,000 predictions (Wh)", self.predict_energy_wh_per_1000),
            ("predict time per row (µs)", self.predict_us_per_row),
            ("one-row predict latency (ms)", self.predict_ms),
        ):
            if v is not None and v == v and v >= 0:
                return basis, float(v)
        return None


def select(
    candidates: list[Candidate],
    constraints: Constraints,
    *,
    greater_is_better: bool,
    metric: str = "score",
) -> tuple[Candidate | None, dict[str, Any] | None]:
    """The best candidate meeting ``constraints``, and what was given up to meet them.

    Returns ``(None, {...})`` when none meets them. ``given_up`` is None when the best candidate
    overall already meets them and the energy rule (``constraints.energy_tolerance``) changes
    nothing; when it picks a cheaper candidate, ``given_up["energy"]`` says what was traded.

    Examples
    --------
    >>> big = Candidate("forest", 0.90, 2.0, 50_000_000, False, 3)
    >>> small = Candidate("linear", 0.88, 0.5, 2_000, True, 1)
    >>> chosen, given = select([big, small], Constraints(max_model_size_mb=10),
    ...                        greater_is_better=True)
    >>> chosen.name, given["instead_of"], round(given["score_given_up"], 3)
    ('linear', 'forest', 0.02)
    >>> chosen, given = select([Candidate("forest", 0.656, 4.0, 9, False, 3),
    ...                         Candidate("linear", 0.654, 0.5, 2, True, 1)],
    ...                        Constraints(energy_tolerance=0.005), greater_is_better=True,
    ...                        metric="roc_auc")
    >>> given["text"]
    'chose linear: roc_auc 0.654 vs 0.656 (−0.002, within 0.005), 8× less energy per prediction'
    """
    sign = -1.0 if greater_is_better else 1.0
    ranked = sorted(candidates, key=lambda c: (sign * c.score, c.simplicity, c.name))
    if not ranked:
        return None, None
    top = ranked[0]
    meeting = [c for c in ranked if not constraints.violations(c)]
    if not meeting:
        return None, {
            "reason": "no candidate meets the selection constraints",
            "violations": {c.name: constraints.violations(c) for c in ranked},
        }
    chosen = meeting[0]
    energy = _energy_rule(meeting, chosen, constraints.energy_tolerance, sign, metric)
    if energy is not None:
        cheaper = next(c for c in meeting if c.name == energy["chosen"])
        return cheaper, {
            "instead_of": top.name,
            "score_given_up": abs(top.score - cheaper.score),
            "best_score": top.score,
            "chosen_score": cheaper.score,
            "why": {c.name: constraints.violations(c) for c in ranked[: ranked.index(chosen)]},
            "energy": energy,
            "text": energy["text"],
        }
    if chosen is top:
        return chosen, None
    return chosen, {
        "instead_of": top.name,
        "score_given_up": abs(top.score - chosen.score),
        "best_score": top.score,
        "chosen_score": chosen.score,
        "why": {c.name: constraints.violations(c) for c in ranked[: ranked.index(chosen)]},
        "text": (
            f"{chosen.name} was chosen instead of {top.name}, giving up "
            f"{abs(top.score - chosen.score):.4g} in score, because {top.name} "
            + "; ".join(constraints.violations(top))
            + "."
        ),
    }


def _energy_rule(
    meeting: list[Candidate], best: Candidate, tolerance: float | None, sign: float, metric: str
) -> dict[str, Any] | None:
    """The cheaper candidate within ``tolerance`` of ``best`` and what it trades, or None."""
    if tolerance is None or best.energy_cost() is None:
        return None
    basis, best_cost = best.energy_cost()  # type: ignore[misc]
    pool = []
    for c in meeting:
        c_cost = c.energy_cost()
        gap = sign * (c.score - best.score)  # >= 0: how much worse than the best
        if c_cost is None or c_cost[0] != basis or not (gap <= tolerance + 1e-12):
            continue
        pool.append((c_cost[1], sign * c.score, c.simplicity, c.name, c))
    if not pool:
        return None
    cost, _, _, _, cheap = min(pool, key=lambda t: t[:4])
    if not cost < best_cost:
        return None
    delta = cheap.score - best.score
    ratio = best_cost / cost if cost > 0 else float("inf")
    times = f"{ratio:.0f}×" if ratio >= 2 else f"{(1 - cost / best_cost):.0%}"
    return {
        "tolerance": tolerance,
        "chosen": cheap.name,
        "instead_of": best.name,
        "basis": basis,
        "chosen_cost": cost,
        "best_cost": best_cost,
        "ratio": ratio,
        "score_difference": delta,
        "text": (
            f"chose {cheap.name}: {metric} {cheap.score:.3f} vs {best.score:.3f} "
            f"({f'{delta:+.3f}'.replace('-', '−')}, within {tolerance:g}), "
            f"{times} less energy per prediction"
        ),
    }


def pareto_front(candidates: list[Candidate], *, greater_is_better: bool) -> list[dict[str, Any]]:
    """Candidates no other beats on score, one-row latency and size at once (best score first).

    >>> a = Candidate("a", 0.9, 5.0, 100, False, 3); b = Candidate("b", 0.8, 1.0, 50, True, 1)
    >>> c = Candidate("c", 0.7, 2.0, 60, True, 1)
    >>> [p["name"] for p in pareto_front([a, b, c], greater_is_better=True)]
    ['a', 'b']
    """
    sign = 1.0 if greater_is_better else -1.0

    def key(c: Candidate) -> tuple[float, float, float]:
        inf = float("inf")
        return (
            -sign * c.score,
            inf if c.predict_ms is None else c.predict_ms,
            inf if c.model_bytes is None else float(c.model_bytes),
        )

    keys = {c.name: key(c) for c in candidates}
    front = []
    for c in candidates:
        kc = keys[c.name]
        dominated = any(
            all(a <= b for a, b in zip(keys[o.name], kc, strict=True)) and keys[o.name] != kc
            for o in candidates
            if o is not c
        )
        if not dominated:
            front.append(c)
    front.sort(key=lambda c: (keys[c.name], c.name))
    return [
        {
            "name": c.name,
            "score": c.score,
            "predict_ms": c.predict_ms,
            "model_bytes": c.model_bytes,
            "interpretable": c.interpretable,
        }
        for c in front
    ]
