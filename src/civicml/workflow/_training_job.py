"""The main job: a project spec in, a verified bundle out.

load → check → scan for personal data → infer the contract → train → save the bundle.
Each stage is a call into its own package; this module only strings them together and records
what happened (lineage) so the bundle can say where it came from.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from civicml.spec import ProjectSpec
from civicml.workflow._parallel_job import train_data_parallel
from civicml.workflow._prepare import (
    prepare_table,
    private_columns,
    reference_tables,
    search_settings,
    to_plain,
)
from civicml.workflow._recording import (
    EventHandler,
    FitJob,
    TrainingOutcome,
    lineage,
    run_tracked,
)
from civicml.workflow._unsupervised_job import fit_unsupervised

__all__ = ["run_training"]


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
    resume: bool = False,
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
    resume : bool, default False
        Continue the search a killed run left in ``.civicml-checkpoint`` beside the bundle
        folder, without repeating its finished trials (with ``max_trials`` the remaining
        trials run; in a time budget the run gets the budget left when the last trial was
        kept; other data or settings are refused). Every search (in this process or on an
        engine) keeps that checkpoint while it runs; it is removed once the bundle is saved.

    Raises
    ------
    SpecError, DataError, PersonalDataError, TrainingError
        With one clear line; nothing is written when training fails.
    """
    fit: FitJob = fit_unsupervised if spec.task in ("clustering", "anomaly") else _train
    if resume and spec.data_parallel:
        from civicml._errors import SpecError

        raise SpecError.build(
            "--resume continues a search on an engine; data_parallel training has no "
            "checkpoint yet",
            fix="Run without --resume",
        )
    if resume and fit is _train:
        fit = functools.partial(_train, resume=True)
    elif resume:
        from civicml._errors import SpecError

        raise SpecError.build(
            f"--resume continues a supervised search; task {spec.task!r} has none",
            fix="Run without --resume",
        )
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


def _train(
    spec: ProjectSpec,
    bundle_dir: str | Path,
    overwrite: bool,
    on_event: EventHandler | None,
    tracker: Any,
    etl: Any,
    resume: bool = False,
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

    # personal and free-text inputs: the assessment draws no curve of them and quotes no value
    private = list(
        private_columns(
            spec,
            roles.features,
            roles={c.name: c.role for c in contract.columns},
            special={},
            findings=findings,
        )
    )
    _warn_if_budget_ignored(spec, emit)
    checkpoint = Path(bundle_dir).parent / ".civicml-checkpoint"
    emit("stage", name="train", task=task)
    # one meter covers the search, the refit and the assessment; it never fails the run
    with EnergyMeter(measure_power_secs=5.0) as meter:
        result, assessment, frame_test = _train_and_assess(
            spec, X, y, roles, task, groups, on_event, emit, private, (checkpoint, resume)
        )
    # a wide table's screened-out columns are not model inputs: not assessed, not required
    roles, contract = _model_inputs(result, roles, contract)
    # training-table warnings (e.g. a column that leaks the target) and the personal data the
    # model uses (declared, or training would have stopped) both need a person's eyes: they fail
    # the data-quality check until someone records an override with a reason
    from civicml.assess import evaluate_checks

    checks = evaluate_checks(
        assessment,
        metric=result.metric,
        data_findings=[*warnings, *prep.quality, *(to_plain(f) for f in findings)],
        limits=spec.checks.limits(),
    )

    emit("stage", name="energy")
    energy = _energy(meter.reading, result, frame_test[roles.features])
    emit("energy", **{k: energy.get(k) for k in ("energy_kwh", "emissions_g", "method")})

    emit("stage", name="onnx")
    onnx_files, onnx_doc = _onnx(result.pipeline, frame_test[roles.features])

    emit("stage", name="save")
    parts = BundleParts(
        result=result,
        assessment=assessment,
        checks=checks,
        contract=contract,
        roles=roles,
        frame=X,
        findings=findings,
        lineage={**lineage(spec, etl, df, tracker, started), "energy": energy},
        onnx_files=onnx_files,
        onnx_doc=onnx_doc,
    )
    bundle = _save(spec, bundle_dir, parts, overwrite=overwrite, emit=emit)
    emit("saved", path=str(bundle.path), digest=bundle.digest)
    if (checkpoint / "meta.json").is_file():  # the search is in the bundle now
        shutil.rmtree(checkpoint, ignore_errors=True)
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


def _model_inputs(result: Any, roles: Any, contract: Any) -> tuple[Any, Any]:
    """The roles and contract of what the model takes: the columns ``learn.train`` screened out
    of a wide table move to the contract's ``dropped`` (neither inputs nor required)."""
    screened = (result.extra.get("screened") or {}).get("dropped") or []
    if not screened:
        return roles, contract
    from dataclasses import replace

    gone = set(screened)
    return result.roles, replace(
        contract,
        columns=tuple(c for c in contract.columns if c.name not in gone),
        dropped=(*contract.dropped, *screened),
    )


def _warn_if_budget_ignored(spec: ProjectSpec, emit: EventHandler) -> None:
    """Say so when ``max_trials`` overrides a ``budget_seconds`` the spec also set."""
    if spec.max_trials is not None and "budget_seconds" in spec.model_fields_set:
        emit(
            "warning",
            message=(
                f"max_trials ({spec.max_trials}) is set, so the search runs that many trials "
                f"and budget_seconds ({spec.budget_seconds:g}) does not limit it; remove "
                "max_trials to search within the time budget"
            ),
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
    private: list[str],
    checkpoint: tuple[Path, bool],
) -> tuple[Any, Any, pd.DataFrame]:
    """The search, the refit and the held-out assessment: in this process, or with
    ``data_parallel`` the search on the sample and the final model on the Dask cluster."""
    from civicml.assess import assess_model
    from civicml.learn import train

    if spec.data_parallel:
        result, frame_test = train_data_parallel(spec, X, y, roles, task, on_event, emit)
    else:
        result = train(
            X,
            y,
            roles=roles,
            task=task,
            groups=groups,
            on_event=on_event,
            engine=None if spec.engine == "local" else spec.engine,
            families=spec.models,
            checkpoint=checkpoint[0],
            resume=checkpoint[1],
            **search_settings(spec),
        )
        frame_test = X.iloc[result.test_index].reset_index(drop=True)

    roles = result.roles  # the model's own inputs (a wide table's screened columns are gone)
    private = [c for c in private if c in roles.features]
    emit("stage", name="assess")
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
        metric=result.metric,
        costs=(spec.costs.false_positive, spec.costs.false_negative),
        private_columns=private,
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


@dataclass(frozen=True)
class BundleParts:
    """What a supervised bundle is written from."""

    result: Any  # civicml.learn.TrainResult
    assessment: Any  # civicml.assess.Assessment
    checks: list[Any]
    contract: Any  # civicml.data.DataContract
    roles: Any  # civicml.learn.FeatureRoles
    frame: pd.DataFrame  # the training rows, for the reference sample
    findings: list[Any]  # personal-data findings
    lineage: dict[str, Any]
    onnx_files: dict[str, bytes]
    onnx_doc: dict[str, Any]


#: rows from which civicml calls the processing "large scale" on its own (a person may say so
#: for fewer: the EDPB counts the people concerned, the data's range and the duration)
LARGE_SCALE_ROWS = 10_000


def dpia_screen(spec: ProjectSpec, info: dict[str, Any], findings: Sequence[Any] = ()) -> Any:
    """The DPIA screening of a supervised model: the spec's ``data_protection:`` answers plus
    what civicml sees itself — a model that scores people (it uses personal, protected or
    special-category data), special-category inputs, combined sources, and the table's size."""
    from civicml.spec import screen_dpia

    features = set(info.get("features") or [])
    people = sorted(
        features
        & {
            *spec.protected.values(),
            *spec.personal_data.allow,
            *spec.columns.special_category,
            *(str(f.column) for f in findings),
        }
    )
    inferred: dict[str, str] = {}
    if people and info.get("task") in ("binary", "multiclass", "regression"):
        inferred["evaluation_or_scoring"] = (
            f"a {info['task']} model scoring people from {', '.join(people[:4])}"
        )
    special = sorted(info.get("special_category") or {})
    if special:
        inferred["special_category_or_criminal_data"] = f"inputs {', '.join(special[:4])}"
    if spec.sources and len(spec.sources) >= 2:
        inferred["matching_datasets"] = f"{len(spec.sources)} sources combined"
    rows = int(info.get("n_train") or 0) + int(info.get("n_test") or 0)
    if rows >= LARGE_SCALE_ROWS:
        inferred["large_scale"] = f"{rows:,} rows"
    return screen_dpia(spec.data_protection.model_dump(), inferred)


def _minimisation(
    spec: ProjectSpec, parts: BundleParts, documents: dict[str, Any], emit: EventHandler
) -> dict[str, Any]:
    """``minimisation.json``: the smaller feature set (the model inputs minus the identifiers,
    constant columns and unused inputs the report lists) and its cost in score, measured by
    cross-validating the chosen candidate on it with the full model's folds
    (:mod:`civicml.workflow._reduced`). No refit runs when nothing would be dropped."""
    from civicml.report import minimisation_findings
    from civicml.workflow._reduced import DocumentView, measure_reduced, reduced_features

    reduced = reduced_features(parts.roles.features, minimisation_findings(DocumentView(documents)))
    emit("stage", name="minimise", dropped=len(reduced.dropped))
    X, group = parts.frame, spec.columns.group
    return measure_reduced(
        X,
        X[parts.result.target],
        parts.result,
        reduced,
        seed=spec.seed,
        cv_folds=spec.cv_folds,
        groups=X[group] if group else None,
    )


def _save(
    spec: ProjectSpec,
    bundle_dir: str | Path,
    parts: BundleParts,
    *,
    overwrite: bool,
    emit: EventHandler | None = None,
) -> Any:
    from civicml.assess import checks_to_dict
    from civicml.bundle import save_bundle
    from civicml.data import special_category_record

    result, roles, contract = parts.result, parts.roles, parts.contract
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
        "id_columns": list(spec.columns.id),
        "n_train": result.n_train,
        "n_test": result.n_test,
        # the UK GDPR Art. 9 inputs; the registry reads them for the solely-automated rule
        "special_category": special_category_record(
            parts.frame, roles.features, spec.columns.special_category, spec.protected
        ),
    }
    metrics = {
        "test": result.test_metrics,
        "cv": result.leaderboard.best.cv_mean if result.leaderboard.best else {},
        "threshold": to_plain(result.threshold),
    }
    reference, reference_doc = _reference(spec, parts, info)
    documents = {
        "model_info.json": info,
        "contract.json": contract.to_dict(),
        "leaderboard.json": result.leaderboard.to_dict(),
        "metrics.json": metrics,
        "lineage.json": parts.lineage,
        "spec.json": spec.model_dump(mode="json"),
        "personal_data.json": {"findings": [to_plain(f) for f in parts.findings]},
        "assessment.json": parts.assessment.to_dict(),
        "checks.json": checks_to_dict(parts.checks),
        "selection.json": {
            k: result.extra.get(k)
            for k in (
                "selection",
                "pareto",
                "comparison",
                "ensemble",
                "calibration",
                "data_parallel",
            )
        },
        "onnx.json": parts.onnx_doc,
        "reference.json": reference_doc,
        "dpia_screen.json": dpia_screen(spec, info, parts.findings).to_dict(),
    }
    documents["minimisation.json"] = _minimisation(
        spec, parts, documents, emit or (lambda *a, **k: None)
    )
    return save_bundle(
        bundle_dir,
        model=result.pipeline,
        documents=documents,
        files=parts.onnx_files,
        tables={"reference.parquet": reference},
        overwrite=overwrite,
    )


def _reference(
    spec: ProjectSpec, parts: BundleParts, info: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The monitoring reference without people in it; a binary model scores its rows here,
    as :class:`civicml.bundle.Predictor` would from the saved bundle."""
    from types import SimpleNamespace

    from civicml.bundle import Predictor

    features = parts.roles.features
    private = private_columns(
        spec,
        features,
        roles=info["roles"],
        special=info["special_category"],
        findings=parts.findings,
    )
    score = None
    if info["task"] == "binary":
        predictor = Predictor(cast(Any, SimpleNamespace(info=info, model=parts.result.pipeline)))
        score = lambda rows: predictor.predict(rows)[["score", "decision"]]  # noqa: E731
    return reference_tables(
        spec, parts.frame, features, roles=info["roles"], private=private, score=score
    )


def _onnx(pipeline: Any, X_holdout: pd.DataFrame) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Export to ONNX and keep the file only when it agrees with the pipeline on held-out
    rows (rows with missing values included)."""
    from civicml.bundle import export_onnx, parity

    exported = export_onnx(pipeline, X_holdout.head(50))
    if exported.model is None:
        return {}, {"exported": False, "reason": exported.reason}
    check = parity(exported.model, pipeline, X_holdout)
    doc = {"exported": bool(check.ok), "parity": to_plain(check)}
    if not check.ok:
        doc["reason"] = "the ONNX model disagreed with the pipeline on held-out rows"
        return {}, doc
    return {"model.onnx": exported.model}, doc
