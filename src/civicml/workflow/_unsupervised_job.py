"""The unsupervised job: a clustering or anomaly spec in, a verified bundle out.

load → check → scan for personal data → infer the contract → fit and choose → assess → save
the bundle. The same shape as :func:`civicml.workflow.run_training`, returning the same
:class:`~civicml.workflow.TrainingOutcome`, so ``civicml train`` / ``civicml run``, the
report and the registry treat these models like any other.
"""

from __future__ import annotations

import datetime as _dt
import platform
import time
from pathlib import Path
from typing import Any

from civicml.spec import ProjectSpec
from civicml.workflow._training_job import (
    REFERENCE_ROWS,
    EventHandler,
    TrainingOutcome,
    _asdict,
    _parquet_safe,
    git_commit,
    package_versions,
    record_outcome,
    start_tracking,
)

__all__ = ["run_unsupervised"]


def run_unsupervised(
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
    """Fit and choose a clustering or anomaly model for ``spec`` and save it as a bundle.

    Parameters and recording are those of :func:`civicml.workflow.run_training`. ``target``
    is optional: for clustering, known groups scored by ARI/NMI; for anomaly, known anomalies
    scored by ROC AUC (and used to choose the detector). It is never a feature.

    Raises
    ------
    SpecError, DataError, PersonalDataError, TrainingError
        With one clear line; nothing is written when fitting fails.
    """
    if tracker is not None or not track:
        outcome = _fit(spec, bundle_dir, overwrite, on_event, tracker, etl)
        if tracker is not None:
            record_outcome(tracker, outcome)
        return outcome
    with start_tracking(spec, "train", runs_uri) as tracker:
        return run_unsupervised(
            spec, bundle_dir, overwrite=overwrite, on_event=on_event, tracker=tracker, etl=etl
        )


def _fit(
    spec: ProjectSpec,
    bundle_dir: str | Path,
    overwrite: bool,
    on_event: EventHandler | None,
    tracker: Any,
    etl: Any,
) -> TrainingOutcome:
    from civicml._errors import DataError, SpecError
    from civicml.assess._checks import checks_to_dict
    from civicml.assess._unsupervised import assess_unsupervised, unsupervised_checks
    from civicml.bundle import save_bundle
    from civicml.data import (
        check_personal_data,
        check_training_table,
        frame_sha256,
        infer_contract,
        run_etl,
        scan_personal_data,
    )
    from civicml.learn._anomaly import detect_anomalies
    from civicml.learn._clustering import cluster
    from civicml.learn._preprocess import FeatureRoles

    if spec.task not in ("clustering", "anomaly"):
        raise SpecError.build(
            "run_unsupervised fits only unsupervised tasks",
            expected="task 'clustering' or 'anomaly'",
            got=spec.task,
            fix="Use run_training for supervised tasks",
        )
    if tracker is not None:
        on_event = tracker.wrap(on_event)
    emit = on_event or (lambda *a, **k: None)
    started = time.monotonic()
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
    cols = spec.columns
    label = spec.target
    if label is not None and label not in df.columns:
        raise DataError.build(
            f"The 'target' column {label!r} (known labels, used only for scoring) is not in the "
            f"data. Columns are: {list(map(str, df.columns))[:20]}",
            fix=f"Set 'target' to one of them, or remove it (it is optional for task {spec.task})",
        )
    not_features = [*cols.drop, *([label] if label else [])]
    emit("stage", name="check", rows=len(df), columns=df.shape[1])
    warnings = list(
        check_training_table(
            df,
            target=None,
            task="clustering",
            id_columns=cols.id,
            drop_columns=not_features,
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
        findings = scan_personal_data(df.drop(columns=[label]) if label else df)
        check_personal_data(
            findings, allowed=spec.personal_data.allow, id_columns=cols.id, drop_columns=cols.drop
        )

    emit("stage", name="contract")
    contract = infer_contract(
        df,
        target=label,
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
    X = df.reset_index(drop=True)
    labels = X[label] if label else None

    emit("stage", name="train", task=spec.task)
    if spec.task == "clustering":
        cs = spec.clustering
        result = cluster(
            X,
            roles=roles,
            families=cs.families,
            min_clusters=cs.min_clusters,
            max_clusters=cs.max_clusters,
            stability_resamples=cs.stability_resamples,
            max_search_rows=cs.max_search_rows,
            seed=spec.seed,
            labels=labels,
            on_event=on_event,
        )
    else:
        an = spec.anomaly
        result = detect_anomalies(
            X,
            roles=roles,
            families=an.families,
            contamination=an.contamination,
            labels=labels,
            folds=min(spec.cv_folds, 5),
            max_reasons=an.max_reasons,
            seed=spec.seed,
            on_event=on_event,
        )

    emit("stage", name="assess")
    assessment = assess_unsupervised(result)
    checks = unsupervised_checks(
        assessment,
        min_silhouette=spec.clustering.min_silhouette,
        min_cluster_share=spec.clustering.min_cluster_share,
        rate_tolerance=spec.anomaly.rate_tolerance,
        min_roc_auc=spec.anomaly.min_roc_auc,
        data_findings=[*warnings, *(_asdict(f) for f in findings)],
    )

    emit("stage", name="save")
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
    info: dict[str, Any] = {
        "name": spec.name,
        "task": result.task,
        "target": label,
        "metric": result.metric,
        "candidate": result.best,
        "features": roles.features,
        "roles": {c.name: c.role for c in contract.columns},
        "classes": [],
        "positive_label": None,
        "threshold": None,
        "id_columns": list(cols.id),
        "n_train": result.n_train,
        "n_test": 0,
    }
    if result.task == "clustering":
        info["clusters"] = [
            {k: p[k] for k in ("cluster", "name", "size", "share", "summary")}
            for p in result.extra["profiles"]
        ]
    else:
        info["threshold"] = result.extra["threshold"]
        info["anomaly"] = {
            "threshold": result.extra["threshold"],
            "contamination": result.extra["contamination"],
            "max_reasons": result.extra["max_reasons"],
            "reference": result.extra["reference"],
        }
    reference = (
        X[roles.features]
        .sample(n=min(REFERENCE_ROWS, len(X)), random_state=spec.seed)
        .reset_index(drop=True)
    )
    bundle = save_bundle(
        bundle_dir,
        model=result.pipeline,
        documents={
            "model_info.json": info,
            "contract.json": contract.to_dict(),
            "leaderboard.json": result.leaderboard.to_dict(),
            "metrics.json": {"test": result.test_metrics, "cv": {}, "threshold": None},
            "lineage.json": lineage,
            "spec.json": spec.model_dump(mode="json"),
            "personal_data.json": {"findings": [_asdict(f) for f in findings]},
            "assessment.json": assessment,
            "checks.json": checks_to_dict(checks),
            "onnx.json": {
                "exported": False,
                "reason": f"{result.task} models are served with the skops pipeline",
            },
        },
        tables={"reference.parquet": _parquet_safe(reference)},
        overwrite=overwrite,
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
    )
