"""The fresh-fold check: on a small table, the choice must beat LightGBM's defaults again on
folds the search never saw before it replaces them.

Why: the search picks the best of a few hundred trials on one set of folds, so the winner's
margin over the defaults on those folds is flattered by the pick itself (the winner's curse), and
the corrected standard error does not cover that. The same trials' configurations, refitted on
the same rows cut into other folds (:attr:`Problem.fresh_splits`), give a margin that the pick
did not see. Only on a small table, where that bias is large and the refits are cheap.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from civicml.learn._cv import FoldControl, cross_validate
from civicml.learn._ensemble import oof_score
from civicml.learn._problem import Problem

__all__ = ["fresh_fold_scores", "per_fold_scores"]

Mix = Mapping[str, float]


def fresh_fold_scores(
    mixes: Mapping[str, Mix],
    pipelines: Mapping[str, Any],
    problem: Problem,
    *,
    deadline: float | None = None,
    splits: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, list[float]] | str:
    """Each candidate's primary metric on every fold of ``problem.fresh_splits`` (or of
    ``splits``), in whole repeats: as many as finish by ``deadline``.

    A candidate is a weighted mix of fitted configurations (``mixes[name]`` maps a
    configuration's name in ``pipelines`` to its weight; a single model is ``{name: 1.0}``). Each
    configuration is cross-validated on the fresh folds one repeat (``problem.n_folds`` folds
    that partition the rows) at a time, every configuration before the next repeat; a mix's
    out-of-fold outputs are the weighted sum, and every candidate is scored per fold on its
    out-of-fold outputs, so the candidates are scored alike. When a repeat does not finish by
    ``deadline`` (monotonic seconds), the scores are those of the repeats before it. Returns the
    reason instead when there are no fresh folds, a configuration fails, or not even the first
    repeat finishes.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.dummy import DummyRegressor
    >>> from civicml.learn import get_metric
    >>> from civicml.learn._preprocess import FeatureRoles
    >>> from sklearn.model_selection import KFold
    >>> X = pd.DataFrame({"x": np.arange(40.0)}); y = 2 * X["x"].to_numpy()
    >>> folds = list(KFold(4, shuffle=True, random_state=1).split(X))
    >>> p = Problem(X, y, X[:0], y[:0], "regression", np.array([]), folds, FeatureRoles(),
    ...             get_metric("rmse", "regression"), 0, fresh_splits=folds)
    >>> got = fresh_fold_scores({"line": {"lin": 1.0}, "mean": {"dummy": 1.0}},
    ...                         {"lin": LinearRegression(), "dummy": DummyRegressor()}, p)
    >>> [round(s, 6) for s in got["line"]], all(s > 10 for s in got["mean"])
    ([0.0, 0.0, 0.0, 0.0], True)
    """
    folds = problem.fresh_splits if splits is None else splits
    if not folds:
        return "no fresh folds"
    k = problem.n_folds
    needed = sorted({part for mix in mixes.values() for part in mix})
    scores: dict[str, list[float]] = {name: [] for name in mixes}
    for start in range(0, len(folds), k):
        repeat = folds[start : start + k]
        outputs = _one_repeat(needed, pipelines, problem, repeat, deadline)
        if isinstance(outputs, tuple):
            why, out_of_time = outputs
            if start and out_of_time:
                break  # the repeats that finished stand
            return why
        for name, mix in mixes.items():
            total = sum(mix.values())
            out = sum(outputs[p] * (w / total) for p, w in mix.items())
            scores[name] += per_fold_scores(problem, np.asarray(out), repeat)
    return scores


def _one_repeat(
    needed: list[str],
    pipelines: Mapping[str, Any],
    problem: Problem,
    repeat: list[tuple[np.ndarray, np.ndarray]],
    deadline: float | None,
) -> dict[str, np.ndarray] | tuple[str, bool]:
    """Each configuration's out-of-fold outputs on one repeat of the fresh folds, or why not and
    whether that was the clock (``(reason, out_of_time)``)."""
    outputs: dict[str, np.ndarray] = {}
    for part in needed:
        if deadline is not None and time.monotonic() > deadline:
            return "the time left ran out", True
        res = cross_validate(
            pipelines[part],
            problem.X_tr,
            problem.y_tr,
            task=problem.task,
            classes=problem.classes,
            splits=repeat,
            control=FoldControl(deadline=deadline, hard_deadline=deadline),
        )
        if not res.complete:
            why = f"{part} did not finish on the fresh folds ({res.error})"
            return why, res.status == "timeout"
        outputs[part] = res.oof
    return outputs


def per_fold_scores(
    problem: Problem, out: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]
) -> list[float]:
    """The primary metric of the out-of-fold outputs ``out`` on each validation fold of
    ``splits`` (NaN where the metric is undefined, e.g. ROC AUC on a fold of one class)."""
    y, classes, metric, task = problem.y_tr, problem.classes, problem.metric, problem.task
    scores = []
    for _, va in splits:
        try:
            scores.append(float(oof_score(metric, task, y[va], out[va], classes)))
        except ValueError:
            scores.append(float("nan"))
    return scores
