"""The main job: a project spec in, a verified bundle out.

load → check → scan for personal data → infer the contract → train → save the bundle.
Each stage is a call into its own package; this module only strings them together and records
what happened (lineage) so the bundle can say where it came from.
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
from typing import Any, cast

import pandas as pd

from civicml.spec import ProjectSpec

__all__ = [
    "TrainingOutcome",
    "git_commit",
    "package_versions",
    "record_outcome",
    "run_training",
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
REFERENCE_ROWS = 5_000


@dataclass
class TrainingOutcome:
    """What :func:`run_training` produced."""

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


def run_training(
    spec: ProjectSpec,
    bundle_dir: str | Path,
    *,
    overwrite: bool = False,
    on_event: EventHandler | None = None,
    track: bool = True,
    runs_uri: str | None = None,
    tracker: Any = None,
    etl: Any = None,
) -> TrainingOutcome:
    """Validate the data, train and compare candidates, and save the winner as a bundle.

    The run is recorded in the registry database's runs store (:mod:`civicml.tracking`):
    created ``running`` at the start, ``finished`` with its leaderboard, metrics, timings and
    bundle, or ``failed`` with the one-line error, which is re-raised.

    Parameters
    ----------
    spec : ProjectSpec
        The loaded civicml.yaml.
    bundle_dir : path
        The bundle folder to write.
    overwrite : bool
        Replace an existing bundle.
    on_event : callable, optional
        Progress events (``stage``, ``warning``, search events).
    track : bool, default True
        Record the run. ``runs_uri`` names the database (default: the registry's).
    tracker : RunTracker, optional
        Record into a run the caller opened (``civicml run`` and ``pipeline run`` do).
    etl : EtlResult, optional
        A training table already built by :func:`civicml.data.run_etl`.

    Raises
    ------
    SpecError, DataError, PersonalDataError, TrainingError
        With one clear line; nothing is written when training fails.
    """
    fit = _train
    if spec.task in ("clustering", "anomaly"):
        from civicml.workflow._unsupervised_job import _fit as fit
    return run_tracked(
        fit,
        spec,
        bundle_dir,
        overwrite=overwrite,
        on_event=on_event,
        track=track,
        runs_uri=runs_uri,
        tracker=tracker,
        etl=etl,
    )


def run_tracked(
    fit: Callable[..., TrainingOutcome],
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
    if tracker is not None:
        record_outcome(tracker, outcome)
    return outcome


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


@dataclass
class Prepared:
    """The checked training table and what was learned about it on the way."""

    etl: Any
    frame: pd.DataFrame
    warnings: list[str]
    findings: list[Any]
    contract: Any
    roles: Any


def prepare_table(
    spec: ProjectSpec,
    etl: Any,
    tracker: Any,
    emit: EventHandler,
    *,
    check_target: str | None,
    check_task: str,
    not_features: list[str] | None = None,
    validate: Callable[[pd.DataFrame], None] | None = None,
) -> Prepared:
    """load (ETL) → training-table checks → personal-data scan → contract → feature roles.

    Shared by the supervised and unsupervised jobs. ``validate`` runs on the loaded table
    before anything else looks at it; ``not_features`` are extra columns the checks ignore.
    """
    from civicml._errors import DataError
    from civicml.data import (
        check_personal_data,
        check_training_table,
        infer_contract,
        run_etl,
        scan_personal_data,
    )
    from civicml.learn import FeatureRoles

    emit("stage", name="load")
    if etl is None:
        etl = run_etl(
            spec,
            on_step=lambda s: emit(
                "etl_step",
                index=s.index,
                step=s.kind,
                name=s.name,
                rows_in=s.rows_in,
                rows_out=s.rows_out,
            ),
        )
    if tracker is not None:
        tracker.add_data_versions(etl.data_versions())
    df = etl.frame
    if validate is not None:
        validate(df)
    cols = spec.columns
    emit("stage", name="check", rows=len(df), columns=df.shape[1])
    warnings = list(
        check_training_table(
            df,
            target=check_target,
            task=check_task,
            id_columns=cols.id,
            drop_columns=[*cols.drop, *(not_features or [])],
            text_columns=cols.text,
            date_columns=cols.date,
            categorical_columns=cols.categorical,
            group=cols.group,
        )
    )
    for w in warnings:
        emit("warning", message=w)

    findings: list[Any] = []
    if spec.personal_data.scan:
        emit("stage", name="scan")
        findings = scan_personal_data(df.drop(columns=[spec.target]) if spec.target else df)
        check_personal_data(
            findings, allowed=spec.personal_data.allow, id_columns=cols.id, drop_columns=cols.drop
        )

    emit("stage", name="contract")
    contract = infer_contract(
        df,
        target=spec.target,
        id_columns=cols.id,
        text_columns=cols.text,
        date_columns=cols.date,
        categorical_columns=cols.categorical,
        drop_columns=[*cols.drop, *([cols.group] if cols.group else [])],
    )
    roles = FeatureRoles.from_mapping({c.name: c.role for c in contract.columns})
    if not roles.features:
        raise DataError.build(
            "No usable feature columns are left after removing the target, ids and dropped columns",
            fix="Check columns.id and columns.drop in civicml.yaml",
        )
    return Prepared(etl, df, warnings, findings, contract, roles)


def _train(
    spec: ProjectSpec,
    bundle_dir: str | Path,
    overwrite: bool,
    on_event: EventHandler | None,
    tracker: Any,
    etl: Any,
) -> TrainingOutcome:
    from civicml.energy import EnergyMeter
    from civicml.learn import detect_task

    if tracker is not None:
        on_event = tracker.wrap(on_event)
    emit = on_event or (lambda *a, **k: None)
    started = time.monotonic()
    prep = prepare_table(spec, etl, tracker, emit, check_target=spec.target, check_task=spec.task)
    etl, df, warnings, findings, contract, roles = (
        prep.etl,
        prep.frame,
        prep.warnings,
        prep.findings,
        prep.contract,
        prep.roles,
    )
    cols = spec.columns

    y = df[spec.target] if spec.target else None
    if y is None:
        from civicml._errors import SpecError

        raise SpecError.build(
            "task 'clustering' is not available yet", fix="Set a target and a supervised task"
        )
    keep = y.notna()  # check_training_table has already warned about empty targets
    X, y = df.loc[keep].reset_index(drop=True), y[keep].reset_index(drop=True)
    task = detect_task(y) if spec.task == "auto" else spec.task
    groups = X[cols.group] if cols.group else None

    emit("stage", name="train", task=task)
    # one meter covers the search, the refit and the assessment; it never fails the run
    with EnergyMeter(measure_power_secs=5.0) as meter:
        result, assessment, frame_test = _train_and_assess(
            spec, X, y, roles, task, groups, on_event, emit
        )
    # training-table warnings (e.g. a column that leaks the target) and the personal data the
    # model uses (declared, or training would have stopped) both need a person's eyes: they fail
    # the data-quality check until someone records an override with a reason
    from civicml.assess import evaluate_checks

    checks = evaluate_checks(
        assessment,
        metric=result.metric,
        data_findings=[*warnings, *(_asdict(f) for f in findings)],
    )

    emit("stage", name="energy")
    energy = _energy(meter.reading, result, frame_test[roles.features])
    emit("energy", **{k: energy.get(k) for k in ("energy_kwh", "emissions_g", "method")})

    emit("stage", name="onnx")
    onnx_files, onnx_doc = _onnx(result.pipeline, frame_test[roles.features])

    emit("stage", name="save")
    lineage = _lineage(spec, etl, df, tracker, started)
    lineage["energy"] = energy
    bundle = _save(
        spec,
        bundle_dir,
        overwrite,
        result,
        assessment,
        checks,
        contract,
        roles,
        X,
        findings,
        lineage,
        onnx_files,
        onnx_doc,
    )
    emit("saved", path=str(bundle.path), digest=bundle.digest)
    return TrainingOutcome(
        bundle,
        result,
        contract,
        findings,
        assessment,
        checks,
        warnings,
        run_id=tracker.id if tracker is not None else None,
        etl=etl,
        energy=energy,
    )


def _train_and_assess(
    spec: ProjectSpec,
    X: pd.DataFrame,
    y: pd.Series,
    roles: Any,
    task: str,
    groups: Any,
    on_event: EventHandler | None,
    emit: EventHandler,
) -> tuple[Any, Any, pd.DataFrame]:
    from civicml.learn import train

    result = train(
        X,
        y,
        roles=roles,
        task=task,
        metric=spec.metric,
        budget_seconds=spec.budget_seconds,
        max_trials=spec.max_trials,
        seed=spec.seed,
        cv_folds=spec.cv_folds,
        test_size=spec.test_size,
        groups=groups,
        cost_fp=spec.costs.false_positive,
        cost_fn=spec.costs.false_negative,
        on_event=on_event,
        selection=spec.selection,
        engine=None if spec.engine == "local" else spec.engine,
        families=spec.models,
    )

    emit("stage", name="assess")
    from civicml.assess import assess_model

    frame_test = X.iloc[result.test_index].reset_index(drop=True)
    assessment = assess_model(
        result.pipeline,
        frame_test[roles.features],
        frame_test[spec.target],
        task=result.task,
        classes=result.classes,
        threshold=result.threshold.value if result.threshold else None,
        protected=dict(spec.protected),
        frame_test=frame_test,
        features=roles.features,
        seed=spec.seed,
    )
    return result, assessment, frame_test


def _energy(reading: Any, result: Any, X_holdout: pd.DataFrame) -> dict[str, Any]:
    """Training energy, per-candidate figures on the leaderboard, and the chosen model's energy
    per 1,000 predictions (measured in a short loop). Never raises."""
    from civicml.energy import annotate_leaderboard, measure_predict_energy

    doc: dict[str, Any] = {"scope": "search, refit and assessment", **reading.to_dict()}
    try:
        if reading.ok:
            annotate_leaderboard(result.leaderboard, reading)
            doc["candidates"] = "apportioned by fit time at the measured average power"
        rows = X_holdout if len(X_holdout) else None
        doc["predict"] = measure_predict_energy(result.pipeline, rows, seconds=1.5)
    except Exception as exc:  # energy is a record, never a reason to lose a trained model
        doc["predict"] = {"wh_per_1000": None, "reason": f"{type(exc).__name__}: {exc}"}
    doc["predict"].pop("reading", None)
    return doc


def _lineage(
    spec: ProjectSpec, etl: Any, df: pd.DataFrame, tracker: Any, started: float
) -> dict[str, Any]:
    from civicml.data import frame_sha256

    first = etl.sources[0] if len(etl.sources) == 1 else None
    lineage = {
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
    return lineage


def _save(
    spec: ProjectSpec,
    bundle_dir: str | Path,
    overwrite: bool,
    result: Any,
    assessment: Any,
    checks: Any,
    contract: Any,
    roles: Any,
    X: pd.DataFrame,
    findings: list[Any],
    lineage: dict[str, Any],
    onnx_files: dict[str, bytes],
    onnx_doc: dict[str, Any],
) -> Any:
    from civicml.assess import checks_to_dict
    from civicml.bundle import save_bundle

    cols = spec.columns
    info = {
        "name": spec.name,
        "task": result.task,
        "target": result.target,
        "metric": result.metric,
        "candidate": result.best,
        "features": roles.features,
        "roles": {c.name: c.role for c in contract.columns},
        "classes": result.classes,
        "positive_label": result.positive_label,
        "threshold": result.threshold.value if result.threshold else None,
        "id_columns": list(cols.id),
        "n_train": result.n_train,
        "n_test": result.n_test,
    }
    metrics = {
        "test": result.test_metrics,
        "cv": result.leaderboard.best.cv_mean if result.leaderboard.best else {},
        "threshold": _asdict(result.threshold),
    }
    reference = (
        X[roles.features]
        .sample(n=min(REFERENCE_ROWS, len(X)), random_state=spec.seed)
        .reset_index(drop=True)
    )
    return save_bundle(
        bundle_dir,
        model=result.pipeline,
        documents={
            "model_info.json": info,
            "contract.json": contract.to_dict(),
            "leaderboard.json": result.leaderboard.to_dict(),
            "metrics.json": metrics,
            "lineage.json": lineage,
            "spec.json": spec.model_dump(mode="json"),
            "personal_data.json": {"findings": [_asdict(f) for f in findings]},
            "assessment.json": assessment.to_dict(),
            "checks.json": checks_to_dict(checks),
            "selection.json": {
                k: result.extra.get(k)
                for k in ("selection", "pareto", "comparison", "ensemble", "calibration")
            },
            "onnx.json": onnx_doc,
        },
        files=onnx_files,
        tables={"reference.parquet": _parquet_safe(reference)},
        overwrite=overwrite,
    )


def _onnx(pipeline: Any, X_holdout: pd.DataFrame) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Export to ONNX and keep the file only when it agrees with the pipeline on held-out
    rows (rows with missing values included)."""
    from civicml.bundle._onnx import export_onnx, parity

    exported = export_onnx(pipeline, X_holdout.head(50))
    if exported.model is None:
        return {}, {"exported": False, "reason": exported.reason}
    check = parity(exported.model, pipeline, X_holdout)
    doc = {"exported": bool(check.ok), "parity": _asdict(check)}
    if not check.ok:
        doc["reason"] = "the ONNX model disagreed with the pipeline on held-out rows"
        return {}, doc
    return {"model.onnx": exported.model}, doc


def _asdict(obj: Any) -> Any:
    if obj is None:
        return None
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    from dataclasses import asdict, is_dataclass

    # is_dataclass() also accepts dataclass types; asdict() rejects them at run time as before
    return asdict(cast(Any, obj)) if is_dataclass(obj) else obj


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            out[col] = s.astype("string")
    return out
