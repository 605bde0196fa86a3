"""The in-process search's checkpoint and its replay: ``--resume`` for ``engine: local``.

Every trial the in-process search (:func:`civicml.learn._search.run_search`) asks is kept in a
:class:`~civicml.learn._checkpoint.SearchCheckpoint` as it ends, in the order it was asked (the
baseline first): its family and the parameters asked, each fold's metrics and seconds, the
whole out-of-fold prediction array (``trial-NNNN-oof.npy``; with repeated k-fold a row's mean
over its repeats), the trial's timings, status and error, the trees or rounds it was cut to in
a time budget, and whether it was skipped for lack of time (no folds). JSON and plain arrays
only: no pickle.

A resumed search asks its trials again in the same order, and each one the checkpoint holds
(same position, family and parameters) is *replayed*, not fitted: Optuna is told the stored
score (or its pruned, failed or skipped state), after the stored per-fold values are reported
to the trial, so the sampler and the pruner condition on exactly what the first run saw, and
with a fixed seed and ``max_trials`` the trials asked next are the ones an uninterrupted
search asks. Once a trial differs from the stored one, the rest of the checkpoint is dropped
and the search goes on live.

What *continues* means:

- with ``max_trials``: the resumed search runs the trials the checkpoint does not hold, so
  with a fixed seed its leaderboard is the uninterrupted one;
- with a time budget: the resumed run gets the budget that was *left* when the last trial was
  checkpointed (``budget_seconds`` minus the time the first run had spent by then; what ran
  after that is lost), and never less than :data:`MIN_LEFT_SHARE` of ``budget_seconds``, for
  the refit and the finish. An interrupted and resumed run so spends about what one
  uninterrupted run spends. The train result's ``extra["resume"]`` says which applied.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np
import pandas as pd

from civicml.learn._checkpoint import SearchCheckpoint, data_sha256
from civicml.learn._cv import CVResult
from civicml.learn._preprocess import FeatureRoles

__all__ = ["MIN_LEFT_SHARE", "Replay", "budget_left", "in_process_key", "stored_result"]

#: The least share of ``budget_seconds`` a resumed time-budgeted run gets (refit and finish).
MIN_LEFT_SHARE = 0.1

_CV_FIELDS = ("fit_seconds", "predict_us_per_row", "complete", "error", "status")


def in_process_key(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    splits: list[tuple[np.ndarray, np.ndarray]],
    roles: FeatureRoles,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """What an in-process search's checkpoint belongs to: the data's sha256, the folds and the
    roles (as for a search on an engine), and ``settings`` (every other one that shapes the
    trials). ``"search": "in-process"`` keeps an engine's checkpoint from being resumed here.

    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    >>> splits = [(np.array([0, 1]), np.array([2, 3])), (np.array([2, 3]), np.array([0, 1]))]
    >>> key = in_process_key(X, np.array([0, 1, 0, 1]), splits=splits,
    ...     roles=FeatureRoles(numeric=["a"]), settings={"seed": 0})
    >>> sorted(key["settings"])
    ['folds', 'roles', 'search', 'seed']
    """
    folds = hashlib.sha256()
    for tr, va in splits:
        folds.update(np.asarray(tr, dtype=np.int64).tobytes() + b"|")
        folds.update(np.asarray(va, dtype=np.int64).tobytes() + b"/")
    return {
        "data_sha256": data_sha256(X, y),
        "settings": {
            "search": "in-process",
            **settings,
            "folds": folds.hexdigest(),
            "roles": {
                f: [str(c) for c in getattr(roles, f)]
                for f in ("numeric", "categorical", "text", "date")
            },
        },
    }


def budget_left(ck: SearchCheckpoint, budget_seconds: float) -> float:
    """The seconds a resumed time-budgeted run gets: what was left of ``budget_seconds`` when
    the checkpoint's last trial was kept, at least :data:`MIN_LEFT_SHARE` of it; the whole
    budget when the checkpoint holds no trial.

    >>> import tempfile
    >>> ck = SearchCheckpoint.open(tempfile.mkdtemp(), {"data_sha256": "x", "settings": {}})
    >>> budget_left(ck, 60.0)
    60.0
    >>> ck.trials = {0: {"extra": {"left_seconds": 41.5}}, 1: {"extra": {"left_seconds": 30.0}}}
    >>> budget_left(ck, 60.0), budget_left(ck, 20.0)
    (30.0, 20.0)
    >>> ck.trials[2] = {"extra": {"left_seconds": -3.0}}
    >>> budget_left(ck, 60.0)
    6.0
    """
    lefts = [
        float(e["extra"]["left_seconds"])
        for e in ck.trials.values()
        if (e.get("extra") or {}).get("left_seconds") is not None
    ]
    if not lefts:
        return float(budget_seconds)
    return float(min(budget_seconds, max(min(lefts), MIN_LEFT_SHARE * budget_seconds)))


class Replay:
    """The checkpoint of one in-process search as it runs: which of its trials are stored (to
    replay) and the saving of each new one. With ``ck=None`` nothing is stored or replayed.

    Positions count the trials in the order they are taken: the baseline (0 when searched),
    then every Optuna trial asked, skipped ones included.
    """

    def __init__(self, ck: SearchCheckpoint | None, deadline: float | None) -> None:
        self.ck, self.deadline = ck, deadline
        self.position = 0
        self.replayed = 0

    def ahead(self) -> bool:
        """Whether the next trial to take is in the checkpoint (it is replayed whatever the
        clock says: the first run had the time for it)."""
        return self.ck is not None and self.position in self.ck.trials

    def take(self, family: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Move to the next position; its stored entry when it holds this trial (``family``
        and the ``params`` asked), else None: it runs, and the rest is not replayed."""
        position, self.position = self.position, self.position + 1
        if self.ck is None or position not in self.ck.trials:
            return None
        entry = self.ck.entry(position, family, params)
        if entry is None or not _whole(entry):
            self.ck.forget_from(position)
            return None
        self.replayed += 1
        return entry

    def save(
        self,
        family: str,
        params: dict[str, Any],
        number: int | None,
        cv: CVResult | None,
        changed: dict[str, Any] | None = None,
    ) -> None:
        """Keep the trial just taken: its ``cv`` result, or None when it was skipped (no time
        for it); ``changed`` holds the parameters it ran with instead of those asked (trees or
        rounds cut to fit the time left)."""
        if self.ck is None:
            return
        left = None if self.deadline is None else self.deadline - time.monotonic()
        extra: dict[str, Any] = {"changed": changed or {}, "left_seconds": left}
        if cv is None:
            extra["skipped"] = True
            self.ck.save(self.position - 1, family, params, number, [], extra=extra)
            return
        folds = [
            {"metrics": m, "seconds": s, "status": "ok"}
            for m, s in zip(cv.fold_metrics, cv.fold_seconds, strict=True)
        ]
        extra["cv"] = {
            **{f: getattr(cv, f) for f in _CV_FIELDS},
            "model_bytes": cv.model_bytes,
            "predict_ms": cv.predict_ms,
            "extra": cv.extra,
        }
        self.ck.save(self.position - 1, family, params, number, folds, extra=extra, oof=cv.oof)


def _whole(entry: dict[str, Any]) -> bool:
    """Whether ``entry`` holds what a replay needs (one written by :meth:`Replay.save`)."""
    extra = entry.get("extra")
    if not isinstance(extra, dict) or not isinstance(extra.get("changed"), dict):
        return False
    if extra.get("skipped"):
        return True
    cv = extra.get("cv")
    return (
        isinstance(cv, dict)
        and {*_CV_FIELDS, "model_bytes", "predict_ms", "extra"} <= set(cv)
        and isinstance(entry.get("oof"), np.ndarray)
        and all("metrics" in f and "seconds" in f for f in entry["folds"])
    )


def stored_result(entry: dict[str, Any]) -> CVResult:
    """The cross-validation result :meth:`Replay.save` kept in ``entry``, marked
    ``extra["resumed"]``."""
    cv = entry["extra"]["cv"]
    return CVResult(
        [dict(f["metrics"]) for f in entry["folds"]],
        np.array(entry["oof"], dtype=float),
        float(cv["fit_seconds"]),
        float(cv["predict_us_per_row"]),
        complete=bool(cv["complete"]),
        error=cv["error"],
        extra={**cv["extra"], "resumed": True},
        fold_seconds=[float(f["seconds"]) for f in entry["folds"]],
        model_bytes=cv["model_bytes"],
        predict_ms=cv["predict_ms"],
        status=str(cv["status"]),
    )
