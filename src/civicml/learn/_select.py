"""Selection under constraints (latency, size, interpretability) and the Pareto front."""

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

    @classmethod
    def from_any(cls, obj: Any) -> Constraints:
        """From None, a mapping, or an object with those attributes (``spec.selection``)."""
        if obj is None:
            return cls()
        if isinstance(obj, Constraints):
            return obj
        get = obj.get if isinstance(obj, dict) else lambda k, d=None: getattr(obj, k, d)
        lat, size = get("max_predict_latency_ms", None), get("max_model_size_mb", None)
        return cls(
            None if lat is None else float(lat),
            None if size is None else float(size),
            bool(get("interpretable", False)),
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


def select(
    candidates: list[Candidate], constraints: Constraints, *, greater_is_better: bool
) -> tuple[Candidate | None, dict[str, Any] | None]:
    """The best candidate meeting ``constraints``, and what was given up to meet them.

    Returns ``(None, {...})`` when none meets them. ``given_up`` is None when the best candidate
    overall already meets them.

    Examples
    --------
    >>> big = Candidate("forest", 0.90, 2.0, 50_000_000, False, 3)
    >>> small = Candidate("linear", 0.88, 0.5, 2_000, True, 1)
    >>> chosen, given = select([big, small], Constraints(max_model_size_mb=10),
    ...                        greater_is_better=True)
    >>> chosen.name, given["instead_of"], round(given["score_given_up"], 3)
    ('linear', 'forest', 0.02)
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
