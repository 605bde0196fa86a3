"""Bandit policies behind civicml's own interface (mabwiser does the learning).

A policy turns a context into a probability for every arm (:meth:`BanditPolicy.probabilities`),
samples an arm from it (:meth:`BanditPolicy.choose`) and learns from rewarded decisions
(:meth:`BanditPolicy.update`). The probabilities are honest: they are the exact distribution the
arm was sampled from, after the exploration floor mixed in a uniform share so that no arm falls
below ``min_propensity``. Off-policy evaluation relies on that.

* :class:`ThompsonPolicy`: Beta-Bernoulli Thompson sampling (context-free); the probability of
  each arm is estimated by Monte-Carlo draws from the posteriors.
* :class:`LinUCBPolicy`: LinUCB on the context (plus an intercept); deterministic argmax, so
  the floor is what makes every propensity positive.
* :class:`EpsilonGreedyPolicy`: the greedy arm by mean reward, ``epsilon`` spread uniformly.

Examples
--------
>>> import numpy as np
>>> policy = LinUCBPolicy(["a", "b"], ["x"], alpha=1.0, min_propensity=0.1)
>>> policy.update([Feedback({"x": 1.0}, "a", 1.0), Feedback({"x": 0.0}, "b", 0.0)])
>>> choice = policy.choose({"x": 1.0}, np.random.default_rng(0))
>>> choice.arm, round(choice.propensity, 2)
('a', 0.9)
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from civicml._errors import SpecError

__all__ = [
    "BanditPolicy",
    "Choice",
    "EpsilonGreedyPolicy",
    "Feedback",
    "LinUCBPolicy",
    "ThompsonPolicy",
    "apply_floor",
    "make_policy",
]


@dataclass(frozen=True)
class Choice:
    """The arm chosen, the probability it had, and every arm's probability and score."""

    arm: str
    propensity: float
    probabilities: dict[str, float]
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Feedback:
    """One rewarded decision: the context seen, the arm shown, the reward observed."""

    context: Mapping[str, float] | None
    arm: str
    reward: float


def apply_floor(probs: np.ndarray, min_propensity: float) -> np.ndarray:
    """Mix ``probs`` with uniform so that every arm has at least ``min_propensity``.

    The mixture weight is the smallest that lifts the lowest arm to the floor, so a policy
    that already explores enough is left unchanged.

    >>> apply_floor(np.array([1.0, 0.0, 0.0]), 0.05).round(3).tolist()
    [0.9, 0.05, 0.05]
    >>> apply_floor(np.array([0.5, 0.5]), 0.05).tolist()
    [0.5, 0.5]
    """
    k = probs.size
    p = np.clip(probs.astype(float), 0.0, None)
    p = p / p.sum() if p.sum() > 0 else np.full(k, 1.0 / k)
    low = float(p.min())
    if min_propensity <= 0 or low >= min_propensity:
        return p
    # (1 - w) * low + w / k = floor  ->  w = (floor - low) / (1/k - low)
    w = min(1.0, (min_propensity - low) / (1.0 / k - low))
    return (1.0 - w) * p + w / k


def _argmax_distribution(scores: np.ndarray) -> np.ndarray:
    """One-hot on the best score per row; ties share the mass evenly."""
    best = scores.max(axis=1, keepdims=True)
    top = np.isclose(scores, best, rtol=1e-12, atol=1e-12)
    return top / top.sum(axis=1, keepdims=True)


class BanditPolicy(abc.ABC):
    """civicml's bandit interface. Subclasses wrap one mabwiser learning policy.

    Parameters
    ----------
    arms : sequence of str
    features : sequence of str
        Context feature names, in order (ignored by context-free policies).
    min_propensity : float
        The exploration floor per arm.
    seed : int
        Seeds mabwiser's random numbers (Monte-Carlo draws).
    """

    #: whether the policy reads the context
    contextual: bool = False
    #: short name used in specs and the CLI
    kind: str = ""

    def __init__(
        self,
        arms: Sequence[str],
        features: Sequence[str] = (),
        *,
        min_propensity: float = 0.05,
        seed: int = 0,
    ) -> None:
        self.arms = [str(a) for a in arms]
        self.features = [str(f) for f in features]
        self.min_propensity = float(min_propensity)
        self.seed = int(seed)
        if len(set(self.arms)) < 2:
            raise SpecError.build(
                "A bandit policy needs at least two distinct arms",
                got=self.arms,
                fix="List two or more arms",
            )
        if self.min_propensity * len(self.arms) > 1.0 or self.min_propensity < 0:
            raise SpecError.build(
                "The exploration floor 'min_propensity' is out of range",
                expected=f"between 0 and 1/{len(self.arms)}",
                got=self.min_propensity,
                fix="Lower 'min_propensity'",
            )
        self.n_updates_ = 0
        self._mab: Any = None
        self._lock = threading.RLock()

    # -- the interface ---------------------------------------------------------------------
    def choose(self, context: Mapping[str, float] | None, rng: np.random.Generator) -> Choice:
        """Sample an arm from :meth:`probabilities`; its probability is the propensity."""
        with self._lock:
            probs, scores = self._floored(self._matrix([context]))
        p = probs[0]
        idx = int(rng.choice(len(self.arms), p=p))
        return Choice(
            arm=self.arms[idx],
            propensity=float(p[idx]),
            probabilities={a: float(v) for a, v in zip(self.arms, p, strict=True)},
            scores={a: float(v) for a, v in zip(self.arms, scores[0], strict=True)},
        )

    def probabilities(
        self, contexts: np.ndarray | Sequence[Mapping[str, float] | None]
    ) -> np.ndarray:
        """The floored probability of every arm for each context, shape ``(n, n_arms)``.

        ``contexts`` is a 2-D array in :attr:`features` order or a list of mappings.
        """
        x = contexts if isinstance(contexts, np.ndarray) else self._matrix(contexts)
        with self._lock:
            return self._floored(np.atleast_2d(x))[0]

    def update(self, feedback: Sequence[Feedback]) -> None:
        """Learn from rewarded decisions (arms not in :attr:`arms` are ignored)."""
        rows = [f for f in feedback if f.arm in self.arms]
        if not rows:
            return
        x = self._matrix([f.context for f in rows])
        arms = np.array([f.arm for f in rows], dtype=object)
        rewards = np.array([float(f.reward) for f in rows])
        with self._lock:
            self._learn(x, arms, rewards)
            self.n_updates_ += len(rows)

    def fit_arrays(self, x: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> BanditPolicy:
        """Learn from arrays: ``x`` in :attr:`features` order, ``actions`` arm indices."""
        arms = np.array([self.arms[int(i)] for i in actions], dtype=object)
        with self._lock:
            if len(arms):
                self._learn(
                    np.atleast_2d(np.asarray(x, dtype=float)), arms, np.asarray(rewards, float)
                )
                self.n_updates_ += len(arms)
        return self

    def config(self) -> dict[str, Any]:
        """The parameters that rebuild this policy with :func:`make_policy`."""
        return {"policy": self.kind, "min_propensity": self.min_propensity, "seed": self.seed}

    def clone(self) -> BanditPolicy:
        """A fresh, untrained policy with the same parameters."""
        return make_policy(self.config(), self.arms, self.features)

    # -- helpers ---------------------------------------------------------------------------
    def _matrix(self, contexts: Sequence[Mapping[str, float] | None]) -> np.ndarray:
        n, d = len(contexts), len(self.features)
        x = np.zeros((n, d))
        if not self.contextual or d == 0:
            return x
        for i, ctx in enumerate(contexts):
            if ctx is None:
                raise SpecError.build(
                    f"The {self.kind} policy needs a context", expected=str(self.features), got=None
                )
            for j, name in enumerate(self.features):
                x[i, j] = float(ctx[name])
        return x

    def _floored(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw, scores = self._raw(x)
        out = np.vstack([apply_floor(row, self.min_propensity) for row in raw])
        return out, scores

    def _learn(self, x: np.ndarray, arms: np.ndarray, rewards: np.ndarray) -> None:
        if self._mab is None:
            self._mab = self._build()
            self._mab.fit(arms, rewards, self._mab_contexts(x))
        else:
            self._mab.partial_fit(arms, rewards, self._mab_contexts(x))

    def _mab_contexts(self, x: np.ndarray) -> np.ndarray | None:
        return None

    @abc.abstractmethod
    def _build(self) -> Any:
        """The mabwiser ``MAB`` this policy wraps."""

    @abc.abstractmethod
    def _raw(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unfloored probabilities and scores, each ``(n, n_arms)``."""


class ThompsonPolicy(BanditPolicy):
    """Beta-Bernoulli Thompson sampling (context-free), via mabwiser's ``ThompsonSampling``.

    The probability of each arm is the share of ``n_draws`` joint posterior draws in which it
    is the best; rewards must lie in [0, 1].

    >>> import numpy as np
    >>> p = ThompsonPolicy(["a", "b"], n_draws=2000, min_propensity=0.0)
    >>> p.probabilities([None]).round(1).tolist()
    [[0.5, 0.5]]
    >>> p.update([Feedback(None, "a", 1.0)] * 20 + [Feedback(None, "b", 0.0)] * 20)
    >>> float(p.probabilities([None])[0, 0])
    1.0
    """

    kind = "thompson"

    def __init__(
        self,
        arms: Sequence[str],
        features: Sequence[str] = (),
        *,
        n_draws: int = 1000,
        min_propensity: float = 0.05,
        seed: int = 0,
    ) -> None:
        super().__init__(arms, features, min_propensity=min_propensity, seed=seed)
        self.n_draws = int(n_draws)
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def _build(self) -> Any:
        from mabwiser.mab import MAB, LearningPolicy

        return MAB(list(self.arms), LearningPolicy.ThompsonSampling(), seed=self.seed, n_jobs=1)

    def _learn(self, x: np.ndarray, arms: np.ndarray, rewards: np.ndarray) -> None:
        if np.any((rewards < 0) | (rewards > 1)):
            raise SpecError.build(
                "Thompson sampling needs rewards between 0 and 1",
                got=float(rewards[(rewards < 0) | (rewards > 1)][0]),
                fix="Send 0/1 rewards or use the 'linucb' policy",
            )
        super()._learn(x, arms, rewards)
        self._cache = None

    def _raw(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, k = x.shape[0], len(self.arms)
        if self._cache is None:
            if self._mab is None:
                probs, means = np.full(k, 1.0 / k), np.full(k, 0.5)
            else:
                draws = self._mab.predict_expectations(np.zeros((self.n_draws, 1)))
                mat = np.array([[d[a] for a in self.arms] for d in draws])
                probs = _argmax_distribution(mat).mean(axis=0)
                means = mat.mean(axis=0)
            self._cache = (probs, means)
        probs, means = self._cache
        return np.tile(probs, (n, 1)), np.tile(means, (n, 1))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "n_draws": self.n_draws}


class LinUCBPolicy(BanditPolicy):
    """LinUCB (a ridge model per arm plus ``alpha`` times its uncertainty), via mabwiser.

    An intercept is added to the context so each arm learns its baseline.

    >>> p = LinUCBPolicy(["a", "b"], ["x"], alpha=0.0, min_propensity=0.05)
    >>> p.update([Feedback({"x": 1.0}, "b", 1.0)])
    >>> p.probabilities([{"x": 1.0}]).round(2).tolist()
    [[0.05, 0.95]]
    """

    kind = "linucb"
    contextual = True

    def __init__(
        self,
        arms: Sequence[str],
        features: Sequence[str] = (),
        *,
        alpha: float = 1.0,
        l2: float = 1.0,
        min_propensity: float = 0.05,
        seed: int = 0,
    ) -> None:
        super().__init__(arms, features, min_propensity=min_propensity, seed=seed)
        self.alpha = float(alpha)
        self.l2 = float(l2)

    def _build(self) -> Any:
        from mabwiser.mab import MAB, LearningPolicy

        lp = LearningPolicy.LinUCB(alpha=self.alpha, l2_lambda=self.l2)
        return MAB(list(self.arms), lp, seed=self.seed, n_jobs=1)

    def _mab_contexts(self, x: np.ndarray) -> np.ndarray:
        return np.hstack([np.ones((x.shape[0], 1)), x])

    def _raw(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, k = x.shape[0], len(self.arms)
        if self._mab is None:
            return np.full((n, k), 1.0 / k), np.zeros((n, k))
        exp = self._mab.predict_expectations(self._mab_contexts(x))
        exp = [exp] if isinstance(exp, dict) else exp
        scores = np.array([[d[a] for a in self.arms] for d in exp], dtype=float)
        return _argmax_distribution(scores), scores

    def config(self) -> dict[str, Any]:
        return {**super().config(), "alpha": self.alpha, "l2": self.l2}


class EpsilonGreedyPolicy(BanditPolicy):
    """The arm with the best mean reward, with ``epsilon`` spread uniformly (context-free).

    >>> p = EpsilonGreedyPolicy(["a", "b"], epsilon=0.2, min_propensity=0.0)
    >>> p.update([Feedback(None, "b", 1.0), Feedback(None, "a", 0.0)])
    >>> p.probabilities([None]).round(2).tolist()
    [[0.1, 0.9]]
    """

    kind = "epsilon_greedy"

    def __init__(
        self,
        arms: Sequence[str],
        features: Sequence[str] = (),
        *,
        epsilon: float = 0.1,
        min_propensity: float = 0.05,
        seed: int = 0,
    ) -> None:
        super().__init__(arms, features, min_propensity=min_propensity, seed=seed)
        self.epsilon = float(epsilon)

    def _build(self) -> Any:
        from mabwiser.mab import MAB, LearningPolicy

        # epsilon=0 inside mabwiser: its expectations are then the plain means, and the
        # exploration share is applied here where its probability is known.
        lp = LearningPolicy.EpsilonGreedy(epsilon=0.0)
        return MAB(list(self.arms), lp, seed=self.seed, n_jobs=1)

    def _raw(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, k = x.shape[0], len(self.arms)
        if self._mab is None:
            return np.full((n, k), 1.0 / k), np.zeros((n, k))
        means = self._mab.predict_expectations()
        row = np.array([float(means[a]) for a in self.arms])
        greedy = _argmax_distribution(row[None, :])[0]
        probs = (1.0 - self.epsilon) * greedy + self.epsilon / k
        return np.tile(probs, (n, 1)), np.tile(row, (n, 1))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "epsilon": self.epsilon}


_KINDS: dict[str, type[BanditPolicy]] = {
    "thompson": ThompsonPolicy,
    "linucb": LinUCBPolicy,
    "epsilon_greedy": EpsilonGreedyPolicy,
}
_PARAMS = {
    "thompson": ("n_draws",),
    "linucb": ("alpha", "l2"),
    "epsilon_greedy": ("epsilon",),
}


def make_policy(
    config: Mapping[str, Any], arms: Sequence[str], features: Sequence[str] = ()
) -> BanditPolicy:
    """Build an untrained policy from a config (``{"policy": "linucb", "alpha": 1.0, ...}``).

    >>> make_policy({"policy": "linucb", "alpha": 0.5}, ["a", "b"], ["x"]).alpha
    0.5
    """
    kind = str(config.get("policy", "linucb"))
    if kind not in _KINDS:
        raise SpecError.build(
            "The bandit 'policy' is not supported",
            expected=f"one of {sorted(_KINDS)}",
            got=kind,
            fix="Choose one of the supported policies",
        )
    kwargs: dict[str, Any] = {
        k: config[k] for k in ("min_propensity", "seed", *_PARAMS[kind]) if k in config
    }
    return _KINDS[kind](arms, features, **kwargs)
