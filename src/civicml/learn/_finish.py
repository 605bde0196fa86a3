"""After the search: ensemble, select under constraints, refit, calibrate, threshold, compare."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from civicml.components import CalibratedModel, WeightedEnsemble, apply_calibrators, fit_calibrators
from civicml.learn._candidates import FAMILIES, build_pipeline
from civicml.learn._cv import predict_outputs
from civicml.learn._ensemble import caruana, caruana_cross_fitted, choose_calibration, oof_score
from civicml.learn._leaderboard import Entry, Leaderboard
from civicml.learn._metrics import Metric, compute_metrics
from civicml.learn._preprocess import FeatureRoles
from civicml.learn._search import TrialRecord
from civicml.learn._select import Candidate, Constraints, pareto_front, select
from civicml.learn._stats import VECTORISED, bootstrap_ci, verdict
from civicml.learn._threshold import Threshold, choose_threshold

__all__ = ["Finished", "finish"]

ENSEMBLE = "ensemble"


@dataclass
class Finished:
    name: str
    pipeline: Any
    threshold: Threshold | None
    test_outputs: np.ndarray | None
    extra: dict[str, Any] = field(default_factory=dict)


def finish(
    *,
    records: list[TrialRecord],
    board: Leaderboard,
    X_tr: pd.DataFrame,
    y_tr: np.ndarray,
    X_te: pd.DataFrame,
    y_te: np.ndarray,
    task: str,
    classes: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    roles: FeatureRoles,
    metric: Metric,
    seed: int,
    constraints: Constraints,
    deadline: float | None,
    cost_fp: float,
    cost_fn: float,
    ensemble: bool,
    calibrate: bool,
    emit: Callable[..., None],
) -> Finished:
    """Turn the search's records into the final fitted model and the leaderboard's statistics."""
    n_folds = len(splits)
    by_name = {r.name: r for r in records}
    extra: dict[str, Any] = {}

    def time_left() -> float:
        return math.inf if deadline is None else deadline - time.monotonic()

    def refit_cost(rec: TrialRecord) -> float:
        """A full-data refit: the mean fold fit time scaled by k/(k-1), with a 25% margin."""
        done = len(rec.cv.fold_seconds)
        if not done:
            return 0.0
        return 1.25 * rec.cv.fit_seconds / done * n_folds / max(n_folds - 1, 1)

    ranked_ok = [e for e in board.ranked() if e.status == "ok"]
    members: list[tuple[TrialRecord, float]] = []
    ens_oof = None
    if ensemble:
        pool: list[TrialRecord] = []
        spend = 0.0
        for e in ranked_ok:
            rec = by_name[e.name]
            if rec.family == "baseline" or len(pool) >= 8:
                continue
            if pool and spend + refit_cost(rec) > time_left() - 0.5:
                continue
            pool.append(rec)
            spend += refit_cost(rec)
        if len(pool) >= 2:
            weights, ens_score = caruana(
                [r.cv.oof for r in pool], y_tr, metric=metric, task=task, classes=classes
            )
            singles = [oof_score(metric, task, y_tr, r.cv.oof, classes) for r in pool]
            best_single = max(singles) if metric.greater_is_better else min(singles)
            kept = bool(metric.better(ens_score, best_single) and (weights > 0).sum() >= 2)
            # The greedy weights were chosen on the same OOF predictions they are scored on; keep
            # the ensemble only if it also wins when the weights are cross-fitted.
            honest: tuple[float, float] | None = None
            if kept:
                honest = caruana_cross_fitted(
                    [r.cv.oof for r in pool],
                    y_tr,
                    splits,
                    metric=metric,
                    task=task,
                    classes=classes,
                )
                kept = bool(metric.better(honest[0], honest[1]))
            extra["ensemble"] = {
                "kept": kept,
                "oof_score": ens_score,
                "best_single_oof_score": best_single,
                "cross_fitted_oof_score": None if honest is None else honest[0],
                "cross_fitted_best_single_oof_score": None if honest is None else honest[1],
                "weights": {r.name: float(w) for r, w in zip(pool, weights, strict=True) if w > 0},
            }
            if kept:
                members = [(r, float(w)) for r, w in zip(pool, weights, strict=True) if w > 0]
                ens_oof = np.sum([w * r.cv.oof for r, w in members], axis=0)
                board.entries.append(
                    _ensemble_entry(
                        members,
                        ens_oof,
                        y_tr,
                        task,
                        classes,
                        splits,
                        metric,
                        ens_score,
                        best_single,
                    )
                )
        board.extra["ensemble"] = extra.get("ensemble")

    # Selection under constraints, and the Pareto front.
    cands = [_candidate(e, metric.name) for e in board.ranked() if e.status == "ok"]
    chosen, given_up = select(
        cands, constraints, greater_is_better=metric.greater_is_better, metric=metric.name
    )
    if chosen is None:
        chosen = cands[0]
    extra["selection"] = {
        "constraints": asdict(constraints),
        "chosen": chosen.name,
        "given_up": given_up,
    }
    extra["pareto"] = pareto_front(cands, greater_is_better=metric.greater_is_better)
    board.selected = chosen.name

    emit("refit_start", name=chosen.name)
    if chosen.name == ENSEMBLE:
        final: Any = WeightedEnsemble(
            [_pipe(r, task, roles, seed) for r, _ in members], [w for _, w in members], task
        ).fit(X_tr, y_tr)
        chosen_oof = ens_oof
    else:
        rec = by_name[chosen.name]
        final = _pipe(rec, task, roles, seed).fit(X_tr, y_tr)
        chosen_oof = rec.cv.oof
    assert chosen_oof is not None

    final_oof = chosen_oof
    if task != "regression" and calibrate and chosen.name != "baseline":
        y_index = np.searchsorted(classes, y_tr)
        method, losses = choose_calibration(chosen_oof, y_index, splits)
        extra["calibration"] = {"method": method, "oof_log_loss": losses}
        if method is not None:
            cals = fit_calibrators(chosen_oof, y_index, method)
            final = CalibratedModel.from_parts(final, cals, method)
            final_oof = apply_calibrators(chosen_oof, cals, method)
        board.extra["calibration"] = extra["calibration"]

    threshold = None
    if task == "binary":
        threshold = _threshold(
            y_tr == classes[1], final_oof[:, 1], metric, classes, y_tr, cost_fp, cost_fn
        )

    test_out = predict_outputs(final, X_te, task, classes) if len(X_te) else None
    if test_out is not None:
        _held_out_scores(
            board,
            chosen.name,
            test_out,
            by_name,
            X_tr,
            y_tr,
            X_te,
            y_te,
            task,
            classes,
            roles,
            metric,
            seed,
            refit_cost,
            time_left,
        )
    _compare(board, splits)
    extra["comparison"] = board.comparison
    return Finished(chosen.name, final, threshold, test_out, extra)


def _pipe(rec: TrialRecord, task: str, roles: FeatureRoles, seed: int) -> Any:
    return build_pipeline(FAMILIES[rec.family], task, roles, rec.params, seed)


def _candidate(e: Entry, metric: str) -> Candidate:
    return Candidate(
        name=e.name,
        score=float(e.cv_mean.get(metric, float("nan"))),
        predict_ms=e.predict_ms,
        model_bytes=e.model_bytes,
        interpretable=bool(e.extra.get("interpretable", False)),
        simplicity=e.simplicity,
        predict_us_per_row=e.predict_us_per_row,
    )


def _ensemble_entry(
    members: list[tuple[TrialRecord, float]],
    oof: np.ndarray,
    y: np.ndarray,
    task: str,
    classes: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    metric: Metric,
    ens_score: float,
    best_single: float,
) -> Entry:
    folds = []
    for _, va in splits:
        out = oof[va]
        if task == "regression":
            folds.append(compute_metrics(task, y[va], values=out))
        else:
            folds.append(
                compute_metrics(
                    task,
                    y[va],
                    labels=classes[np.argmax(out, axis=1)],
                    proba=out if out.shape[1] > 2 else out[:, 1],
                    classes=list(classes),
                )
            )
    names = list(folds[0])
    sizes = [r.cv.model_bytes for r, _ in members]
    lat = [r.cv.predict_ms for r, _ in members]
    return Entry(
        name=ENSEMBLE,
        family=ENSEMBLE,
        params={"members": {r.name: round(w, 6) for r, w in members}},
        cv_mean={m: float(np.nanmean([f[m] for f in folds])) for m in names},
        cv_std={m: float(np.nanstd([f[m] for f in folds], ddof=1)) for m in names},
        fit_seconds=sum(r.cv.fit_seconds for r, _ in members),
        predict_us_per_row=sum(r.cv.predict_us_per_row for r, _ in members),
        simplicity=max(FAMILIES[r.family].simplicity for r, _ in members) + 1,
        extra={
            "fold_scores": [float(f.get(metric.name, np.nan)) for f in folds],
            "oof_score": ens_score,
            "best_single_oof_score": best_single,
            "interpretable": False,
        },
        model_bytes=None if None in sizes else int(sum(s or 0 for s in sizes)),
        predict_ms=None if None in lat else float(sum(v or 0.0 for v in lat)),
    )


def _threshold(
    y_pos: np.ndarray,
    score: np.ndarray,
    metric: Metric,
    classes: np.ndarray,
    y: np.ndarray,
    cost_fp: float,
    cost_fn: float,
) -> Threshold:
    by_cost = choose_threshold(y_pos, score, cost_fp=cost_fp, cost_fn=cost_fn)
    if cost_fp != cost_fn or metric.kind != "label":
        return by_cost
    # Equal costs and a label metric: the threshold that maximises (or minimises) that metric.
    cuts = np.unique(np.quantile(score, np.linspace(0.01, 0.99, 99)))
    values = [metric(y, np.where(score >= t, classes[1], classes[0]), list(classes)) for t in cuts]
    sign = 1.0 if metric.greater_is_better else -1.0
    t = float(cuts[int(np.nanargmax(sign * np.asarray(values)))])
    n = len(score)
    fp = float(np.sum((score >= t) & ~y_pos))
    fn = float(np.sum((score < t) & y_pos))
    return Threshold(
        value=t,
        cost_false_positive=float(cost_fp),
        cost_false_negative=float(cost_fn),
        expected_cost_per_1000=(fp * cost_fp + fn * cost_fn) / n * 1000,
        false_positives_per_1000=fp / n * 1000,
        false_negatives_per_1000=fn / n * 1000,
        rule=f"best {metric.name} (equal costs)",
    )


def _held_out_scores(
    board: Leaderboard,
    chosen: str,
    chosen_out: np.ndarray,
    by_name: dict[str, TrialRecord],
    X_tr: pd.DataFrame,
    y_tr: np.ndarray,
    X_te: pd.DataFrame,
    y_te: np.ndarray,
    task: str,
    classes: np.ndarray,
    roles: FeatureRoles,
    metric: Metric,
    seed: int,
    refit_cost: Callable[[TrialRecord], float],
    time_left: Callable[[], float],
) -> None:
    """A bootstrap 95% interval on the held-out score for the chosen and the top two others."""
    n_boot = 1000 if len(y_te) <= 5000 else 300
    outputs = {chosen: chosen_out}
    for e in [e for e in board.ranked() if e.status == "ok" and e.name != chosen][:2]:
        rec = by_name.get(e.name)
        if rec is None or refit_cost(rec) > time_left() - 0.3:
            continue
        model = _pipe(rec, task, roles, seed).fit(X_tr, y_tr)
        outputs[e.name] = predict_outputs(model, X_te, task, classes)
    for name, out in outputs.items():
        entry = board.get(name)
        if entry is None:
            continue

        def score_rows(idx: np.ndarray, out: np.ndarray = out) -> float:
            try:
                return oof_score(metric, task, y_te[idx], out[idx], classes)
            except ValueError:
                return float("nan")

        if metric.name in VECTORISED and metric.kind != "label":
            lo, hi = bootstrap_ci(
                metric.name, y_te, out, classes=list(classes), n_boot=n_boot, seed=seed
            )
        elif metric.name == "accuracy":
            labels = classes[np.argmax(out, axis=1)]
            lo, hi = bootstrap_ci("accuracy", y_te, labels, n_boot=n_boot, seed=seed)
        else:
            lo, hi = bootstrap_ci(score_rows, y_te, out, n_boot=min(n_boot, 200), seed=seed)
        entry.extra["test_score"] = score_rows(np.arange(len(y_te)))
        entry.extra["test_ci95"] = [lo, hi]


def _compare(board: Leaderboard, splits: list[tuple[np.ndarray, np.ndarray]]) -> None:
    ranked = [e for e in board.ranked() if e.status == "ok"]
    if len(ranked) < 2:
        return
    best, runner = ranked[0], ranked[1]
    comp = verdict(
        best.name,
        runner.name,
        best.extra.get("fold_scores", []),
        runner.extra.get("fold_scores", []),
        n_train=len(splits[0][0]),
        n_test=len(splits[0][1]),
        greater_is_better=board.greater_is_better,
    )
    doc = asdict(comp)
    for k in ("mean_difference", "t", "p_value"):
        v = doc[k]
        doc[k] = float(v) if isinstance(v, float) and math.isfinite(v) else None
    board.comparison = doc
