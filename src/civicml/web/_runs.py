"""What the dashboard shows of runs, read from the runs store (:mod:`civicml.tracking`).

A run is one recorded ``civicml train`` / ``run`` / ``pipeline run``: its leaderboard (CV mean
± sd, held-out bootstrap intervals), metrics, data versions, code and package versions,
timings, energy and artifacts. A run is linked to the registry version whose bundle digest it
recorded. Versions registered before runs were recorded still show the training run their
bundle holds (:func:`bundle_run_view`). The handlers only call these functions and render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civicml.registry import ModelVersion, Registry
    from civicml.tracking import Run, RunStore

__all__ = [
    "PAGE_SIZE",
    "LeaderboardRow",
    "ProjectRuns",
    "RunSummary",
    "RunView",
    "bundle_run_view",
    "compare_view",
    "list_page",
    "project_groups",
    "run_for_version",
    "run_view",
]

#: runs per page of the Runs list
PAGE_SIZE = 20
#: at most this many runs are read to group the projects page
PROJECT_SCAN = 2000


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
class RunSummary:
    """One line of a runs table: the run, its primary metric and the version it registered."""

    run: Run
    metric: str | None
    score: float | None
    version: ModelVersion | None


@dataclass(frozen=True)
class ProjectRuns:
    """A project (a spec name) with its newest runs."""

    name: str
    latest: Run
    runs: list[RunSummary]
    total: int
    model: bool


@dataclass(frozen=True)
class RunView:
    """A run as its page shows it.

    ``run`` is ``None`` for a version registered before runs were recorded; its leaderboard,
    metrics and lineage then come from the version's bundle.
    """

    run: Run | None
    version: ModelVersion | None
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


def _board(board: dict[str, Any], metric: str) -> list[LeaderboardRow]:
    rows = [_row(e, metric, board.get("selected")) for e in board.get("entries", [])]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0))
    return rows


def _metric(run: Run) -> str:
    return str(run.leaderboard.get("metric") or run.params.get("metric") or "")


def _primary(run: Run) -> tuple[str | None, float | None]:
    """The run's ranking metric and its held-out value (else the winner's CV mean)."""
    metric = _metric(run)
    if not metric:
        return None, None
    score = run.metrics.get(f"test_{metric}", run.metrics.get(f"cv_{metric}"))
    return metric, _num(score)


def _versions_by_digest(registry: Registry, project: str) -> dict[str, ModelVersion]:
    from civicml._errors import NotFoundError

    try:
        versions = registry.list_versions(project, limit=500)
    except NotFoundError:
        return {}
    return {v.digest: v for v in reversed(versions)}  # the first registration wins


def _summaries(registry: Registry, runs: list[Run]) -> list[RunSummary]:
    digests: dict[str, dict[str, ModelVersion]] = {}
    out = []
    for r in runs:
        if r.project not in digests:
            digests[r.project] = _versions_by_digest(registry, r.project)
        metric, score = _primary(r)
        version = digests[r.project].get(r.bundle_digest) if r.bundle_digest else None
        out.append(RunSummary(r, metric, score, version))
    return out


def list_page(
    store: RunStore,
    registry: Registry,
    *,
    project: str | None = None,
    status: str | None = None,
    page: int = 1,
) -> tuple[list[RunSummary], bool]:
    """One page of runs, newest first, and whether there is a next page."""
    page = max(1, page)
    runs = store.list_runs(project=project, status=status, limit=page * PAGE_SIZE + 1)
    shown = runs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return _summaries(registry, shown), len(runs) > page * PAGE_SIZE


def project_groups(
    store: RunStore, registry: Registry, *, per_project: int = 5
) -> list[ProjectRuns]:
    """Runs grouped by project (the spec's name), the most recently active project first."""
    grouped: dict[str, list[Run]] = {}
    for r in store.list_runs(limit=PROJECT_SCAN):
        grouped.setdefault(r.project, []).append(r)
    models = {m.name for m in registry.list_models(limit=500)}
    return [
        ProjectRuns(
            name=name,
            latest=runs[0],
            runs=_summaries(registry, runs[:per_project]),
            total=len(runs),
            model=name in models,
        )
        for name, runs in grouped.items()
    ]


def run_view(store: RunStore, registry: Registry, ref: str) -> RunView:
    """A recorded run by id or unique id prefix, with the version it registered (if any)."""
    run = store.get_run(ref)
    metric = _metric(run)
    rows = _board(run.leaderboard, metric)
    metrics: dict[str, dict[str, float]] = {"cv": {}, "test": {}}
    for key, value in run.metrics.items():
        part, _, name = key.partition("_")
        if part in metrics and name:
            metrics[part][name] = value
    version = _versions_by_digest(registry, run.project).get(run.bundle_digest or "")
    if rows:
        note = None
    elif run.status == "failed":
        note = "This run failed before it produced a leaderboard."
    elif run.status == "running":
        note = "This run is still running."
    else:
        note = "This run recorded no leaderboard."
    return RunView(
        run=run,
        version=version,
        metric=metric,
        greater_is_better=bool(run.leaderboard.get("greater_is_better", True)),
        rows=rows,
        comparison=(run.leaderboard.get("comparison") or {}).get("text"),
        metrics={k: v for k, v in metrics.items() if v},
        info={"task": run.params.get("task")} if run.params.get("task") else {},
        note=note,
    )


def run_for_version(store: RunStore, v: ModelVersion) -> Run | None:
    """The recorded run whose bundle a version holds (the oldest such run), if any."""
    runs = store.list_runs(project=v.name, limit=PROJECT_SCAN)
    matches = [r for r in runs if r.bundle_digest == v.digest]
    return matches[-1] if matches else None


def compare_view(store: RunStore, a: Run, ref: str) -> tuple[Run, dict[str, Any]]:
    """The run named ``ref`` and :func:`civicml.tracking.compare_runs` of ``a`` against it."""
    from civicml.tracking import compare_runs

    b = store.get_run(ref)
    return b, compare_runs(a, b)


def bundle_run_view(registry: Registry, name: str, version: int) -> RunView:
    """The training run a version's bundle holds (fetched and hash-checked), for versions
    registered before runs were recorded.

    Returns
    -------
    RunView
        With ``run`` ``None``; ``note`` is set, and there are no rows, when the bundle holds no
        leaderboard.
    """
    v = registry.get_version(name, version)
    bundle = registry.load_version(v.ref)

    def read(doc: str) -> dict[str, Any]:
        return bundle.read_json(doc) if bundle.has(doc) else {}

    board = read("leaderboard.json")
    metric = str(board.get("metric") or read("model_info.json").get("metric") or "")
    rows = _board(board, metric)
    metrics = {k: v for k, v in read("metrics.json").items() if k in ("cv", "test")}
    return RunView(
        run=None,
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
