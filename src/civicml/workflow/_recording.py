"""Recording a fitting job: its outcome, its run in the runs store, and its lineage.

Shared by the supervised job (:mod:`._training_job`), the unsupervised job
(:mod:`._unsupervised_job`) and the jobs that wrap them, so none of them imports another.
"""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml.spec import ProjectSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EventHandler",
    "FitJob",
    "TrainingOutcome",
    "git_commit",
    "lineage",
    "package_versions",
    "record_outcome",
    "run_tracked",
    "sign_new_bundle",
    "spec_params",
    "start_tracking",
]

EventHandler = Callable[..., None]

_PACKAGES = (
    "civicml",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "lightgbm",
    "skops",
    "optuna",
    "duckdb",
)


@dataclass
class TrainingOutcome:
    """What :func:`~civicml.workflow.run_training` produced."""

    bundle: Any  # civicml.bundle.Bundle
    result: Any  # civicml.learn.TrainResult
    contract: Any  # civicml.data.DataContract
    pii_findings: list[Any]
    assessment: Any = None  # civicml.assess.Assessment
    checks: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    run_id: str | None = None  # the recorded run (civicml.tracking), when tracked
    etl: Any = None  # civicml.data.EtlResult: data versions and the transform step log
    energy: dict[str, Any] | None = None  # lineage.json's "energy": training and predictions


#: A fitting job: ``(spec, bundle_dir, overwrite, on_event, tracker, etl) -> TrainingOutcome``.
FitJob = Callable[[ProjectSpec, str | Path, bool, EventHandler | None, Any, Any], TrainingOutcome]


def package_versions(names: tuple[str, ...] = _PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape a model."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_commit(folder: Path) -> str | None:
    """The git commit of ``folder``'s repository, with ``-dirty`` when it has local changes."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True, timeout=5
        )
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def run_tracked(
    fit: FitJob,
    spec: ProjectSpec,
    bundle_dir: str | Path,
    *,
    overwrite: bool,
    on_event: EventHandler | None,
    track: bool,
    runs_uri: str | None,
    tracker: Any,
    etl: Any,
) -> TrainingOutcome:
    """Run a fitting job, recorded: into ``tracker`` when given, else into a new run (marked
    failed, with the error, if the job raises), or not at all when ``track`` is false."""
    if tracker is None and track:
        with start_tracking(spec, "train", runs_uri) as opened:
            return run_tracked(
                fit,
                spec,
                bundle_dir,
                overwrite=overwrite,
                on_event=on_event,
                track=track,
                runs_uri=runs_uri,
                tracker=opened,
                etl=etl,
            )
    outcome = fit(spec, bundle_dir, overwrite, on_event, tracker, etl)
    sign_new_bundle(outcome.bundle, on_event, outcome.warnings)
    if tracker is not None:
        record_outcome(tracker, outcome)
    return outcome


def sign_new_bundle(
    bundle: Any, on_event: EventHandler | None, warnings: list[str] | None = None
) -> None:
    """Sign a bundle training just wrote with the person's key ($CIVICML_SIGNING_KEY or
    ``~/.config/civicml/keys/civicml-signing.key``); without a key it stays unsigned and one
    warning says so (a ``civicml server`` registers signed bundles only)."""
    from civicml.bundle import default_key_path, sign_with_available_key

    bundle.signature = sign_with_available_key(bundle.path)
    if bundle.signature is None:
        message = (
            f"The bundle is unsigned: there is no signing key at {default_key_path()} "
            "(create one with 'civicml keys create'; a civicml server registers only signed "
            "bundles)"
        )
        if warnings is not None:
            warnings.append(message)
        if on_event is not None:
            on_event("warning", message=message)


def start_tracking(
    spec: ProjectSpec, kind: str, runs_uri: str | None, *, actor: str | None = None
) -> Any:
    """Open a recorded run for ``spec`` (a context manager yielding a RunTracker)."""
    from civicml.tracking import track_run

    return track_run(
        project=spec.name,
        kind=kind,
        spec=spec.model_dump(mode="json"),
        uri=runs_uri,
        project_dir=spec.base_dir,
        actor=actor,
        git_commit=git_commit(spec.base_dir.resolve()),
        packages=package_versions(),
        params=spec_params(spec),
    )


def spec_params(spec: ProjectSpec) -> dict[str, Any]:
    """The spec settings that shape a run, for comparing runs."""
    return {
        "task": spec.task,
        "target": spec.target,
        "metric": spec.metric,
        "budget_seconds": spec.budget_seconds,
        "max_trials": spec.max_trials,
        "seed": spec.seed,
        "cv_folds": spec.cv_folds,
        "test_size": spec.test_size,
        "cost_false_positive": spec.costs.false_positive,
        "cost_false_negative": spec.costs.false_negative,
        "transform_steps": len(spec.transform),
    }


def record_outcome(tracker: Any, outcome: TrainingOutcome) -> None:
    """Stage a finished training's results on its run."""
    r = outcome.result
    best = r.leaderboard.best
    metrics = {f"test_{k}": v for k, v in r.test_metrics.items()}
    if best is not None:
        metrics.update({f"cv_{k}": v for k, v in best.cv_mean.items()})
    tracker.set(
        params={
            "task": r.task,
            "metric": r.metric,
            "candidate": r.best,
            "candidate_params": dict(best.params) if best is not None else {},
            "threshold": r.threshold.value if r.threshold else None,
            "n_train": r.n_train,
            "n_test": r.n_test,
        },
        metrics=metrics,
        leaderboard=r.leaderboard.to_dict(),
        artifacts={"bundle": str(outcome.bundle.path)},
        bundle_digest=outcome.bundle.digest,
    )
    if outcome.energy is not None:
        tracker.set(energy=outcome.energy)


def lineage(
    spec: ProjectSpec, etl: Any, df: pd.DataFrame, tracker: Any, started: float
) -> dict[str, Any]:
    """``lineage.json``: where the training table came from, the run, the packages and the
    code version, and how long the job took since ``started`` (``time.monotonic()``)."""
    from civicml.data import frame_sha256

    first = etl.sources[0] if len(etl.sources) == 1 else None
    return {
        "created_at": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "data": {
            "source": first.location
            if first is not None
            else "sources: " + ", ".join(v.name for v in etl.sources),
            "file_sha256": first.file_sha256 if first is not None else None,
            "table_sha256": frame_sha256(df),
            "rows": len(df),
            "columns": df.shape[1],
            "sources": [
                {k: v.to_dict()[k] for k in ("name", "sha256", "rows", "columns", "location")}
                for v in etl.sources
            ],
            "steps": [step.to_dict() for step in etl.steps],
        },
        "run_id": tracker.id if tracker is not None else None,
        "packages": package_versions(),
        "git_commit": git_commit(spec.base_dir.resolve()),
        "seconds": round(time.monotonic() - started, 3),
        "platform": platform.platform(),
    }
