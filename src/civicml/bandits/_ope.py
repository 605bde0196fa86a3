"""Off-policy evaluation: the value a new policy would have had, from logged propensities.

Three estimators, each with a bootstrap percentile interval (95% by default):

* **IPS** (inverse propensity scoring): mean of ``π(a|x) / p(a|x) · r``; unbiased when the
  logged propensities are right and every arm the new policy plays could be logged.
* **SNIPS** (self-normalised IPS): the IPS sum divided by the sum of the weights; a little
  biased, much less variable.
* **DR** (doubly robust): a reward model ``q(x, a)`` (logistic for 0/1 rewards, ridge otherwise,
  per arm, cross-fitted in two folds) plus an IPS correction of its residual; unbiased if
  either the propensities or the reward model are right.

:func:`may_replace` is the gate: a candidate replaces the current policy only when its
estimate's lower bound is at least the current policy's estimate plus ``margin``.
:func:`evaluate_candidate` trains the candidate on the earlier part of the log and evaluates it
on the later part, so it is never scored on the data it learned from.

Examples
--------
>>> import numpy as np
>>> from civicml.bandits._records import BanditLog
>>> rng = np.random.default_rng(1)
>>> n = 2000
>>> actions = rng.integers(0, 2, n)                      # uniform logging policy
>>> rewards = (rng.random(n) < np.where(actions == 1, 0.6, 0.3)).astype(float)
>>> log = BanditLog(("a", "b"), (), np.zeros((n, 0)), actions, np.full(n, 0.5), rewards)
>>> always_b = np.tile([0.0, 1.0], (n, 1))
>>> result = evaluate_policy(log, always_b, n_boot=200)
>>> est = result.estimates["ips"]
>>> bool(est.lower < 0.6 < est.upper)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from civicml._errors import DataError, SpecError
from civicml.bandits._policies import BanditPolicy
from civicml.bandits._records import BanditLog

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "GateResult",
    "OPEResult",
    "evaluate_candidate",
    "evaluate_policy",
    "may_replace",
]

ESTIMATORS = ("ips", "snips", "dr")
Target = BanditPolicy | np.ndarray | Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Estimate:
    """A policy value estimate with its bootstrap interval."""

    estimator: str
    value: float
    lower: float
    upper: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "estimator": self.estimator,
            "value": self.value,
            "lower": self.lower,
            "upper": self.upper,
        }


@dataclass(frozen=True)
class OPEResult:
    """What :func:`evaluate_policy` found.

    Attributes
    ----------
    n : int
        Logged rewarded decisions used.
    estimates : dict of str to Estimate
        ``ips``, ``snips`` and ``dr``.
    logged : Estimate
        The mean logged reward: the value of the policies that produced the log.
    effective_sample_size : float
        ``(Σw)² / Σw²``: how many logged rows the estimate is worth.
    max_weight : float
        The largest importance weight (large means high variance).
    """

    n: int
    estimates: dict[str, Estimate]
    logged: Estimate
    effective_sample_size: float
    max_weight: float
    confidence: float = 0.95
    policy: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "confidence": self.confidence,
            "policy": self.policy,
            "estimates": {k: v.as_dict() for k, v in self.estimates.items()},
            "logged": self.logged.as_dict(),
            "effective_sample_size": self.effective_sample_size,
            "max_weight": self.max_weight,
        }


@dataclass(frozen=True)
class GateResult:
    """The verdict of :func:`evaluate_candidate`."""

    replace: bool
    reason: str
    estimator: str
    candidate: OPEResult
    current_value: float
    current: OPEResult | None
    n_train: int
    n_eval: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "replace": self.replace,
            "reason": self.reason,
            "estimator": self.estimator,
            "current_value": self.current_value,
            "candidate": self.candidate.as_dict(),
            "current": None if self.current is None else self.current.as_dict(),
            "n_train": self.n_train,
            "n_eval": self.n_eval,
        }


def _target_probs(log: BanditLog, target: Target) -> np.ndarray:
    if isinstance(target, BanditPolicy):
        if list(target.arms) != list(log.arms):
            raise SpecError.build(
                "The policy's arms differ from the log's",
                expected=str(list(log.arms)),
                got=list(target.arms),
                fix="Evaluate a policy built for the same bandit",
            )
        probs = target.probabilities(log.contexts)
    elif isinstance(target, np.ndarray):
        probs = target
    else:
        probs = np.asarray(target(log.contexts), dtype=float)
    probs = np.asarray(probs, dtype=float)
    if probs.shape != (len(log), len(log.arms)):
        raise DataError.build(
            "The target policy's probabilities have the wrong shape",
            expected=f"{(len(log), len(log.arms))}",
            got=probs.shape,
        )
    return probs


def _reward_model(log: BanditLog, seed: int) -> np.ndarray:
    """Cross-fitted predictions ``q(x, a)`` for every row and arm, shape ``(n, k)``."""
    n, k = len(log), len(log.arms)
    binary = bool(np.all(np.isin(log.rewards, (0.0, 1.0))))
    out = np.zeros((n, k))
    folds = np.random.default_rng(seed).permutation(n) % 2
    x = log.contexts
    for fold in (0, 1):
        train, test = folds != fold, folds == fold
        for a in range(k):
            rows = train & (log.actions == a)
            y = log.rewards[rows]
            fallback = float(y.mean()) if y.size else float(log.rewards[train].mean())
            if x.shape[1] == 0 or y.size < 10 or (binary and np.unique(y).size < 2):
                out[test, a] = fallback
                continue
            if binary:
                from sklearn.linear_model import LogisticRegression

                model = LogisticRegression(C=1.0, max_iter=500).fit(x[rows], y)
                out[test, a] = model.predict_proba(x[test])[:, 1]
            else:
                from sklearn.linear_model import Ridge

                out[test, a] = Ridge(alpha=1.0).fit(x[rows], y).predict(x[test])
    return out


def evaluate_policy(
    log: BanditLog,
    new_policy: Target,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> OPEResult:
    """Estimate ``new_policy``'s mean reward from a log it did not collect.

    Parameters
    ----------
    log : BanditLog
        Rewarded decisions with the logging propensities.
    new_policy : BanditPolicy, ndarray or callable
        A (trained) policy, its probabilities ``(n, n_arms)`` for the logged contexts, or a
        function from the context matrix to those probabilities.
    n_boot : int
        Bootstrap resamples for the intervals.
    confidence : float
        Interval coverage.
    seed : int
        Seeds the bootstrap and the cross-fitting folds.

    Returns
    -------
    OPEResult
    """
    n = len(log)
    if n < 2:
        raise DataError.build(
            "Off-policy evaluation needs rewarded decisions",
            expected="at least 2",
            got=n,
            fix="Collect rewards first (POST /bandits/{name}/reward)",
        )
    probs = _target_probs(log, new_policy)
    rows = np.arange(n)
    w = probs[rows, log.actions] / log.propensities
    r = log.rewards
    q = _reward_model(log, seed)
    dr_terms = (probs * q).sum(axis=1) + w * (r - q[rows, log.actions])

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    wb, rb = w[idx], r[idx]
    boot = {
        "ips": (wb * rb).mean(axis=1),
        "snips": (wb * rb).sum(axis=1) / np.maximum(wb.sum(axis=1), 1e-12),
        "dr": dr_terms[idx].mean(axis=1),
    }
    point = {
        "ips": float((w * r).mean()),
        "snips": float((w * r).sum() / max(w.sum(), 1e-12)),
        "dr": float(dr_terms.mean()),
    }
    lo_q, hi_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2

    def _est(name: str, value: float, samples: np.ndarray) -> Estimate:
        lo, hi = np.quantile(samples, [lo_q, hi_q])
        return Estimate(name, value, float(min(lo, value)), float(max(hi, value)))

    estimates = {k: _est(k, point[k], boot[k]) for k in ESTIMATORS}
    logged = _est("logged", float(r.mean()), rb.mean(axis=1))
    ess = float(w.sum() ** 2 / max((w**2).sum(), 1e-12))
    policy = new_policy.config() if isinstance(new_policy, BanditPolicy) else {}
    return OPEResult(n, estimates, logged, ess, float(w.max()), confidence, policy)


def _value(
    log: BanditLog, policy: Target | None, estimator: str, **kw: Any
) -> tuple[float, OPEResult | None]:
    if policy is None:
        return float(log.rewards.mean()), None
    res = evaluate_policy(log, policy, **kw)
    return res.estimates[estimator].value, res


def _verdict(cand: Estimate, current_value: float, margin: float) -> tuple[bool, str]:
    bar = current_value + margin
    if cand.lower >= bar:
        return True, (
            f"The candidate's {cand.estimator.upper()} lower bound {cand.lower:.4f} is at least "
            f"the current policy's estimate {current_value:.4f} + margin {margin:g}; it may replace it."
        )
    return False, (
        f"The candidate's {cand.estimator.upper()} lower bound {cand.lower:.4f} is below the "
        f"current policy's estimate {current_value:.4f} + margin {margin:g} (its estimate is "
        f"{cand.value:.4f}); keep the current policy and collect more data."
    )


def _check_estimator(estimator: str) -> None:
    if estimator not in ESTIMATORS:
        raise SpecError.build(
            "Unknown off-policy estimator", expected=f"one of {list(ESTIMATORS)}", got=estimator
        )


def may_replace(
    current: Target | None,
    candidate: Target,
    log: BanditLog,
    margin: float = 0.0,
    *,
    estimator: str = "dr",
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[bool, str]:
    """May ``candidate`` replace ``current``? Both are evaluated on the same ``log``.

    Parameters
    ----------
    current : policy or None
        The serving policy; ``None`` means the policies that produced the log, valued by the
        mean logged reward.
    candidate : policy
    log : BanditLog
    margin : float
        How much better the candidate's lower bound must be.
    estimator : {"dr", "ips", "snips"}

    Returns
    -------
    (bool, str)
        The verdict and a one-sentence reason. Refused when the candidate's lower bound is below
        the current policy's estimate plus ``margin``.
    """
    _check_estimator(estimator)
    cand = evaluate_policy(log, candidate, n_boot=n_boot, seed=seed).estimates[estimator]
    current_value, _ = _value(log, current, estimator, n_boot=n_boot, seed=seed)
    return _verdict(cand, current_value, margin)


def evaluate_candidate(
    log: BanditLog,
    candidate: BanditPolicy,
    *,
    current: BanditPolicy | None = None,
    train_fraction: float = 0.5,
    estimator: str = "dr",
    margin: float = 0.0,
    n_boot: int = 1000,
    seed: int = 0,
) -> GateResult:
    """Train a fresh copy of ``candidate`` on the log's earlier rows, evaluate it on the rest.

    ``current``, when given, is trained and evaluated the same way; otherwise the current value
    is the mean logged reward of the evaluation rows (what the serving policy achieved).
    """
    _check_estimator(estimator)
    n = len(log)
    n_train = int(round(n * train_fraction))
    if n - n_train < 20:
        raise DataError.build(
            "Too few rewarded decisions to evaluate a candidate policy",
            expected="at least 20 rows after the training share",
            got=n - n_train,
            fix="Collect more rewards or lower --train-fraction",
        )
    train, test = log.subset(np.arange(n_train)), log.subset(np.arange(n_train, n))
    fitted = candidate.clone().fit_arrays(train.contexts, train.actions, train.rewards)
    cand = evaluate_policy(test, fitted, n_boot=n_boot, seed=seed)
    cur_fitted = None
    if current is not None:
        cur_fitted = current.clone().fit_arrays(train.contexts, train.actions, train.rewards)
    current_value, cur = _value(test, cur_fitted, estimator, n_boot=n_boot, seed=seed)
    ok, reason = _verdict(cand.estimates[estimator], current_value, margin)
    return GateResult(ok, reason, estimator, cand, current_value, cur, n_train, n - n_train)
