"""Time-budgeted model search: Optuna ask/tell over every family, warm-started, with pruning.

A trial cross-validates one configuration fold by fold. It completes all folds or is discarded
("pruned" when it is hopeless after the first folds, "timeout" when it would overrun). With
``max_trials`` the wall clock is ignored entirely, so a seeded run is reproducible.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from civicml.learn._candidates import FAMILIES, build_pipeline
from civicml.learn._cv import CVResult, cross_validate
from civicml.learn._metrics import Metric
from civicml.learn._preprocess import FeatureRoles
from civicml.learn._spaces import decode, suggest, warm_start_for

__all__ = ["SearchConfig", "TrialRecord", "run_search"]

EventHandler = Callable[..., None]


@dataclass
class TrialRecord:
    """One configuration tried: its family, parameters and cross-validation result."""

    name: str
    family: str
    params: dict[str, Any]
    cv: CVResult
    number: int | None = None
    warm: bool = False

    @property
    def status(self) -> str:
        return self.cv.status if not self.cv.complete else "ok"


@dataclass
class SearchConfig:
    """What the search may spend. ``deadline`` (monotonic seconds) is None in max_trials mode."""

    families: list[str]
    max_trials: int | None
    seed: int
    deadline: float | None = None
    trial_timeout: float | None = None
    reserve: Callable[[list[TrialRecord]], float] = field(default=lambda trials: 0.0)
    prune: bool = True
    on_record: Callable[[TrialRecord], None] = field(default=lambda rec: None)


def run_search(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    task: str,
    classes: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    roles: FeatureRoles,
    metric: Metric,
    config: SearchConfig,
    emit: EventHandler,
) -> list[TrialRecord]:
    """Run the constant baseline, the warm-start configurations, then TPE-proposed ones."""
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    direction = "maximize" if metric.greater_is_better else "minimize"
    sampler = optuna.samplers.TPESampler(seed=config.seed, n_startup_trials=8)
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
        if config.prune
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    searchable = [f for f in config.families if f != "baseline"]
    warm = warm_start_for(searchable)
    for fam, _ in warm:
        study.enqueue_trial({"family": fam})
    n_est = (config.max_trials if config.max_trials is not None else len(warm) + 8) + 1
    emit("search_start", n_candidates=n_est, n_folds=len(splits))

    records: list[TrialRecord] = []
    seen: dict[str, int] = {}
    # The baseline is always run and is not a search trial.
    if "baseline" in config.families:
        records.append(
            _evaluate(
                "baseline",
                "baseline",
                {},
                None,
                False,
                X,
                y,
                task,
                classes,
                splits,
                roles,
                metric,
                config,
                None,
                records,
                emit,
                seen,
            )
        )
        config.on_record(records[-1])
    if not searchable:
        return records
    n_done, skipped_in_a_row = 0, 0
    while config.max_trials is None or n_done < config.max_trials:
        if config.deadline is not None:
            left = config.deadline - config.reserve(records) - time.monotonic()
            if left <= 0 or skipped_in_a_row >= 20:
                emit("candidate_skipped", name="search", reason="budget exhausted")
                break
        trial = study.ask()
        fam = trial.suggest_categorical("family", searchable)
        is_warm = n_done < len(warm)
        params = dict(warm[n_done][1]) if is_warm else suggest(trial, fam, task)
        if config.deadline is not None and not is_warm and not _fits(fam, records, config):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            skipped_in_a_row += 1
            continue
        skipped_in_a_row = 0
        rec = _evaluate(
            fam,
            fam,
            params,
            trial,
            is_warm,
            X,
            y,
            task,
            classes,
            splits,
            roles,
            metric,
            config,
            study,
            records,
            emit,
            seen,
        )
        records.append(rec)
        config.on_record(rec)
        n_done += 1
        if rec.status == "ok":
            study.tell(trial, _pooled(rec, metric))
        elif rec.status == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return records


def _pooled(rec: TrialRecord, metric: Metric) -> float:
    value = rec.cv.mean(metric.name)
    if value != value:  # NaN: the worst possible score
        return -1e300 if metric.greater_is_better else 1e300
    return value


def _fits(fam: str, records: list[TrialRecord], config: SearchConfig) -> bool:
    """Whether a trial of ``fam`` is expected to finish before the search must stop."""
    assert config.deadline is not None
    past = [sum(r.cv.fold_seconds) for r in records if r.family == fam and r.cv.fold_seconds]
    if not past:
        return True
    est = float(np.median(past))
    return time.monotonic() + est <= config.deadline - config.reserve(records)


def _evaluate(
    name: str,
    fam: str,
    params: dict[str, Any],
    trial: Any,
    warm: bool,
    X: pd.DataFrame,
    y: np.ndarray,
    task: str,
    classes: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    roles: FeatureRoles,
    metric: Metric,
    config: SearchConfig,
    study: Any,
    records: list[TrialRecord],
    emit: EventHandler,
    seen: dict[str, int],
) -> TrialRecord:
    seen[fam] = seen.get(fam, 0) + 1
    label = FAMILIES[fam].label
    if seen[fam] > 1:
        name = f"{fam}_{seen[fam]}"
        label = f"{label} (trial {seen[fam]})"
    emit("candidate_start", name=name, label=label)
    pipe = build_pipeline(FAMILIES[fam], task, roles, params, config.seed)
    started = time.monotonic()
    # The first fold's length is guessed from this family's earlier trials.
    history = [r.cv.fold_seconds[0] for r in records if r.family == fam and r.cv.fold_seconds]

    def before_fold(i: int, fold_seconds: list[float]) -> str | None:
        if config.deadline is None or fam == "baseline":
            return None
        per_fold = fold_seconds[-1] if fold_seconds else (max(history) if history else 0.0)
        now = time.monotonic()
        if config.trial_timeout is not None and now + per_fold - started > config.trial_timeout:
            return f"per-trial timeout ({config.trial_timeout:.1f} s) reached before fold {i + 1}"
        if now + per_fold > config.deadline - config.reserve(records):
            return f"the budget would be overrun by fold {i + 1}"
        return None

    def after_fold(i: int, fold_metrics: list[dict[str, float]]) -> str | None:
        if trial is None or study is None or not config.prune:
            return None
        value = float(np.nanmean([m.get(metric.name, np.nan) for m in fold_metrics]))
        if value != value:
            return None
        trial.report(value, i)
        if trial.should_prune():
            return f"pruned after {i + 1} folds (below the median of earlier trials)"
        return None

    res = cross_validate(
        pipe,
        X,
        y,
        task=task,
        classes=classes,
        splits=splits,
        on_fold=lambda i: emit("fold_done", name=name, fold=i),
        before_fold=before_fold,
        after_fold=after_fold,
        measure=True,
    )
    number = None if trial is None else int(trial.number)
    return TrialRecord(name, fam, {**FAMILIES[fam].defaults, **params}, res, number, warm)


def trial_params(trial: Any) -> tuple[str, dict[str, Any]]:
    """The family and parameters an Optuna trial proposed (for engines running trials elsewhere)."""
    return decode(dict(trial.params))
