"""The training path: hold out a test split, cross-validate candidates, refit the best."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from civicml._errors import SpecError, TrainingError
from civicml.learn._candidates import FAMILIES, Family, build_pipeline, families_for
from civicml.learn._cv import CVResult, cross_validate, make_splitter, predict_outputs
from civicml.learn._leaderboard import Entry, Leaderboard
from civicml.learn._metrics import compute_metrics, get_metric
from civicml.learn._preprocess import FeatureRoles
from civicml.learn._tasks import detect_task
from civicml.learn._threshold import Threshold, choose_threshold

__all__ = ["TrainResult", "train"]

EventHandler = Callable[..., None]


@dataclass
class TrainResult:
    """What training produced: the refit winner, the leaderboard and held-out metrics."""

    task: str
    target: str
    metric: str
    classes: list[Any]
    roles: FeatureRoles
    leaderboard: Leaderboard
    best: str
    pipeline: Any
    test_metrics: dict[str, float]
    threshold: Threshold | None
    n_train: int
    n_test: int
    seconds: float
    test_index: list[int] = field(default_factory=list)
    test_scores: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def positive_label(self) -> Any:
        return self.classes[-1] if self.task == "binary" else None


def train(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    roles: FeatureRoles,
    task: str = "auto",
    metric: str | None = None,
    budget_seconds: float = 60.0,
    max_trials: int | None = None,
    seed: int = 0,
    cv_folds: int = 5,
    test_size: float = 0.2,
    groups: pd.Series | None = None,
    cost_fp: float = 1.0,
    cost_fn: float = 1.0,
    families: list[str] | None = None,
    on_event: EventHandler | None = None,
) -> TrainResult:
    """Train and compare candidates with cross-validation; refit the best on all training rows.

    A held-out test split (``test_size``) is set aside first; the comparison never sees it.
    Candidates run simplest first; once ``budget_seconds`` is spent no new candidate starts
    (the constant baseline always runs). ``max_trials`` caps the number of candidates and, with
    ``seed``, makes a run reproducible.
    """
    started = time.monotonic()
    deadline = started + budget_seconds
    emit = on_event or (lambda *a, **k: None)
    if budget_seconds <= 0:
        raise SpecError.build(
            "budget_seconds must be positive", expected="a number > 0", got=budget_seconds
        )
    task = detect_task(y) if task == "auto" else task
    primary = get_metric(metric, task)
    y_arr, classes = _encode_target(y, task)
    features = roles.features
    X = X[features]

    tr_idx, te_idx = _holdout(y_arr, task, test_size, seed, groups)
    X_tr, y_tr = X.iloc[tr_idx].reset_index(drop=True), y_arr[tr_idx]
    X_te, y_te = X.iloc[te_idx].reset_index(drop=True), y_arr[te_idx]
    g_tr = None if groups is None else groups.iloc[tr_idx].to_numpy()
    n_splits = min(cv_folds, _max_folds(y_tr, task))
    splitter = make_splitter(task, n_splits, seed, grouped=g_tr is not None)
    splits = list(splitter.split(X_tr, y_tr, g_tr))

    chosen = _families(task, families)
    if max_trials is not None:
        chosen = chosen[: max(1, max_trials)]
    board = Leaderboard(primary.name, primary.greater_is_better)
    results: dict[str, CVResult] = {}
    emit("search_start", n_candidates=len(chosen), n_folds=len(splits))
    for fam in chosen:
        if fam.name != "baseline" and time.monotonic() > deadline:
            emit("candidate_skipped", name=fam.name, reason="budget exhausted")
            continue
        emit("candidate_start", name=fam.name, label=fam.label)
        pipe = build_pipeline(fam, task, roles, None, seed)
        res = cross_validate(
            pipe,
            X_tr,
            y_tr,
            task=task,
            classes=classes,
            splits=splits,
            deadline=None if fam.name == "baseline" else deadline,
            on_fold=lambda i, n=fam.name: emit("fold_done", name=n, fold=i),
        )
        results[fam.name] = res
        entry = Entry(
            name=fam.name,
            family=fam.name,
            params=dict(fam.defaults),
            cv_mean={m: res.mean(m) for m in (res.fold_metrics[0] if res.fold_metrics else {})},
            cv_std={m: res.std(m) for m in (res.fold_metrics[0] if res.fold_metrics else {})},
            fit_seconds=res.fit_seconds,
            predict_us_per_row=res.predict_us_per_row,
            simplicity=fam.simplicity,
            status="ok" if res.complete else ("incomplete" if res.fold_metrics else "failed"),
            error=res.error,
        )
        board.entries.append(entry)
        emit("candidate_done", entry=entry)

    best = board.best
    if best is None:
        errors = "; ".join(f"{e.name}: {e.error}" for e in board.entries if e.error)
        raise TrainingError.build(
            "Every candidate failed to train",
            got=errors or None,
            fix="Run with --debug for details",
        )
    fam = FAMILIES[best.family]
    emit("refit_start", name=best.name)
    final = build_pipeline(fam, task, roles, None, seed).fit(X_tr, y_tr)

    threshold = None
    if task == "binary":
        oof = results[best.name].oof[:, 1]
        threshold = choose_threshold(y_tr == classes[1], oof, cost_fp=cost_fp, cost_fn=cost_fn)
    out = predict_outputs(final, X_te, task, classes)
    test_metrics, scores = _test_metrics(task, y_te, out, classes, threshold)
    emit("done", best=best.name)
    return TrainResult(
        task=task,
        target=str(y.name),
        metric=primary.name,
        classes=[_py(c) for c in classes] if task != "regression" else [],
        roles=roles,
        leaderboard=board,
        best=best.name,
        pipeline=final,
        test_metrics=test_metrics,
        threshold=threshold,
        n_train=len(tr_idx),
        n_test=len(te_idx),
        seconds=time.monotonic() - started,
        test_index=[int(i) for i in te_idx],
        test_scores=scores,
    )


def _families(task: str, names: list[str] | None) -> list[Family]:
    if names is None:
        return families_for(task)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise SpecError.build(
            f"Unknown model family {unknown[0]!r}",
            expected=f"one of {sorted(FAMILIES)}",
            got=unknown[0],
        )
    return [FAMILIES[n] for n in names]


def _encode_target(y: pd.Series, task: str) -> tuple[np.ndarray, np.ndarray]:
    if task == "regression":
        return pd.to_numeric(y, errors="coerce").to_numpy(dtype=float), np.array([])
    if pd.api.types.is_bool_dtype(y) or pd.api.types.is_numeric_dtype(y):
        values = y.to_numpy()
    else:
        values = y.astype(str).to_numpy(dtype=object)
    classes = np.unique(values)
    if task == "binary" and len(classes) != 2:
        raise SpecError.build(
            f"task is 'binary' but the target {y.name!r} has {len(classes)} classes",
            expected="exactly 2 classes",
            got=[_py(c) for c in classes[:10]],
            fix="Set task: multiclass (or auto) in civicml.yaml",
        )
    return values, classes


def _holdout(
    y: np.ndarray, task: str, test_size: float, seed: int, groups: pd.Series | None
) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(len(y))
    if groups is not None:
        gss = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        tr, te = next(gss.split(idx, y, groups.to_numpy()))
        return tr, te
    strat = y if task != "regression" else None
    tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=strat)
    return np.sort(tr), np.sort(te)


def _max_folds(y: np.ndarray, task: str) -> int:
    if task == "regression":
        return max(2, min(10, len(y) // 2))
    _, counts = np.unique(y.astype(str), return_counts=True)
    return max(2, int(counts.min()))


def _test_metrics(
    task: str, y: np.ndarray, out: np.ndarray, classes: np.ndarray, threshold: Threshold | None
) -> tuple[dict[str, float], list[float]]:
    if task == "regression":
        return compute_metrics(task, y, values=out), [float(v) for v in out]
    if task == "binary":
        t = threshold.value if threshold else 0.5
        labels = np.where(out[:, 1] >= t, classes[1], classes[0])
        m = compute_metrics(task, y, labels=labels, proba=out[:, 1], classes=list(classes))
        return m, [float(v) for v in out[:, 1]]
    labels = classes[np.argmax(out, axis=1)]
    m = compute_metrics(task, y, labels=labels, proba=out, classes=list(classes))
    return m, [float(v) for v in out.max(axis=1)]


def _py(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
