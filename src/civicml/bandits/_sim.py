"""A simulated letters trial: known response probabilities, to test policies and OPE.

:class:`LetterEnvironment` has three letter wordings and three 0/1 context features; each
wording's response probability is linear in the context, so the best wording depends on who
receives the letter. :func:`simulate` runs a policy against it with delayed (batched) rewards
and records the regret; :func:`collect_log` logs decisions of a fixed logging policy.

Examples
--------
>>> env = LetterEnvironment()
>>> round(env.best_value(), 4) > round(env.policy_value(env.uniform), 4)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

import numpy as np

from civicml.bandits._policies import BanditPolicy, Feedback
from civicml.bandits._records import BanditLog

__all__ = ["LetterEnvironment", "SimulationResult", "collect_log", "simulate"]


class LetterEnvironment:
    """Three wordings (``plain``, ``social_norm``, ``deadline``) and their true response rates.

    Context features are independent 0/1 indicators: ``age_under_30`` (p=0.35), ``urban``
    (p=0.6), ``missed_before`` (p=0.3).
    """

    arms = ("plain", "social_norm", "deadline")
    features = ("age_under_30", "urban", "missed_before")
    feature_rates = np.array([0.35, 0.6, 0.3])
    #: rows: arms; columns: intercept then one coefficient per feature
    coef = np.array(
        [
            [0.20, 0.00, 0.05, 0.00],  # plain
            [0.12, -0.04, 0.02, 0.30],  # social_norm: works for those who missed before
            [0.15, 0.25, -0.03, -0.05],  # deadline: works for the under-30s
        ]
    )

    def __init__(self, coef: np.ndarray | None = None) -> None:
        if coef is not None:
            self.coef = np.asarray(coef, dtype=float)

    def sample_contexts(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` contexts, shape ``(n, 3)``."""
        return (rng.random((n, len(self.features))) < self.feature_rates).astype(float)

    def response_rates(self, x: np.ndarray) -> np.ndarray:
        """True response probability of every arm, shape ``(n, 3)``."""
        x1 = np.hstack([np.ones((x.shape[0], 1)), x])
        return np.clip(x1 @ self.coef.T, 0.01, 0.99)

    def rewards(self, x: np.ndarray, actions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """0/1 responses to the letters sent."""
        p = self.response_rates(x)[np.arange(len(actions)), actions]
        return (rng.random(len(actions)) < p).astype(float)

    def _all_contexts(self) -> tuple[np.ndarray, np.ndarray]:
        grid = np.array(list(product((0.0, 1.0), repeat=len(self.features))))
        weight = np.prod(np.where(grid == 1.0, self.feature_rates, 1 - self.feature_rates), axis=1)
        return grid, weight

    def policy_value(self, policy: Callable[[np.ndarray], np.ndarray]) -> float:
        """The exact mean reward of a policy given as ``contexts -> probabilities``."""
        grid, weight = self._all_contexts()
        return float((weight * (policy(grid) * self.response_rates(grid)).sum(axis=1)).sum())

    def best_arm_value(self) -> float:
        """The mean reward of always sending the one letter that is best on average."""
        grid, weight = self._all_contexts()
        return float((weight @ self.response_rates(grid)).max())

    def best_value(self) -> float:
        """The mean reward of always sending the best letter."""
        grid, weight = self._all_contexts()
        return float((weight * self.response_rates(grid).max(axis=1)).sum())

    def uniform(self, x: np.ndarray) -> np.ndarray:
        """The uniform random policy's probabilities."""
        return np.full((x.shape[0], len(self.arms)), 1.0 / len(self.arms))


@dataclass(frozen=True)
class SimulationResult:
    """Per-round expected regret and reward of a simulated run, and its log."""

    regret: np.ndarray
    rewards: np.ndarray
    log: BanditLog

    @property
    def cumulative_regret(self) -> np.ndarray:
        return np.cumsum(self.regret)


def simulate(
    policy: BanditPolicy,
    env: LetterEnvironment,
    rounds: int,
    *,
    batch_size: int = 10,
    benchmark: str = "context",
    seed: int = 0,
) -> SimulationResult:
    """Run ``policy`` for ``rounds`` letters; rewards arrive in batches of ``batch_size``.

    The regret of a round is the benchmark's response probability minus the chosen arm's
    (expected regret, so the curve is not swamped by reward noise). The benchmark is the best
    arm for each context (``"context"``) or, for context-free policies, the one arm that is
    best on average (``"arm"``).
    """
    rng = np.random.default_rng(seed)
    x = env.sample_contexts(rounds, rng)
    truth = env.response_rates(x)
    actions = np.zeros(rounds, dtype=int)
    props = np.zeros(rounds)
    rewards = np.zeros(rounds)
    index = {a: i for i, a in enumerate(policy.arms)}
    pending: list[Feedback] = []
    for t in range(rounds):
        ctx = dict(zip(env.features, x[t], strict=True))
        choice = policy.choose(ctx, rng)
        a = index[choice.arm]
        actions[t], props[t] = a, choice.propensity
        rewards[t] = float(rng.random() < truth[t, a])
        pending.append(Feedback(ctx, choice.arm, rewards[t]))
        if len(pending) >= batch_size:
            policy.update(pending)
            pending = []
    if benchmark == "arm":
        grid, weight = env._all_contexts()
        best = int(np.argmax(weight @ env.response_rates(grid)))
        regret = truth[:, best] - truth[np.arange(rounds), actions]
    else:
        regret = truth.max(axis=1) - truth[np.arange(rounds), actions]
    log = BanditLog(tuple(policy.arms), tuple(env.features), x, actions, props, rewards)
    return SimulationResult(regret, rewards, log)


def collect_log(
    env: LetterEnvironment,
    logging_policy: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    seed: int = 0,
) -> BanditLog:
    """``n`` decisions of a fixed stochastic policy (``contexts -> probabilities``)."""
    rng = np.random.default_rng(seed)
    x = env.sample_contexts(n, rng)
    p = logging_policy(x)
    cum = p.cumsum(axis=1)
    actions = np.minimum((rng.random((n, 1)) > cum).sum(axis=1), p.shape[1] - 1)
    rewards = env.rewards(x, actions, rng)
    return BanditLog(env.arms, env.features, x, actions, p[np.arange(n), actions], rewards)
