"""The training table, prepared for any fitting job, and what every bundle keeps of it.

load (ETL) → training-table checks → personal-data scan → contract → feature roles; then the
reference a bundle stores for monitoring: sampled rows of the columns that hold nobody's
personal data, and distributions only (``reference.json``) of personal-data, special-category,
protected and free-text columns. Shared by the supervised and unsupervised jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import pandas as pd

from civicml.spec import ProjectSpec
from civicml.workflow._recording import EventHandler

__all__ = [
    "REFERENCE_ROWS",
    "Prepared",
    "parquet_safe",
    "prepare_table",
    "private_columns",
    "reference_rows",
    "reference_tables",
    "search_settings",
    "to_plain",
]

#: The most training rows a bundle keeps as its monitoring reference.
REFERENCE_ROWS = 5_000


@dataclass
class Prepared:
    """The checked training table and what was learned about it on the way."""

    etl: Any
    frame: pd.DataFrame
    warnings: list[str]
    findings: list[Any]
    contract: Any
    roles: Any
    #: data-quality findings (constant columns, missing values) before constant columns were
    #: dropped from the contract: the one source for the check, the report and the contract
    quality: list[Any] = field(default_factory=list)


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
    large = _large_source(spec) if etl is None and check_target is not None else None
    etl = _load_sample(spec, large, tracker, emit) if large else _load(spec, etl, tracker, emit)
    df = etl.frame
    if validate is not None:
        validate(df)
    warnings = _check(spec, df, emit, check_target, check_task, not_features or [])
    if large:
        warnings.insert(0, _sample_note(etl, spec.data_parallel))
        emit("warning", message=warnings[0])
    findings = _scan(spec, df, emit)
    contract, roles, quality = _contract(spec, df, emit, findings, source=large)
    return Prepared(etl, df, warnings, findings, contract, roles, quality)


#: The most rows of a file too large for memory that a supervised job searches and trains on.
SAMPLE_ROWS = 200_000


def search_settings(spec: ProjectSpec) -> dict[str, Any]:
    """The spec's settings that every job passes to ``learn.train`` alike (metric, budget,
    trials, seed, folds, held-out share, costs and selection), so the in-process search and the
    data-parallel job's search on its sample cannot drift apart.

    >>> s = search_settings(ProjectSpec(name="demo", data={"path": "d.csv"}, target="y"))
    >>> sorted(s)  # doctest: +NORMALIZE_WHITESPACE
    ['budget_seconds', 'cost_fn', 'cost_fp', 'cv_folds', 'max_trials', 'metric', 'seed',
     'selection', 'test_size']
    """
    return {
        "metric": spec.metric,
        "budget_seconds": spec.budget_seconds,
        "max_trials": spec.max_trials,
        "seed": spec.seed,
        "cv_folds": spec.cv_folds,
        "test_size": spec.test_size,
        "cost_fp": spec.costs.false_positive,
        "cost_fn": spec.costs.false_negative,
        "selection": spec.selection,
    }


def _large_source(spec: ProjectSpec) -> str | None:
    """The spec's one data file, folder or glob when it is too large to load (streamed
    through DuckDB and sampled instead), or always with ``data_parallel`` (the driver holds
    a sample; the workers read the table); ``None`` to load the table whole. The rule is
    :func:`civicml.data.large_spec_source`, which ``civicml validate --spec`` follows too."""
    from civicml.data import large_spec_source

    if spec.data_parallel:
        return large_spec_source(spec, out_of_core=True, asked_by="data_parallel: true")
    return large_spec_source(spec)


def _load_sample(spec: ProjectSpec, path: str, tracker: Any, emit: EventHandler) -> Any:
    """The training table of a file too large for memory: a reproducible sample drawn by
    DuckDB (stratified by class for a classification target), recorded as a transform step
    (rows in, rows out, method) in the lineage and the run's data versions."""
    import time
    from dataclasses import replace

    from civicml.data import EtlResult, StepLog, file_sha256, fingerprint, sample_for_search

    emit("stage", name="load")
    started = time.perf_counter()
    assert spec.target is not None
    stratify = {"binary": True, "multiclass": True, "regression": False}.get(spec.task)
    sample = sample_for_search(
        path, spec.target, max_rows=SAMPLE_ROWS, seed=spec.seed, stratify=stratify
    )
    total, method = int(sample.attrs["rows_in"]), str(sample.attrs["method"])
    step = StepLog(
        index=1,
        kind="sample",
        name="sample_for_search",
        inputs=("data",),
        rows_in=total,
        rows_out=len(sample),
        columns_out=sample.shape[1],
        seconds=round(time.perf_counter() - started, 3),
        note=f"{method} by DuckDB, seed {spec.seed}; the search and the final model use it",
    )
    emit("etl_step", index=1, step="sample", name=step.name, rows_in=total, rows_out=len(sample))
    file_hash = file_sha256(path) if Path(path).is_file() else None
    location = spec.data.path if spec.data is not None else path
    source = replace(
        fingerprint(sample, "data", role="source", location=location, file_hash=file_hash),
        rows=total,  # the profile is the sample's; rows and the file hash are the file's
    )
    table = fingerprint(sample, "table", role="table", location="sample")
    etl = EtlResult(frame=sample, sources=[source], table=table, steps=[step])
    if tracker is not None:
        tracker.add_data_versions(etl.data_versions())
    return etl


def _sample_note(etl: Any, data_parallel: bool = False) -> str:
    step = etl.steps[0]
    if data_parallel:
        return (
            f"The data file has {step.rows_in:,} rows: the Dask workers read all of them and "
            f"train the final LightGBM data-parallel; the checks, the personal-data scan and "
            f"the search use a {step.note.split(';')[0]} of {step.rows_out:,} rows; the "
            "contract is learned from every row."
        )
    if step.rows_in == step.rows_out:
        return f"The data file ({step.rows_in:,} rows) was read through DuckDB."
    return (
        f"The data file has {step.rows_in:,} rows, more than fit in memory: the search and the "
        f"final model use a {step.note.split(';')[0]} of {step.rows_out:,} rows; the contract "
        "is learned from every row."
    )


def _load(spec: ProjectSpec, etl: Any, tracker: Any, emit: EventHandler) -> Any:
    from civicml.data import run_etl

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
    return etl


def _check(
    spec: ProjectSpec,
    df: pd.DataFrame,
    emit: EventHandler,
    target: str | None,
    task: str,
    not_features: list[str],
) -> list[str]:
    from civicml.data import check_training_table

    cols = spec.columns
    emit("stage", name="check", rows=len(df), columns=df.shape[1])
    warnings = list(
        check_training_table(
            df,
            target=target,
            task=task,
            id_columns=cols.id,
            drop_columns=[*cols.drop, *not_features],
            text_columns=cols.text,
            date_columns=cols.date,
            categorical_columns=cols.categorical,
            group=cols.group,
        )
    )
    for w in warnings:
        emit("warning", message=w)
    return warnings


def _scan(spec: ProjectSpec, df: pd.DataFrame, emit: EventHandler) -> list[Any]:
    from civicml.data import check_personal_data, scan_personal_data

    if not spec.personal_data.scan:
        return []
    cols = spec.columns
    emit("stage", name="scan")
    findings = scan_personal_data(df.drop(columns=[spec.target]) if spec.target else df)
    check_personal_data(
        findings, allowed=spec.personal_data.allow, id_columns=cols.id, drop_columns=cols.drop
    )
    return findings


def _contract(
    spec: ProjectSpec,
    df: pd.DataFrame,
    emit: EventHandler,
    findings: Sequence[Any] = (),
    *,
    source: str | None = None,
) -> tuple[Any, Any, list[Any]]:
    from civicml._errors import DataError
    from civicml.data import (
        drop_constant_columns,
        infer_contract,
        infer_contract_duckdb,
        quality_findings,
    )
    from civicml.learn import FeatureRoles

    cols = spec.columns
    emit("stage", name="contract")
    # a file too large to load: the contract over every row, by SQL, not the sample's
    infer = partial(infer_contract_duckdb, source) if source else partial(infer_contract, df)
    contract = infer(
        target=spec.target,
        id_columns=cols.id,
        text_columns=cols.text,
        date_columns=cols.date,
        categorical_columns=cols.categorical,
        drop_columns=[*cols.drop, *([cols.group] if cols.group else [])],
        # personal data keeps its type but none of its values (no postcodes in the bundle)
        personal_columns=[
            *spec.personal_data.allow,
            *cols.id,
            *cols.text,
            *(str(f.column) for f in findings),
        ],
    )
    quality = quality_findings(contract)
    contract = drop_constant_columns(contract)  # a single value cannot help; not an input
    roles = FeatureRoles.from_mapping({c.name: c.role for c in contract.columns})
    if not roles.features:
        raise DataError.build(
            "No usable feature columns are left after removing the target, ids and dropped columns",
            fix="Check columns.id and columns.drop in civicml.yaml",
        )
    return contract, roles, quality


def reference_rows(X: pd.DataFrame, features: list[str], seed: int) -> pd.DataFrame:
    """Up to :data:`REFERENCE_ROWS` training rows of ``features``, sampled with ``seed`` and
    made safe for Parquet: the bundle's ``reference.parquet``."""
    sample = X[features].sample(n=min(REFERENCE_ROWS, len(X)), random_state=seed)
    return parquet_safe(sample.reset_index(drop=True))


def private_columns(
    spec: ProjectSpec,
    features: list[str],
    *,
    roles: dict[str, str],
    special: dict[str, Any],
    findings: Sequence[Any] = (),
) -> dict[str, str]:
    """Features a bundle must not keep as raw rows, and why: ``text`` (free text, by role or
    ``columns.text``), ``personal`` (``personal_data.allow``, ids, or found by the scan),
    ``special`` (UK GDPR Art. 9, declared or detected) or ``protected`` (``protected:``).

    >>> from civicml.spec import ProjectSpec
    >>> spec = ProjectSpec.model_validate({"name": "x", "data": {"path": "t.csv"}, "target": "y",
    ...     "personal_data": {"allow": ["postcode"]}, "protected": {"sex": "sex"}})
    >>> private_columns(spec, ["postcode", "sex", "notes", "tenure"],
    ...                 roles={"notes": "text"}, special={})
    {'postcode': 'personal', 'sex': 'protected', 'notes': 'text'}
    """
    from civicml.monitor import private_columns as private_of

    return private_of(
        features,
        spec=spec.model_dump(mode="json"),
        roles=roles,
        special=special,
        found=[str(f.column) for f in findings],
    )


def reference_tables(
    spec: ProjectSpec,
    X: pd.DataFrame,
    features: list[str],
    *,
    roles: dict[str, str],
    private: dict[str, str],
    score: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The bundle's ``reference.parquet`` (rows of the public features) and ``reference.json``
    (distributions of the private ones, and ``score`` — the model's score and decision — on the
    sampled rows, scored here because the bundle no longer holds every input)."""
    from civicml.monitor import build_reference

    sample = reference_rows(X, features, spec.seed)
    outputs = score(sample) if score is not None else None
    return build_reference(
        sample,
        features=features,
        roles=roles,
        private=private,
        outputs=outputs,
        protected=dict(spec.protected),
    )


def to_plain(obj: Any) -> Any:
    """``obj`` as JSON-ready data: its ``to_dict()``, a dataclass as a dict, else itself."""
    if obj is None:
        return None
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    from dataclasses import asdict, is_dataclass

    # is_dataclass() also accepts dataclass types; asdict() rejects them at run time as before
    return asdict(cast(Any, obj)) if is_dataclass(obj) else obj


def parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose non-numeric, non-boolean columns are strings."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            out[col] = s.astype("string")
    return out
