"""The monitoring job behind ``civicml monitor NAME``: a bundle and its decision log in, a report out.

:func:`monitor_model` takes a bundle (its reference sample, contract, protected columns and
model info) and the decision log, and runs every monitor: per-column and prediction drift over
the whole period, chunked control limits and PCA reconstruction error per time window, realised
performance where labels exist and a CBPE estimate otherwise (reconciled when both exist),
selection rates by protected characteristic, and the human override rate. :func:`monitor_registered`
resolves a registry alias first and reads the log and labels from their default folders.

Examples
--------
>>> parse_when("2025-01-02").isoformat()
'2025-01-02T00:00:00+00:00'
>>> now = pd.Timestamp("2025-01-08T12:00:00Z")
>>> parse_when("7d", now=now).isoformat()
'2025-01-01T12:00:00+00:00'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import numpy as np
import pandas as pd

from civicml._errors import DataError, SpecError
from civicml.monitor._alerts import AlertPolicy
from civicml.monitor._chunked import ChunkedMonitor, ChunkedResult, floor_to_window
from civicml.monitor._columns import (
    NOT_LOGGED,
    REDACTED,
    REDACTED_IN_LOG,
    is_masked,
    left_out_reason,
    missing_as_category,
    sketch_with_missing,
)
from civicml.monitor._drift import DriftDetector, DriftReport
from civicml.monitor._fairness import override_rate, selection_rates_over_time
from civicml.monitor._inputs import CBPE_METRICS, MonitorInputs
from civicml.monitor._labels import LABEL, RECEIVED, read_labels
from civicml.monitor._large_log import LOG_SAMPLE_ROWS, log_sample
from civicml.monitor._multivariate import PCAReconstructionDrift
from civicml.monitor._outputs import OutputDrift, output_drift
from civicml.monitor._performance import (
    estimate_performance_over_time,
    realised_performance,
    reconcile_performance,
)
from civicml.monitor._reference import as_text, band_edges, bands, group_counts, prepare_frame
from civicml.monitor._report import MonitorReport, build_report

if TYPE_CHECKING:  # pragma: no cover
    from civicml.bundle import Bundle

__all__ = [
    "MonitorInputs",
    "MonitorKeywords",
    "MonitorSettings",
    "decision_log_folder",
    "monitor_decision_log",
    "monitor_model",
    "monitor_registered",
    "parse_when",
]

PREDICTION_COLUMNS = ("score", "decision")
#: what realised performance of an anomaly detector reports on labelled rows
ANOMALY_METRICS = ("precision", "recall", "f1", "roc_auc")
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": "min", "min": "min", "h": "h", "d": "D", "w": "W"}


def _when(value: pd.Timestamp | str | None) -> pd.Timestamp | None:
    if value is None or isinstance(value, str):
        return parse_when(value)
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")


def parse_when(text: str | None, *, now: pd.Timestamp | None = None) -> pd.Timestamp | None:
    """An ISO date/time (UTC unless it says otherwise) or a look-back such as ``7d`` or ``12h``.

    Raises
    ------
    SpecError
        Neither form.
    """
    if text is None or str(text).strip() == "":
        return None
    match = _RELATIVE.match(str(text))
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        base = now if now is not None else pd.Timestamp.now(tz="UTC")
        return base - pd.Timedelta(amount, _UNITS[unit])
    try:
        ts = pd.Timestamp(str(text))
    except (ValueError, TypeError) as exc:
        raise SpecError.build(
            "The monitoring window bound is not a date or a look-back",
            expected="an ISO date such as '2025-01-31' or '2025-01-31T09:00', or '7d', '12h', '2w'",
            got=text,
            fix="Pass --since 7d or --since 2025-01-01.",
        ) from exc
    return ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")


def decision_log_folder(
    model: str, *, project_dir: str | Path = ".", log_dir: str | Path | None = None
) -> Path:
    """The decision log ``civicml serve`` writes: ``log_dir`` or ``.civicml/decisions/NAME``."""
    return (
        Path(log_dir)
        if log_dir is not None
        else Path(project_dir) / ".civicml" / "decisions" / model
    )


def _rows_per_window(times: pd.Series, window: str) -> int:
    counts = floor_to_window(times, window).value_counts()
    return int(np.median(counts.to_numpy())) if len(counts) else 0


def _fairness(
    log: pd.DataFrame,
    inputs: MonitorInputs,
    window: str,
    min_group_size: int,
    min_ratio: float,
) -> pd.DataFrame | None:
    columns = {k: v for k, v in inputs.protected.items() if v in log.columns}
    if not columns or "decision" not in log.columns:
        return None
    frame = log[["time", "decision"]].copy()
    ref = inputs.reference
    decision = None
    if "decision" in ref.columns:
        decision = pd.to_numeric(ref["decision"], errors="coerce").to_numpy()
    mapping = {}
    ref_groups: dict[str, dict[str, Any]] = {}
    for characteristic, column in columns.items():
        values = log[column]
        if (values.astype(str) == REDACTED).all():
            continue
        kind = inputs.kinds.get(column)
        stored = inputs.groups.get(characteristic) if column not in ref.columns else None
        if column not in ref.columns and stored is None:
            continue
        if stored is not None:  # a private characteristic: counts per group from training
            edges = list(stored.get("band_edges") or [])
            ref_groups[characteristic] = stored
        else:
            edges = band_edges(ref[column]) if kind == "numeric" else []
            if decision is not None:
                ref_groups[characteristic] = group_counts(ref[column], kind, decision, edges)
        if kind == "numeric":
            values = bands(edges, values)
        frame[f"__p_{characteristic}"] = as_text(values)
        mapping[characteristic] = f"__p_{characteristic}"
    if not mapping:
        return None
    reference_ratios = _reference_ratios(ref_groups, min_group_size) if decision is not None else {}
    table = selection_rates_over_time(
        frame, mapping, window=window, positive=1, min_ratio=min_ratio
    )
    # Small groups swing by chance: they stay in the table but neither set nor fall below the max.
    small = table["n"] < min_group_size
    big = table.loc[~small]
    top = big.groupby("window_start")["selection_rate"].max()
    top_per_row = table["window_start"].map(top)
    ratio = np.where(
        (top_per_row > 0) & ~small,
        table["selection_rate"] / top_per_row.where(top_per_row > 0),
        np.nan,
    )
    table["ratio_to_max"] = ratio
    table["below_min_ratio"] = np.nan_to_num(ratio, nan=np.inf) < min_ratio
    if "decision" in inputs.reference.columns:
        table["reference_ratio"] = [
            reference_ratios.get((str(c), str(g)), np.nan)
            for c, g in zip(table["characteristic"], table["group"], strict=True)
        ]
        # 99% sampling error of the group's rate, as a share of the window's highest rate
        rate = table["reference_ratio"] * top_per_row
        se = np.sqrt((rate * (1 - rate)).clip(lower=0) / table["n"].clip(lower=1))
        table["ratio_margin"] = (2.58 * se / top_per_row).to_numpy()
    return table


def _reference_ratios(
    groups: Mapping[str, Mapping[str, Any]], min_group_size: int
) -> dict[tuple[str, str], float]:
    """Each group's reference selection rate as a share of its characteristic's highest."""
    ratios: dict[tuple[str, str], float] = {}
    for characteristic, g in groups.items():
        rates = [
            (str(group), selected / n)
            for group, n, selected in zip(g["groups"], g["n"], g["selected"], strict=True)
            if n >= min_group_size
        ]
        if not rates:
            continue
        top = max(rate for _, rate in rates)
        for group, rate in rates:
            ratios[(str(characteristic), group)] = float(rate / top) if top > 0 else np.nan
    return ratios


def _labels_by_request(log: pd.DataFrame, labels: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Each label frame (keyed by request id or a logged column) as ``request_id, label``."""
    found = pd.Series(pd.NA, index=log.index, dtype=object)
    for frame in labels:
        keys = [c for c in frame.columns if c not in (LABEL, RECEIVED)]
        if len(keys) != 1 or keys[0] not in log.columns:
            raise DataError.build(
                f"Stored labels are keyed by {keys!r}, which the decision log does not have",
                expected=f"'request_id' or one of the logged columns {list(log.columns)[:12]!r}",
                got=keys,
                fix="Deliver the labels again with --key request_id.",
            )
        key = keys[0]
        lookup = frame.drop_duplicates(key, keep="last").set_index(frame[key].astype(str))[LABEL]
        mapped = log[key].astype(str).map(lookup)
        found = found.where(found.notna(), mapped)
    return pd.DataFrame({"request_id": log["request_id"], LABEL: found}).dropna(subset=[LABEL])


def _binary(values: pd.Series, positive: Any) -> pd.Series:
    text = values.astype(str)
    pos = text == str(positive)
    if str(positive) not in set(text):
        pos |= text.str.lower().isin(("1", "1.0", "true"))
    return pos.astype(int)


def _performance(
    log: pd.DataFrame,
    inputs: MonitorInputs,
    labels: Sequence[pd.DataFrame],
    window: str,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    realised = estimated = reconciled = None
    binary = inputs.task == "binary" and "score" in log.columns and "decision" in log.columns
    if binary:
        estimated = estimate_performance_over_time(
            log,
            window=window,
            threshold=float(inputs.threshold if inputs.threshold is not None else 0.5),
            metrics=CBPE_METRICS,
        )
    joined = _labels_by_request(log, labels) if labels else pd.DataFrame()
    if len(joined):
        if binary:
            joined[LABEL] = _binary(joined[LABEL], inputs.positive_label)
            decisions = log.assign(decision=pd.to_numeric(log["decision"], errors="coerce"))
            realised = realised_performance(
                decisions, joined, window=window, metrics=CBPE_METRICS, positive=1
            )
        elif inputs.task == "anomaly" and "is_anomaly" in log.columns:
            # known anomalies: 1/true, or the positive label the bundle was scored against
            joined[LABEL] = _binary(joined[LABEL], 1)
            flags = log.assign(is_anomaly=pd.to_numeric(log["is_anomaly"], errors="coerce"))
            if "anomaly_score" in flags.columns:
                flags["anomaly_score"] = pd.to_numeric(flags["anomaly_score"], errors="coerce")
            realised = realised_performance(
                flags,
                joined,
                window=window,
                prediction_column="is_anomaly",
                score_column="anomaly_score" if "anomaly_score" in log.columns else None,
                metrics=ANOMALY_METRICS,
                positive=1,
            )
        elif inputs.task == "regression" and "prediction" in log.columns:
            joined[LABEL] = pd.to_numeric(joined[LABEL], errors="coerce")
            realised = realised_performance(
                log,
                joined.dropna(subset=[LABEL]),
                window=window,
                prediction_column="prediction",
                score_column=None,
                metrics=("mae", "rmse"),
            )
    if realised is not None and estimated is not None:
        have = realised[realised["n_labelled"] > 0]
        if len(have):
            reconciled = reconcile_performance(estimated, have, metrics=list(CBPE_METRICS))
    return realised, estimated, reconciled


@dataclass(frozen=True)
class MonitorSettings:
    """What a monitoring run looks at and when it alerts, as one object.

    Attributes
    ----------
    since, until : timestamp or str, optional
        The period, ``[since, until)``; ISO dates or look-backs such as ``"7d"``.
    window : str
        Time window of the chunked checks, performance, fairness and override trends.
    policy : AlertPolicy, optional
        Which findings alert (default :class:`AlertPolicy`).
    drift_share : float
        Dataset drift when at least this share of input columns drifted (Evidently: 0.5).
    min_group_size : int
        Fairness ratios ignore groups with fewer rows in a window.
    max_rows : int or None
        Most decisions of the period :func:`monitor_decision_log` reads (default
        :data:`LOG_SAMPLE_ROWS`); above it, a uniform sample of this many drawn by DuckDB, and
        the report says so. ``None``: every row.

    Examples
    --------
    >>> from dataclasses import replace
    >>> replace(MonitorSettings(), window="1W").window
    '1W'
    """

    since: pd.Timestamp | str | None = None
    until: pd.Timestamp | str | None = None
    window: str = "1D"
    policy: AlertPolicy | None = None
    drift_share: float = 0.5
    min_group_size: int = 30
    max_rows: int | None = LOG_SAMPLE_ROWS


class MonitorKeywords(TypedDict, total=False):
    """:class:`MonitorSettings`' fields as keyword arguments of :func:`monitor_model`."""

    since: pd.Timestamp | str | None
    until: pd.Timestamp | str | None
    window: str
    policy: AlertPolicy | None
    drift_share: float
    min_group_size: int
    max_rows: int | None


def monitor_model(
    bundle: Bundle | MonitorInputs,
    log: pd.DataFrame,
    *,
    model: str | None = None,
    version: str | None = None,
    alias: str | None = None,
    labels: Sequence[pd.DataFrame] | pd.DataFrame | None = None,
    log_folder: str | Path | None = None,
    settings: MonitorSettings | None = None,
    **keywords: Unpack[MonitorKeywords],
) -> MonitorReport:
    """Run every monitor on the decision log of one model version and return the report.

    Parameters
    ----------
    bundle : Bundle or MonitorInputs
        The version being monitored (its reference sample, contract and protected columns).
    log : pandas.DataFrame
        The decision log (:func:`civicml.serve.read_decision_log`); rows of other model versions
        (another ``model_sha256``) are left out. A log read through DuckDB carries its true
        counts (``attrs["decision_log"]``): the report's ``sample`` then says how many of the
        period's decisions the monitors saw.
    labels : DataFrame or list of DataFrame, optional
        Ground truth keyed by ``request_id`` or a logged column, with a ``label`` column.
    log_folder : path, optional
        Only for the error message when no rows are left.
    settings : MonitorSettings, optional
        The period, window, alert policy and limits as one object (see :class:`MonitorSettings`).
    **keywords
        Any :class:`MonitorSettings` field as a keyword (``since="7d"``, ``window="1W"`` ...);
        it replaces the field of ``settings``.

    Raises
    ------
    DataError
        No rows of this model in the period (the CLI exits 2).
    """
    inputs = bundle if isinstance(bundle, MonitorInputs) else MonitorInputs.from_bundle(bundle)
    opts = replace(settings or MonitorSettings(), **keywords)
    policy = opts.policy or AlertPolicy()
    start, end = _when(opts.since), _when(opts.until)
    window = _window(opts.window)
    drift_share, min_group_size = opts.drift_share, opts.min_group_size
    name = model or inputs.name
    sample = log_sample(log, max_rows=opts.max_rows)
    frame = _rows_in_period(log, inputs, start, end, name=name, log_folder=log_folder)
    monitored, notes, left_out = _monitored_columns(frame, inputs)
    if sample is not None and sample["note"]:
        notes.insert(0, sample["note"])
    kinds = {c: inputs.kinds[c] for c in monitored}
    # missing values are a category on both sides (see civicml.monitor._columns)
    current = missing_as_category(prepare_frame(frame, kinds), kinds)
    reference = missing_as_category(prepare_frame(inputs.reference, kinds), kinds)
    preds = tuple(c for c in PREDICTION_COLUMNS if c in kinds)
    features = [c for c in monitored if c not in preds]

    drift, skipped = _drift(
        reference, current, features, preds, kinds, drift_share, inputs.sketches
    )
    left_out.update({c: why for c, why in skipped.items() if c in features})
    in_rows = [c for c in features if c in reference.columns]
    if len(in_rows) < len(features):
        kept = ", ".join(c for c in features if c not in in_rows)
        notes.append(
            f"Kept as distributions only (personal, special-category or free text): {kept}; "
            "drift is tested, chunked and multivariate checks skip them."
        )
    chunked, multivariate = _chunked(reference, current, in_rows, preds, window, notes)
    outputs = _output_drift(inputs, frame, notes)
    label_frames = [labels] if isinstance(labels, pd.DataFrame) else list(labels or [])
    realised, estimated, reconciled = _performance(frame, inputs, label_frames, window)
    fairness = _fairness(frame, inputs, window, min_group_size, policy.fairness_min_ratio or 0.8)
    overrides = None
    if "overridden" in frame.columns and frame["overridden"].notna().any():
        overrides = override_rate(frame, window=window)

    found = MonitorReport(
        model=name,
        version=version,
        alias=alias,
        window_start=_iso(start if start is not None else frame["time"].min()),
        window_end=_iso(end if end is not None else frame["time"].max()),
        drift=drift,
        chunked=chunked,
        multivariate=multivariate,
        performance=realised,
        estimated=estimated,
        reconciliation=reconciled,
        fairness=fairness,
        overrides=overrides,
        output_drift=outputs,
        left_out={c: left_out[c] for c in inputs.features if c in left_out},
    )
    report = build_report(
        found, policy=policy, reference_performance=inputs.reference_performance or None
    )
    if chunked is not None:
        chunked.notes.extend(notes)
    report.sample = sample
    return report


def _window(window: str) -> str:
    """The window as pandas wants it ('1d' as people write it becomes '1D'), checked early."""
    window = str(window).strip()
    if window[-1:] in ("d", "w"):
        window = window[:-1] + window[-1].upper()
    floor_to_window(pd.Series([pd.Timestamp("2025-01-01")]), window)
    return window


def _rows_in_period(
    log: pd.DataFrame,
    inputs: MonitorInputs,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    *,
    name: str,
    log_folder: str | Path | None,
) -> pd.DataFrame:
    """The log's rows of this model version in ``[start, end)``, oldest first.

    Raises
    ------
    DataError
        No ``time`` column, or no rows left (the message says which filter left none).
    """
    if "time" not in log.columns:
        raise DataError.build(
            "The decision log has no 'time' column",
            got=list(log.columns)[:12],
            fix="Pass the frame read_decision_log returns.",
        )
    frame = log.assign(time=pd.to_datetime(log["time"], utc=True))
    n_all = len(frame)
    if "model_sha256" in frame.columns:
        frame = frame[frame["model_sha256"] == inputs.digest]
    n_model = len(frame)
    if start is not None:
        frame = frame[frame["time"] >= start]
    if end is not None:
        frame = frame[frame["time"] < end]
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    if frame.empty:
        where = f" in {log_folder}" if log_folder is not None else ""
        period = start is not None or end is not None
        what, fix = _no_rows_message(where, name, inputs.digest, n_all, n_model, period=period)
        raise DataError.build(what, got={"since": _iso(start), "until": _iso(end)}, fix=fix)
    return frame


def _no_rows_message(
    where: str, name: str, digest: str, n_all: int, n_model: int, *, period: bool
) -> tuple[str, str]:
    """What to say, and the fix, when no rows of the model are left in the period."""
    if n_all == 0 and period:
        return (
            f"The decision log{where} has no predictions of {name} in the period",
            "Widen --since/--until, or check that the service logs to this folder.",
        )
    if n_all == 0:
        return (
            f"The decision log{where} has no predictions",
            "Serve the model with 'civicml serve' (it logs by default) or pass --log-dir.",
        )
    if n_model == 0:
        return (
            f"The decision log{where} has {n_all:,} predictions but none from {name} "
            f"with bundle digest {digest[:12]}",
            "Check --alias or --bundle: it must be the version that served them.",
        )
    return (
        f"The decision log{where} has no predictions of {name} in the period",
        f"Widen --since/--until; {n_model:,} rows fall outside it.",
    )


def _monitored_columns(
    frame: pd.DataFrame, inputs: MonitorInputs
) -> tuple[list[str], list[str], dict[str, str]]:
    """The columns to monitor (logged and not redacted), notes on those left out, and each
    left-out input column with the reason (dates, free text, ids, not logged, redacted)."""
    left_out = {
        c: left_out_reason(c, role=inputs.roles.get(c, ""), sketch=inputs.sketches.get(c))
        for c in inputs.features
        if c not in inputs.kinds
    }
    monitored = [c for c in inputs.kinds if c in frame.columns]
    missing = [c for c in inputs.features if c in inputs.kinds and c not in frame.columns]
    masked = {c: why for c in monitored if (why := is_masked(frame[c])) is not None}
    redacted = [c for c, why in masked.items() if why == REDACTED_IN_LOG]
    monitored = [c for c in monitored if c not in masked]
    notes = []
    if missing:
        notes.append(f"Inputs not in the log, not monitored: {', '.join(missing)}.")
    if redacted:
        notes.append(f"Personal data redacted in the log, not monitored: {', '.join(redacted)}.")
    left_out.update(dict.fromkeys(missing, NOT_LOGGED))
    left_out.update({c: why for c, why in masked.items() if c in inputs.features})
    return monitored, notes, left_out


def _drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: list[str],
    preds: tuple[str, ...],
    kinds: dict[str, str],
    drift_share: float,
    sketches: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[DriftReport, dict[str, str]]:
    """Per-column and prediction drift over the whole period (private columns from sketches),
    and the columns the detector had to skip (a personal-data sketch keeps no labels)."""
    rows = [c for c in [*features, *preds] if c in reference.columns]
    counted = {c: sketch_with_missing(s) for c, s in (sketches or {}).items()}
    detector = DriftDetector(
        columns=[*features, *preds], prediction_columns=preds, drift_share=drift_share
    ).fit(reference[rows], column_types=kinds, sketches=counted)
    return detector.detect(current), dict(detector.profile_.skipped)


def _chunked(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: list[str],
    preds: tuple[str, ...],
    window: str,
    notes: list[str],
) -> tuple[ChunkedResult | None, ChunkedResult | None]:
    """Chunked control limits and PCA reconstruction error per window (a note when too few rows)."""
    chunked = multivariate = None
    if not [*features, *preds]:
        notes.append("No column kept as rows to cut into chunks; chunked checks skipped.")
        return None, None
    per_window = _rows_per_window(current["time"], window)
    chunk_size = max(20, min(per_window, len(reference) // 3))
    if len(reference) >= 2 * chunk_size and per_window >= 2:
        chunked = (
            ChunkedMonitor(chunk_size=chunk_size, columns=[*features, *preds])
            .fit(reference)
            .detect(current, freq=window)
        )
        if len(features) >= 2:
            multivariate = (
                PCAReconstructionDrift(chunk_size=chunk_size, columns=features)
                .fit(reference)
                .detect(current, freq=window)
            )
    else:
        notes.append("Too few rows per window for chunked limits; chunked checks skipped.")
    return chunked, multivariate


def _output_drift(
    inputs: MonitorInputs, frame: pd.DataFrame, notes: list[str]
) -> OutputDrift | None:
    """Cluster-share or flag-rate drift of an unsupervised model (a note when not logged)."""
    if not inputs.outputs:
        return None
    outputs = output_drift(inputs.outputs, frame)
    if outputs is None:
        notes.append("The log has no cluster / is_anomaly column: output drift not checked.")
    return outputs


def _iso(ts: Any) -> str | None:
    if ts is None:
        return None
    return pd.Timestamp(ts).isoformat()


def monitor_registered(
    model: str,
    *,
    alias: str = "production",
    registry: str | None = None,
    project_dir: str | Path = ".",
    bundle_dir: str | Path | None = None,
    log_dir: str | Path | None = None,
    labels_dir: str | Path | None = None,
    settings: MonitorSettings | None = None,
    **keywords: Unpack[MonitorKeywords],
) -> MonitorReport:
    """Resolve ``model@alias`` (or a bundle folder), read its decision log and labels, monitor.

    The log defaults to ``.civicml/decisions/NAME`` under ``project_dir`` (where ``civicml
    serve`` writes it) and the labels to ``.civicml/labels/NAME``. ``settings`` and
    ``**keywords`` are :func:`monitor_model`'s.
    """
    opts = replace(settings or MonitorSettings(), **keywords)
    version: str | None = None
    used_alias: str | None = None
    if bundle_dir is not None:
        from civicml.bundle import load_bundle

        bundle = load_bundle(bundle_dir)
        name = model or str(bundle.info.get("name") or Path(bundle_dir).name)
    else:
        from civicml.registry import open_registry

        ref = model if ("@" in model or "/" in model) else f"{model}@{alias}"
        with open_registry(registry, project_dir=project_dir) as reg:
            found = reg.resolve(ref)
            bundle = reg.load_version(ref)
        name, version = found.name, str(found.version)
        if "@" in model:
            used_alias = model.partition("@")[2]
        elif "/" not in model:
            used_alias = alias
    folder = decision_log_folder(name, project_dir=project_dir, log_dir=log_dir)
    labels = read_labels(name, project_dir=project_dir, labels_dir=labels_dir)
    return monitor_decision_log(
        bundle, folder, model=name, version=version, alias=used_alias, labels=labels, settings=opts
    )


def monitor_decision_log(
    bundle: Bundle | MonitorInputs,
    folder: str | Path,
    *,
    model: str | None = None,
    version: str | None = None,
    alias: str | None = None,
    labels: Sequence[pd.DataFrame] | pd.DataFrame | None = None,
    settings: MonitorSettings | None = None,
    **keywords: Unpack[MonitorKeywords],
) -> MonitorReport:
    """Monitor one bundle against the decision log in ``folder``: the one computation behind
    ``civicml monitor``, the dashboard's monitoring page and the HTML report.

    The log is read through DuckDB for the period of ``settings`` (``since``/``until``) and
    the model version, in bounded memory: above ``max_rows`` decisions (default
    :data:`LOG_SAMPLE_ROWS`) a reproducible uniform sample of them is monitored, and the
    report's ``sample`` and notes say so with the true totals. The frame is handed to
    :func:`monitor_model`; the report's :attr:`~civicml.monitor.MonitorReport.verdict` is what
    every surface shows.

    Raises
    ------
    DataError
        The folder does not exist, or it holds no rows of this model in the period.
    """
    from civicml.serve import read_decision_log

    opts = replace(settings or MonitorSettings(), **keywords)
    path = Path(folder)
    if not path.exists():
        raise DataError.build(
            f"There is no decision log for {model or 'the model'} at {path}",
            fix="Serve the model with 'civicml serve' (it logs there) or pass --log-dir DIR.",
        )
    start, end = _when(opts.since), _when(opts.until)
    inputs = bundle if isinstance(bundle, MonitorInputs) else MonitorInputs.from_bundle(bundle)
    log = read_decision_log(
        path, since=start, until=end, model_sha256=inputs.digest, max_rows=opts.max_rows
    )
    counts = log.attrs.get("decision_log") or {}
    if not counts.get("rows"):  # the same messages as when the whole log was read
        period = start is not None or end is not None
        name = model or inputs.name
        n_all = int(counts.get("rows_in_period", 0))
        what, fix = _no_rows_message(f" in {path}", name, inputs.digest, n_all, 0, period=period)
        raise DataError.build(what, got={"since": _iso(start), "until": _iso(end)}, fix=fix)
    return monitor_model(
        inputs,
        log,
        model=model,
        version=version,
        alias=alias,
        labels=labels,
        log_folder=path,
        settings=replace(opts, since=start, until=end),
    )
