"""What the dashboard calls a run, read from the registry.

Until the runs store (issue 10) lands, a run is a registered model version's training run: its
leaderboard (CV mean ± sd, held-out bootstrap intervals), metrics and lineage, read from the
version's bundle. :func:`run_view` is the one place to change when runs get their own store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civicml.registry import ModelVersion, Registry

__all__ = ["LeaderboardRow", "RunView", "run_view"]


@dataclass(frozen=True)
class LeaderboardRow:
    """One candidate of a run, with its intervals (``None`` where not recorded)."""

    rank: int | None
    name: str
    family: str
    status: str
    cv_mean: float | None
    cv_sd: float | None
    test_score: float | None
    test_low: float | None
    test_high: float | None
    fit_seconds: float | None
    predict_us_per_row: float | None
    selected: bool


@dataclass(frozen=True)
class RunView:
    """A run: the version it produced, its leaderboard, metrics and lineage."""

    version: ModelVersion
    metric: str
    greater_is_better: bool
    rows: list[LeaderboardRow]
    comparison: str | None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None


def _row(entry: dict[str, Any], metric: str, selected: str | None) -> LeaderboardRow:
    extra = entry.get("extra") or {}
    ci = extra.get("test_ci95") or [None, None]
    return LeaderboardRow(
        rank=entry.get("rank"),
        name=str(entry.get("name", "")),
        family=str(entry.get("family", "")),
        status=str(entry.get("status", "")),
        cv_mean=_num((entry.get("cv_mean") or {}).get(metric)),
        cv_sd=_num((entry.get("cv_std") or {}).get(metric)),
        test_score=_num(extra.get("test_score")),
        test_low=_num(ci[0]) if len(ci) > 1 else None,
        test_high=_num(ci[1]) if len(ci) > 1 else None,
        fit_seconds=_num(entry.get("fit_seconds")),
        predict_us_per_row=_num(entry.get("predict_us_per_row")),
        selected=entry.get("name") == selected,
    )


def run_view(registry: Registry, name: str, version: int) -> RunView:
    """Read a version's training run from its bundle (fetched and hash-checked).

    Parameters
    ----------
    registry : Registry
    name, version : str, int
        The model version that the run produced.

    Returns
    -------
    RunView
        With ``note`` set, and no rows, when the bundle holds no leaderboard.
    """
    v = registry.get_version(name, version)
    bundle = registry.load_version(v.ref)

    def read(doc: str) -> dict[str, Any]:
        return bundle.read_json(doc) if bundle.has(doc) else {}

    board = read("leaderboard.json")
    metric = str(board.get("metric") or read("model_info.json").get("metric") or "")
    selected = board.get("selected")
    rows = [_row(e, metric, selected) for e in board.get("entries", [])]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0))
    metrics = {k: v for k, v in read("metrics.json").items() if k in ("cv", "test")}
    return RunView(
        version=v,
        metric=metric,
        greater_is_better=bool(board.get("greater_is_better", True)),
        rows=rows,
        comparison=(board.get("comparison") or {}).get("text"),
        metrics=metrics,
        lineage=read("lineage.json"),
        info=read("model_info.json"),
        note=None if rows else "This version's bundle holds no leaderboard.",
    )
