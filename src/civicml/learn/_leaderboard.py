"""The leaderboard: every candidate's cross-validated scores, timings and rank."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Entry", "Leaderboard"]


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
    status: str = "ok"  # "ok" | "failed" | "incomplete"
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "greater_is_better": self.greater_is_better,
            "entries": [{"rank": i + 1, **asdict(e)} for i, e in enumerate(self.ranked())],
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Leaderboard:
        entries = []
        for row in doc.get("entries", []):
            row = {k: v for k, v in row.items() if k != "rank"}
            entries.append(Entry(**row))
        return cls(doc["metric"], bool(doc["greater_is_better"]), entries)

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
                status=e.status,
            )
            rows.append(row)
        return pd.DataFrame(rows)
