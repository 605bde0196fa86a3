"""Plain records the bandit store returns and off-policy evaluation reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from civicml._errors import DataError

__all__ = ["BanditLog", "BanditRecord", "LoggedDecision"]


@dataclass(frozen=True)
class BanditRecord:
    """A bandit as stored: its spec, and the policy version now serving."""

    name: str
    spec: dict[str, Any]
    policy_version: int
    policy_config: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class LoggedDecision:
    """One logged decision (the reward is ``None`` until it arrives)."""

    decision_id: str
    bandit: str
    created_at: str
    policy_version: int
    context: dict[str, float]
    arm: str
    propensity: float
    reward: float | None = None
    reward_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "bandit": self.bandit,
            "created_at": self.created_at,
            "policy_version": self.policy_version,
            "context": self.context,
            "arm": self.arm,
            "propensity": self.propensity,
            "reward": self.reward,
            "reward_at": self.reward_at,
        }


@dataclass(frozen=True)
class BanditLog:
    """Logged bandit data as arrays, the input of off-policy evaluation.

    Parameters
    ----------
    arms : tuple of str
        Every arm, in the order ``actions`` indexes.
    features : tuple of str
        Context feature names, the columns of ``contexts``.
    contexts : ndarray, shape (n, d)
    actions : ndarray of int, shape (n,)
    propensities : ndarray, shape (n,)
        The logging policy's probability of the logged action.
    rewards : ndarray, shape (n,)
    """

    arms: tuple[str, ...]
    features: tuple[str, ...]
    contexts: np.ndarray
    actions: np.ndarray
    propensities: np.ndarray
    rewards: np.ndarray
    policy_versions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def __post_init__(self) -> None:
        n = len(self.actions)
        if not (len(self.contexts) == len(self.propensities) == len(self.rewards) == n):
            raise DataError.build(
                "The bandit log's arrays differ in length",
                got=(len(self.contexts), n, len(self.propensities), len(self.rewards)),
                fix="Pass one context, action, propensity and reward per decision",
            )
        if n and (np.any(self.propensities <= 0) or np.any(self.propensities > 1)):
            raise DataError.build(
                "The bandit log has propensities outside (0, 1]",
                got=float(self.propensities[(self.propensities <= 0) | (self.propensities > 1)][0]),
                fix="Log the probability the arm was chosen with (set an exploration floor)",
            )

    def __len__(self) -> int:
        return len(self.actions)

    @classmethod
    def from_decisions(
        cls, decisions: Sequence[LoggedDecision], arms: Sequence[str], features: Sequence[str]
    ) -> BanditLog:
        """Rewarded decisions (others are skipped) as arrays; unknown arms are skipped."""
        index = {a: i for i, a in enumerate(arms)}
        rows = [d for d in decisions if d.reward is not None and d.arm in index]
        x = np.array(
            [[float(d.context.get(f, 0.0)) for f in features] for d in rows], dtype=float
        ).reshape(len(rows), len(features))
        return cls(
            arms=tuple(arms),
            features=tuple(features),
            contexts=x,
            actions=np.array([index[d.arm] for d in rows], dtype=int),
            propensities=np.array([d.propensity for d in rows], dtype=float),
            rewards=np.array([float(d.reward) for d in rows if d.reward is not None]),
            policy_versions=np.array([d.policy_version for d in rows], dtype=int),
        )

    def subset(self, idx: np.ndarray) -> BanditLog:
        """The rows at ``idx``."""
        pv = (
            self.policy_versions[idx]
            if len(self.policy_versions) == len(self)
            else self.policy_versions
        )
        return BanditLog(
            self.arms,
            self.features,
            self.contexts[idx],
            self.actions[idx],
            self.propensities[idx],
            self.rewards[idx],
            pv,
        )
