"""The unsupervised job: a clustering or anomaly spec in, a verified bundle out.

load → check → scan for personal data → infer the contract → fit and choose → assess → save
the bundle. The same shape as :func:`civicml.workflow.run_training`, returning the same
:class:`~civicml.workflow.TrainingOutcome`, so ``civicml train`` / ``civicml run``, the
report and the registry treat these models like any other.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from civicml.spec import ProjectSpec
from civicml.workflow._prepare import (
    Prepared,
    prepare_table,
    private_columns,
    reference_tables,
    to_plain,
)
from civicml.workflow._recording import EventHandler, TrainingOutcome, lineage, run_tracked

__all__ = ["fit_unsupervised", "run_unsupervised"]


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
        fit_unsupervised,
        spec,
        bundle_dir,
        overwrite=overwrite,
        on_event=on_event,
        track=track,
        runs_uri=runs_uri,
        tracker=tracker,
        etl=etl,
    )


def fit_unsupervised(
    spec: ProjectSpec,
    bundle_dir: str | Path,
    overwrite: bool,
    on_event: EventHandler | None,
    tracker: Any,
    etl: Any,
) -> TrainingOutcome:
    """The unsupervised fitting job (unrecorded): prepare the table, fit and choose, assess,
    save the bundle. :func:`run_unsupervised` records it."""
    from civicml.assess import checks_to_dict

    _check_task(spec)
    if tracker is not None:
        on_event = tracker.wrap(on_event)
    emit = on_event or (lambda *a, **k: None)
    started = time.monotonic()
    label = spec.target
    prep = prepare_table(
        spec,
        etl,
        tracker,
        emit,
        check_target=None,
        check_task="clustering",
        not_features=[label] if label else [],
        validate=lambda df: _check_label(spec, df),
    )
    X = prep.frame.reset_index(drop=True)
    labels = X[label] if label else None

    emit("stage", name="train", task=spec.task)
    result = _fit_model(spec, X, prep.roles, labels, on_event)

    emit("stage", name="assess")
    assessment, checks = _assess(spec, result, X, prep)

    emit("stage", name="save")
    documents = {
        "model_info.json": _model_info(spec, result, prep),
        "contract.json": prep.contract.to_dict(),
        "leaderboard.json": result.leaderboard.to_dict(),
        "metrics.json": {"test": result.test_metrics, "cv": {}, "threshold": None},
        "lineage.json": lineage(spec, prep.etl, prep.frame, tracker, started),
        "spec.json": spec.model_dump(mode="json"),
        "personal_data.json": {"findings": [to_plain(f) for f in prep.findings]},
        "assessment.json": assessment,
        "checks.json": checks_to_dict(checks),
        "monitoring.json": {"outputs": _output_reference(result, X[prep.roles.features])},
        "onnx.json": {
            "exported": False,
            "reason": f"{result.task} models are served with the skops pipeline",
        },
    }
    bundle = _save(spec, bundle_dir, result, documents, X, prep.roles.features, overwrite)
    emit("saved", path=str(bundle.path), digest=bundle.digest)
    return TrainingOutcome(
        bundle,
        result,
        prep.contract,
        prep.findings,
        assessment,
        checks,
        prep.warnings,
        run_id=tracker.id if tracker is not None else None,
        etl=prep.etl,
    )


def _check_task(spec: ProjectSpec) -> None:
    from civicml._errors import SpecError

    if spec.task not in ("clustering", "anomaly"):
        raise SpecError.build(
            "run_unsupervised fits only unsupervised tasks",
            expected="task 'clustering' or 'anomaly'",
            got=spec.task,
            fix="Use run_training for supervised tasks",
        )


def _check_label(spec: ProjectSpec, df: pd.DataFrame) -> None:
    """The optional ``target`` (known labels, for scoring only) must be a column of the data."""
    from civicml._errors import DataError

    label = spec.target
    if label is not None and label not in df.columns:
        raise DataError.build(
            f"The 'target' column {label!r} (known labels, used only for scoring) is not in "
            f"the data. Columns are: {list(map(str, df.columns))[:20]}",
            fix=f"Set 'target' to one of them, or remove it (it is optional for task {spec.task})",
        )


def _fit_model(
    spec: ProjectSpec,
    X: pd.DataFrame,
    roles: Any,
    labels: pd.Series | None,
    on_event: EventHandler | None,
) -> Any:
    """Search the spec's families and choose one: a clustering or an anomaly detector."""
    from civicml.learn import cluster, detect_anomalies

    if spec.task == "clustering":
        cs = spec.clustering
        return cluster(
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
    an = spec.anomaly
    return detect_anomalies(
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


def _assess(spec: ProjectSpec, result: Any, X: pd.DataFrame, prep: Prepared) -> tuple[Any, Any]:
    """The assessment (a JSON-ready dict) and the promotion checks against the spec's limits."""
    from civicml.assess import assess_unsupervised, unsupervised_checks

    assessment = assess_unsupervised(
        result,
        frame=X,
        protected=dict(spec.protected),
        features=prep.roles.features,
        seed=spec.seed,
    )
    checks = unsupervised_checks(
        assessment,
        min_silhouette=spec.clustering.min_silhouette,
        min_cluster_share=spec.clustering.min_cluster_share,
        rate_tolerance=spec.anomaly.rate_tolerance,
        min_roc_auc=spec.anomaly.min_roc_auc,
        data_findings=[*prep.warnings, *prep.quality, *(to_plain(f) for f in prep.findings)],
    )
    return assessment, checks


def _model_info(spec: ProjectSpec, result: Any, prep: Prepared) -> dict[str, Any]:
    """``model_info.json``: the fields every bundle has, plus the clusters or the threshold."""
    from civicml.data import special_category_record

    info: dict[str, Any] = {
        "name": spec.name,
        "task": result.task,
        "target": spec.target,
        "metric": result.metric,
        "candidate": result.best,
        "features": prep.roles.features,
        "roles": {c.name: c.role for c in prep.contract.columns},
        "classes": [],
        "positive_label": None,
        "threshold": None,
        "id_columns": list(spec.columns.id),
        "n_train": result.n_train,
        "n_test": 0,
        # the UK GDPR Art. 9 inputs; the registry reads them for the solely-automated rule
        "special_category": special_category_record(
            prep.frame, prep.roles.features, spec.columns.special_category, spec.protected
        ),
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
    return info


def _save(
    spec: ProjectSpec,
    bundle_dir: str | Path,
    result: Any,
    documents: dict[str, Any],
    X: pd.DataFrame,
    features: list[str],
    overwrite: bool,
) -> Any:
    from civicml.bundle import save_bundle

    info = documents["model_info.json"]
    roles = {
        str(c["name"]): str(c.get("role") or "") for c in documents["contract.json"]["columns"]
    }
    findings = documents["personal_data.json"]["findings"]
    private = private_columns(
        spec,
        features,
        roles=roles,
        special=dict(info.get("special_category") or {}),
        findings=[SimpleNamespace(column=f.get("column")) for f in findings],
    )
    reference, reference_doc = reference_tables(spec, X, features, roles=roles, private=private)
    return save_bundle(
        bundle_dir,
        model=result.pipeline,
        documents={**documents, "reference.json": reference_doc},
        tables={"reference.parquet": reference},
        overwrite=overwrite,
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
