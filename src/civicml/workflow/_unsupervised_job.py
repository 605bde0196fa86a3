"""The unsupervised job: a clustering or anomaly spec in, a verified bundle out.

load → check → scan for personal data → infer the contract → fit and choose → assess → save
the bundle. The same shape as :func:`civicml.workflow.run_training`, returning the same
:class:`~civicml.workflow.TrainingOutcome`, so ``civicml train`` / ``civicml run``, the
report and the registry treat these models like any other.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from civicml.spec import ProjectSpec
from civicml.workflow._training_job import (
    REFERENCE_ROWS,
    EventHandler,
    TrainingOutcome,
    _asdict,
    _lineage,
    _parquet_safe,
    prepare_table,
    run_tracked,
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
    return run_tracked(
        _fit,
        spec,
        bundle_dir,
        overwrite=overwrite,
        on_event=on_event,
        track=track,
        runs_uri=runs_uri,
        tracker=tracker,
        etl=etl,
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
    from civicml.learn._anomaly import detect_anomalies
    from civicml.learn._clustering import cluster

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
    label = spec.target

    def _label_present(df: Any) -> None:
        if label is not None and label not in df.columns:
            raise DataError.build(
                f"The 'target' column {label!r} (known labels, used only for scoring) is not in "
                f"the data. Columns are: {list(map(str, df.columns))[:20]}",
                fix=f"Set 'target' to one of them, or remove it (it is optional for task {spec.task})",
            )

    prep = prepare_table(
        spec,
        etl,
        tracker,
        emit,
        check_target=None,
        check_task="clustering",
        not_features=[label] if label else [],
        validate=_label_present,
    )
    etl, df, warnings, findings, contract, roles = (
        prep.etl,
        prep.frame,
        prep.warnings,
        prep.findings,
        prep.contract,
        prep.roles,
    )
    cols = spec.columns
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
    assessment = assess_unsupervised(
        result, frame=X, protected=dict(spec.protected), features=roles.features, seed=spec.seed
    )
    checks = unsupervised_checks(
        assessment,
        min_silhouette=spec.clustering.min_silhouette,
        min_cluster_share=spec.clustering.min_cluster_share,
        rate_tolerance=spec.anomaly.rate_tolerance,
        min_roc_auc=spec.anomaly.min_roc_auc,
        data_findings=[*warnings, *(_asdict(f) for f in findings)],
    )

    emit("stage", name="save")
    lineage = _lineage(spec, etl, df, tracker, started)
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
    outputs = _output_reference(result, X[roles.features])
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
            "monitoring.json": {"outputs": outputs},
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


def _output_reference(result: Any, X: Any) -> dict[str, Any]:
    """What ``civicml monitor`` compares the served outputs with (``monitoring.json``).

    Clustering: the share of every training row in each cluster, assigned as the service
    assigns them (HDBSCAN noise goes to its nearest cluster). Anomaly: the share of training
    rows whose **out-of-fold** score is above the threshold (each row scored by a detector that
    did not see it: what new rows from the same population should show), beside the in-sample
    rate and the contamination.
    """
    import numpy as np

    n = len(X)
    if result.task == "clustering":
        assigned = np.asarray(result.pipeline.predict(X), dtype=np.int64)
        names = {int(p["cluster"]): str(p["name"]) for p in result.extra.get("profiles", [])}
        values, counts = np.unique(assigned, return_counts=True)
        return {
            "task": "clustering",
            "n": int(n),
            "clusters": [
                {
                    "cluster": int(v),
                    "name": names.get(int(v), f"Cluster {int(v)}"),
                    "n": int(c),
                    "share": float(c / n),
                }
                for v, c in zip(values, counts, strict=True)
            ],
            "source": "every training row, assigned to a cluster as the service assigns it",
        }
    ex = result.extra
    threshold = float(ex["threshold"])
    oof = np.asarray(ex.get("scores") or [], dtype=float)
    rate = float((oof > threshold).mean()) if len(oof) == n and n else None
    return {
        "task": "anomaly",
        "n": int(n),
        "threshold": threshold,
        "flag_rate": rate if rate is not None else float(ex["anomaly_rate"]),
        "in_sample_rate": float(ex["anomaly_rate"]),
        "contamination": ex.get("contamination"),
        "source": "training rows scored out of fold against the chosen detector's threshold"
        if rate is not None
        else "training rows scored in sample",
    }
