"""An Optuna ask/tell search whose trials (and their CV folds) run on an :class:`Engine`.

The driver keeps ``window`` trials in flight: it ships one task per (trial, fold) to the engine —
family, parameters, fold number, and a reference to the training data scattered once — and as
soon as the oldest trial's folds are back it tells Optuna and asks for the next trial. There is
no barrier: while the oldest trial finishes, the workers are busy with the folds of the newer
ones. Trial ``n + window`` is always asked right after trial ``n`` is told (trials are told in
the order they were asked), and every model's seed is derived from ``(seed, trial number,
fold)``, so with a fixed seed and ``max_trials`` the search gives the same trials and scores on
every engine, whatever worker ran what and even when a worker is lost and its task retried.

This is the ``max_trials`` (reproducible) mode; the wall-clock budget mode with pruning and
per-fold deadlines stays in-process (:func:`civicml.learn._search.run_search`). The engines
themselves (:mod:`civicml.engines`) only run functions: the search lives here, in learn.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

import numpy as np
import pandas as pd

from civicml.engines import Engine, open_engine
from civicml.learn._candidates import FAMILIES, build_pipeline
from civicml.learn._checkpoint import CheckpointOptions, SearchCheckpoint, data_sha256
from civicml.learn._cv import CVResult, cross_validate
from civicml.learn._metrics import Metric
from civicml.learn._preprocess import FeatureRoles
from civicml.learn._search import TrialRecord, _pooled
from civicml.learn._spaces import is_default, suggest, warm_start_for

__all__ = ["SearchProblem", "derive_seed", "run_fold", "search_on_engine"]


def derive_seed(seed: int, trial: int | None, fold: int) -> int:
    """A model seed from the search seed, the trial number and the fold (stable everywhere).

    >>> derive_seed(0, 3, 1) == derive_seed(0, 3, 1), derive_seed(0, 3, 1) == derive_seed(0, 3, 2)
    (True, False)
    """
    words = [int(seed) & 0xFFFFFFFF, -1 if trial is None else int(trial), int(fold)]
    ss = np.random.SeedSequence([w & 0xFFFFFFFF for w in words])
    return int(ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


def run_fold(
    job: tuple[str, dict[str, Any], int | None, int], data: dict[str, Any]
) -> dict[str, Any]:
    """Fit and score one fold of one trial (runs on a worker).

    Parameters
    ----------
    job : tuple
        ``(family, params, trial number or None, fold index)``.
    data : dict
        ``X``, ``y``, ``task``, ``classes``, ``roles``, ``splits``, ``seed`` — scattered once.
    """
    from threadpoolctl import threadpool_limits

    fam, params, number, fold = job
    split = data["splits"][fold]
    pipe = build_pipeline(
        FAMILIES[fam], data["task"], data["roles"], params, derive_seed(data["seed"], number, fold)
    )
    with threadpool_limits(limits=1):
        res = cross_validate(
            pipe, data["X"], data["y"], task=data["task"], classes=data["classes"], splits=[split]
        )
    ok = res.complete and bool(res.fold_metrics)
    return {
        "metrics": res.fold_metrics[0] if ok else None,
        "oof": res.oof[split[1]] if ok else None,
        "fit_seconds": res.fit_seconds,
        "seconds": res.fold_seconds[0] if res.fold_seconds else 0.0,
        "us_per_row": res.predict_us_per_row,
        "error": res.error,
        "status": res.status,
    }


class SearchProblem(TypedDict):
    """What every fold is fitted and scored on, besides ``X`` and ``y`` (all required)."""

    task: str
    classes: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    roles: FeatureRoles
    metric: Metric


def search_on_engine(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    families: list[str],
    max_trials: int,
    seed: int = 0,
    engine: Engine | str | None = "local",
    window: int = 4,
    emit: Callable[..., None] | None = None,
    checkpoint: CheckpointOptions | str | Path | None = None,
    **problem: Unpack[SearchProblem],
) -> list[TrialRecord]:
    """The baseline, the warm starts, then TPE trials, each trial's folds run on ``engine``.

    Parameters
    ----------
    X, y
        The training rows and the encoded target.
    families : list of str
        Families to search (``"baseline"`` is run first and is not a trial).
    max_trials : int
        Search trials after the baseline.
    seed : int
        Seeds the sampler and, with the trial and fold, every model.
    engine : Engine or str
        Where folds run; a spec string is opened (and closed) here.
    window : int, default 4
        Trials in flight at once. Part of the result's definition (trial ``n + window`` is
        asked after trial ``n`` is told): keep it fixed to compare engines. It does not depend
        on how many workers there are.
    emit : callable, optional
        Progress events (``search_start``, ``candidate_start``, ``fold_done``) and, for each
        worker the engine lost, a ``warning`` (``message``, ``worker``, ``tasks_rerun``).
    checkpoint : CheckpointOptions or path, optional
        A folder where every finished trial is kept (:class:`SearchCheckpoint`), cleared
        first; with ``CheckpointOptions(folder, resume=True)``, the search kept there is
        continued: its finished trials are not run again (Optuna is told their stored scores,
        in the same order, so the trials asked after them are the ones an uninterrupted search
        asks). A checkpoint of other data or settings is refused (``SpecError``).
    **problem
        ``task``, ``classes``, ``splits``, ``roles`` and ``metric`` (a learn ``Metric``), as
        for :func:`civicml.learn._search.run_search` (:class:`SearchProblem`).

    Returns
    -------
    list of TrialRecord
        In the order trials were asked (the baseline first).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from civicml.learn import FeatureRoles, get_metric, make_splitter
    >>> Xa, ya = make_classification(120, 4, random_state=0)
    >>> X = pd.DataFrame(Xa, columns=list("abcd"))
    >>> splits = list(make_splitter("binary", 3, 0, grouped=False).split(X, ya))
    >>> recs = search_on_engine(X, ya, task="binary", classes=np.array([0, 1]), splits=splits,
    ...     roles=FeatureRoles(numeric=list("abcd")), metric=get_metric(None, "binary"),
    ...     families=["baseline", "linear"], max_trials=2)
    >>> [r.status for r in recs]
    ['ok', 'ok', 'ok']
    """
    import optuna

    task, classes, splits = problem["task"], problem["classes"], problem["splits"]
    metric = problem["metric"]
    say = emit or (lambda *a, **k: None)
    optuna.logging.set_verbosity(logging.WARNING)
    direction: Literal["maximize", "minimize"] = (
        "maximize" if metric.greater_is_better else "minimize"
    )
    study = optuna.create_study(
        direction=direction, sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=8)
    )
    searchable = [f for f in families if f != "baseline"]
    warm = warm_start_for(searchable)
    for fam, _ in warm:
        study.enqueue_trial({"family": fam})
    ck = None
    if checkpoint is not None:
        if not isinstance(checkpoint, CheckpointOptions):
            checkpoint = CheckpointOptions(checkpoint)
        key = _checkpoint_key(X, y, families, max_trials, seed, window, problem)
        ck = SearchCheckpoint.open(checkpoint.folder, key, resume=checkpoint.resume)
    say("search_start", n_candidates=max_trials + 1, n_folds=len(splits))
    own = not isinstance(engine, Engine)
    eng = open_engine(engine)
    run = _Run(eng, study, ck, say, searchable, warm, task, len(splits))
    records: list[TrialRecord] = []
    seen: dict[str, int] = {}
    ref = None
    try:
        data = {"X": X, "y": y, "task": task, "classes": classes, "seed": seed}
        ref = eng.scatter({**data, "roles": problem["roles"], "splits": splits})
        run.ref = ref
        if "baseline" in families:
            run.launch(None, "baseline", {}, None)
        while searchable and run.asked < min(window, max_trials):
            run.ask_next()
        while run.pending:
            trial, fam, params, number, futures, started, position = run.pending.popleft()
            folds = [fut.result() for fut in futures]
            if ck is not None and position not in run.resumed:
                ck.save(position, fam, params, number, folds)
            rec = _record(folds, fam, params, number, len(warm), splits, len(X), task, classes)
            rec.cv.extra["engine"] = eng.uri
            rec.cv.extra["trial_seconds"] = time.monotonic() - started
            if position in run.resumed:
                rec.cv.extra["resumed"] = True
            seen[fam] = seen.get(fam, 0) + 1
            rec.name = fam if seen[fam] == 1 else f"{fam}_{seen[fam]}"
            say("candidate_start", name=rec.name, label=FAMILIES[fam].label)
            for i in range(len(splits)):
                say("fold_done", name=rec.name, fold=i)
            run.report_losses()
            if trial is not None:
                if rec.status == "ok":
                    study.tell(trial, _pooled(rec, metric))
                else:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                if run.asked < max_trials:
                    run.ask_next()
            records.append(rec)
        run.report_losses()
    finally:
        for *_, futures, _, _ in run.pending:
            for fut in futures:
                getattr(fut, "cancel", lambda: None)()
        if ref is not None:
            eng.forget(ref)
        if own:
            eng.close()
    return records


class _Done:
    """A finished trial's fold, read from the checkpoint, standing in for a future."""

    def __init__(self, value: dict[str, Any]) -> None:
        self._value = value

    def result(self) -> dict[str, Any]:
        return self._value

    def cancel(self) -> None:
        """Nothing runs."""


class _Run:
    """The state of one :func:`search_on_engine` call: trials in flight, resumed trials."""

    def __init__(
        self,
        eng: Engine,
        study: Any,
        ck: SearchCheckpoint | None,
        say: Callable[..., None],
        searchable: list[str],
        warm: list[tuple[str, dict[str, Any]]],
        task: str,
        n_folds: int,
    ) -> None:
        self.eng, self.study, self.ck, self.say = eng, study, ck, say
        self.searchable, self.warm, self.task, self.n_folds = searchable, warm, task, n_folds
        self.ref: Any = None
        self.asked = 0
        self.position = 0
        self.resumed: set[int] = set()
        self.losses: list[dict[str, Any]] = []
        # (optuna trial or None, family, params, trial number or None, fold futures,
        #  submitted at, position in the search)
        self.pending: deque[tuple[Any, str, dict[str, Any], int | None, list[Any], float, int]]
        self.pending = deque()

    def launch(self, trial: Any, fam: str, params: dict[str, Any], number: int | None) -> None:
        """Submit the trial's folds, or take them from the checkpoint when it finished."""
        position, self.position = self.position, self.position + 1
        stored = self.ck.finished(position, fam, params) if self.ck is not None else None
        futures: list[Any]
        if stored is not None:
            self.resumed.add(position)
            futures = [_Done(fold) for fold in stored]
        else:
            futures = [
                self.eng.submit(run_fold, (fam, params, number, i), self.ref)
                for i in range(self.n_folds)
            ]
        self.pending.append((trial, fam, params, number, futures, time.monotonic(), position))

    def ask_next(self) -> None:
        """Ask Optuna for the next trial and launch it."""
        trial = self.study.ask()
        fam = trial.suggest_categorical("family", self.searchable)
        n = int(trial.number)
        params = dict(self.warm[n][1]) if n < len(self.warm) else suggest(trial, fam, self.task)
        self.asked += 1
        self.launch(trial, fam, params, n)

    def report_losses(self) -> None:
        """Tell the user about every worker the engine lost since the last call."""
        for loss in self.eng.worker_losses():
            self.losses.append(loss)
            self.say(
                "warning",
                message=f"worker {loss['worker']} {'retired' if loss.get('expected') else 'lost'}"
                f"; {loss['tasks_rerun']} tasks rerun",
                worker=loss["worker"],
                tasks_rerun=loss["tasks_rerun"],
            )


def _checkpoint_key(
    X: pd.DataFrame,
    y: np.ndarray,
    families: list[str],
    max_trials: int,
    seed: int,
    window: int,
    problem: SearchProblem,
) -> dict[str, Any]:
    """What a checkpoint belongs to: the data's sha256 and every setting that shapes the
    trials (a resume with any of them changed would not continue the same search)."""
    splits = hashlib.sha256()
    for tr, va in problem["splits"]:
        splits.update(np.asarray(tr, dtype=np.int64).tobytes() + b"|")
        splits.update(np.asarray(va, dtype=np.int64).tobytes() + b"/")
    roles = problem["roles"]
    return {
        "data_sha256": data_sha256(X, y),
        "settings": {
            "task": problem["task"],
            "classes": [str(c) for c in problem["classes"]],
            "metric": problem["metric"].name,
            "families": list(families),
            "max_trials": int(max_trials),
            "seed": int(seed),
            "window": int(window),
            "folds": splits.hexdigest(),
            "roles": {
                f: [str(c) for c in getattr(roles, f)]
                for f in ("numeric", "categorical", "text", "date")
            },
        },
    }


def _record(
    folds: list[dict[str, Any]],
    fam: str,
    params: dict[str, Any],
    number: int | None,
    n_warm: int,
    splits: list[tuple[np.ndarray, np.ndarray]],
    n_rows: int,
    task: str,
    classes: np.ndarray,
) -> TrialRecord:
    """One trial's record from its folds' results (in fold order)."""
    k = len(classes) if task != "regression" else 0
    oof = np.full((n_rows, k), np.nan) if k else np.full(n_rows, np.nan)
    metrics, fold_s, us = [], [], []
    error = next((f["error"] for f in folds if f["metrics"] is None), None)
    for (_, va), f in zip(splits, folds, strict=True):
        if f["metrics"] is not None:
            oof[va] = f["oof"]
            metrics.append(f["metrics"])
            fold_s.append(f["seconds"])
            us.append(f["us_per_row"])
    res = CVResult(
        metrics,
        oof,
        float(sum(f["fit_seconds"] for f in folds)),
        float(np.median(us)) if us else float("nan"),
        complete=error is None,
        error=error,
        fold_seconds=fold_s,
        status="ok" if error is None else ("failed" if not metrics else "incomplete"),
    )
    return TrialRecord(
        fam,
        fam,
        {**FAMILIES[fam].defaults, **params},
        res,
        number,
        number is not None and number < n_warm,
        fam == "baseline" or (number is not None and number < n_warm and is_default(fam, params)),
    )
