"""The leaderboard: every candidate's cross-validated scores, timings and rank."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["TIMING_FIELDS", "Entry", "Leaderboard"]

# Wall-clock measurements: they differ run to run, so ``to_dict(timings=False)`` leaves them out
# (a seeded ``max_trials`` run is byte-for-byte reproducible without them).
TIMING_FIELDS = ("fit_seconds", "predict_us_per_row", "predict_ms")


@dataclass
class Entry:
    """One candidate's row on the leaderboard."""

    name: str
    family: str
    params: dict[str, Any]
    cv_mean: dict[str, float]
    cv_std: dict[str, float]
    fit_seconds: float
    predict_us_per_row: float
    simplicity: int
    status: str = "ok"  # "ok" | "pruned" | "timeout" | "failed" | "incomplete"
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    model_bytes: int | None = None
    predict_ms: float | None = None


@dataclass
class Leaderboard:
    """Candidates ranked by the primary metric (best first); failed ones listed last.

    Examples
    --------
    >>> lb = Leaderboard(metric="rmse", greater_is_better=False, entries=[
    ...     Entry("a", "linear", {}, {"rmse": 2.0}, {"rmse": 0.1}, 0.1, 1.0, 1),
    ...     Entry("b", "lightgbm", {}, {"rmse": 1.5}, {"rmse": 0.2}, 0.5, 3.0, 4)])
    >>> [e.name for e in lb.ranked()]
    ['b', 'a']
    """

    metric: str
    greater_is_better: bool
    entries: list[Entry] = field(default_factory=list)
    selected: str | None = None
    comparison: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def ranked(self) -> list[Entry]:
        ok = [
            e
            for e in self.entries
            if e.status == "ok" and e.cv_mean.get(self.metric) == e.cv_mean.get(self.metric)
        ]
        rest = [e for e in self.entries if e not in ok]
        sign = -1.0 if self.greater_is_better else 1.0
        ok.sort(key=lambda e: (sign * e.cv_mean[self.metric], e.simplicity, e.name))
        return ok + rest

    @property
    def best(self) -> Entry | None:
        ranked = self.ranked()
        return ranked[0] if ranked and ranked[0].status == "ok" else None

    def get(self, name: str) -> Entry | None:
        """The entry called ``name``."""
        return next((e for e in self.entries if e.name == name), None)

    def to_dict(self, *, timings: bool = True) -> dict[str, Any]:
        """A JSON-able dict, best first. ``timings=False`` drops :data:`TIMING_FIELDS`."""
        rows = []
        for i, e in enumerate(self.ranked()):
            row = {"rank": i + 1, **asdict(e)}
            if not timings:
                for k in TIMING_FIELDS:
                    row.pop(k, None)
            rows.append(row)
        return {
            "metric": self.metric,
            "greater_is_better": self.greater_is_better,
            "selected": self.selected,
            "comparison": self.comparison,
            "extra": self.extra,
            "entries": rows,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Leaderboard:
        entries = []
        for row in doc.get("entries", []):
            row = {k: v for k, v in row.items() if k != "rank"}
            entries.append(Entry(**row))
        return cls(
            doc["metric"],
            bool(doc["greater_is_better"]),
            entries,
            selected=doc.get("selected"),
            comparison=doc.get("comparison"),
            extra=doc.get("extra", {}),
        )

    def to_frame(self) -> Any:
        import pandas as pd

        rows = []
        for i, e in enumerate(self.ranked()):
            row: dict[str, Any] = {"rank": i + 1, "candidate": e.name, "family": e.family}
            for k, v in e.cv_mean.items():
                row[k] = v
                row[f"{k}_sd"] = e.cv_std.get(k)
            row.update(
                fit_seconds=e.fit_seconds,
                predict_us_per_row=e.predict_us_per_row,
                predict_ms=e.predict_ms,
                model_bytes=e.model_bytes,
                simplicity=e.simplicity,
                status=e.status,
            )
            rows.append(row)
        return pd.DataFrame(rows)
