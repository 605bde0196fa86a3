"""The bandit service: choose an arm, record its reward, rebuild the policy from the log.

One :class:`BanditService` serves every bandit in a store. Each bandit's policy is rebuilt on
first use by replaying its rewarded decisions (Thompson counts and LinUCB's ridge sums do not
depend on order, so the replayed policy equals the one that learned online). Every decision is
committed to the store before :meth:`BanditService.choose` returns.

Examples
--------
>>> from civicml.bandits._spec import BanditSpec
>>> from civicml.bandits._store import open_bandit_store
>>> store = open_bandit_store("sqlite://")
>>> _ = store.create_bandit(BanditSpec(name="demo", arms=["a", "b"], context=["x"]))
>>> service = BanditService(store, seed=0)
>>> out = service.choose("demo", {"x": 1.0})
>>> sorted(out), out["policy_version"]
(['arm', 'decision_id', 'policy_version', 'propensity'], 1)
>>> service.reward("demo", out["decision_id"], 1)["recorded"]
True
>>> store.close()
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from civicml._errors import DataError
from civicml.bandits._policies import BanditPolicy, Feedback, make_policy
from civicml.bandits._spec import BanditSpec, spec_from_dict
from civicml.bandits._store import BanditStore

__all__ = ["BanditService", "InvalidInput"]


class InvalidInput(DataError):
    """A context or reward sent to a bandit is unusable (HTTP 422)."""

    http_status = 422


@dataclass
class _Runtime:
    spec: BanditSpec
    version: int
    policy: BanditPolicy
    rng: np.random.Generator
    lock: threading.Lock


class BanditService:
    """Choose arms and record rewards for the bandits in ``store``.

    Parameters
    ----------
    store : BanditStore
        A connected store.
    seed : int, optional
        Seeds the arm sampling (tests); by default fresh entropy.
    """

    def __init__(self, store: BanditStore, *, seed: int | None = None) -> None:
        self.store = store
        self.seed = seed
        self._runtimes: dict[str, _Runtime] = {}
        self._lock = threading.Lock()

    # -- runtimes ----------------------------------------------------------------------------
    def runtime(self, name: str) -> _Runtime:
        """The bandit's live policy, rebuilt from the log on first use."""
        with self._lock:
            rt = self._runtimes.get(name)
            if rt is None:
                rt = self._runtimes[name] = self._load(name)
            return rt

    def _load(self, name: str) -> _Runtime:
        record = self.store.get_bandit(name)
        spec = spec_from_dict(record.spec)
        policy = make_policy(record.policy_config, spec.arms, spec.context)
        rows = self.store.decisions(name, rewarded_only=True)
        policy.update([Feedback(d.context, d.arm, float(d.reward or 0.0)) for d in rows])
        seq = np.random.SeedSequence(self.seed) if self.seed is not None else None
        rng = np.random.default_rng(seq)
        return _Runtime(spec, record.policy_version, policy, rng, threading.Lock())

    def reload(self, name: str | None = None) -> None:
        """Forget cached policies so the next call rebuilds them from the store."""
        with self._lock:
            if name is None:
                self._runtimes.clear()
            else:
                self._runtimes.pop(name, None)

    # -- the API -----------------------------------------------------------------------------
    def choose(self, name: str, context: Mapping[str, Any] | None) -> dict[str, Any]:
        """Pick an arm for ``context`` and log the decision.

        Returns
        -------
        dict
            ``decision_id``, ``arm``, ``propensity`` and ``policy_version``.
        """
        rt = self.runtime(name)
        ctx = _context(rt.spec, context)
        with rt.lock:
            choice = rt.policy.choose(ctx, rt.rng)
            decision_id = uuid.uuid4().hex
            self.store.log_decision(
                name,
                decision_id,
                policy_version=rt.version,
                context=ctx,
                arm=choice.arm,
                propensity=choice.propensity,
            )
        return {
            "decision_id": decision_id,
            "arm": choice.arm,
            "propensity": choice.propensity,
            "policy_version": rt.version,
        }

    def reward(self, name: str, decision_id: str, reward: Any) -> dict[str, Any]:
        """Record the reward of a decision once, and let the policy learn from it.

        Returns
        -------
        dict
            ``decision_id``, ``arm``, ``reward`` and ``recorded`` (``False`` for a repeat).
        """
        rt = self.runtime(name)
        value = _reward(rt.spec, reward, rt.policy.kind)
        decision, recorded = self.store.record_reward(name, decision_id, value)
        if recorded:
            rt.policy.update([Feedback(decision.context, decision.arm, value)])
        return {
            "decision_id": decision_id,
            "arm": decision.arm,
            "reward": value,
            "recorded": recorded,
        }

    def summary(self, name: str) -> dict[str, Any]:
        """Arms, pulls, rewarded pulls and mean reward, and the serving policy."""
        record = self.store.get_bandit(name)
        stats = self.store.arm_stats(name)
        arms = []
        for arm in record.spec["arms"]:
            s = stats.get(arm, {"pulls": 0, "rewarded": 0, "reward_sum": 0.0})
            n = s["rewarded"]
            arms.append(
                {
                    "arm": arm,
                    "pulls": s["pulls"],
                    "rewarded": n,
                    "mean_reward": (s["reward_sum"] / n) if n else None,
                }
            )
        return {
            "name": name,
            "policy_version": record.policy_version,
            "policy": record.policy_config,
            "context": record.spec.get("context", []),
            "arms": arms,
            "decisions": sum(a["pulls"] for a in arms),
            "rewarded": sum(a["rewarded"] for a in arms),
        }

    def promote(self, name: str, config: Mapping[str, Any], *, reason: str) -> int:
        """Serve a new policy config from now on (rebuilt from the whole log)."""
        version = self.store.set_policy(name, dict(config), reason=reason)
        self.reload(name)
        return version


def _context(spec: BanditSpec, context: Mapping[str, Any] | None) -> dict[str, float]:
    if context is None:
        context = {}
    if not isinstance(context, Mapping):
        raise InvalidInput.build(
            "The 'context' must be an object of feature values",
            got=type(context).__name__,
            fix=f"Send {{'context': {{...}}}} with {spec.context}",
        )
    missing = [f for f in spec.context if f not in context]
    if missing:
        raise InvalidInput.build(
            f"The context for bandit {spec.name!r} lacks features {missing}",
            expected=f"values for {spec.context}",
            got=sorted(context)[:20],
            fix="Send every context feature the bandit was created with",
        )
    out: dict[str, float] = {}
    for f in spec.context:
        v = context[f]
        if isinstance(v, bool):
            v = float(v)
        if not isinstance(v, int | float) or not math.isfinite(float(v)):
            raise InvalidInput.build(
                f"The context feature {f!r} is not a finite number",
                got=v,
                fix="Send numbers (0/1 for categories)",
            )
        out[f] = float(v)
    return out


def _reward(spec: BanditSpec, reward: Any, kind: str) -> float:
    if isinstance(reward, bool):
        reward = float(reward)
    if not isinstance(reward, int | float) or not math.isfinite(float(reward)):
        raise InvalidInput.build(
            "The 'reward' is not a finite number", got=reward, fix="Send a number"
        )
    value = float(reward)
    if spec.reward_type == "binary" and value not in (0.0, 1.0):
        raise InvalidInput.build(
            f"Bandit {spec.name!r} takes binary rewards",
            expected="0 or 1",
            got=reward,
            fix="Send 0 or 1",
        )
    if kind == "thompson" and not 0.0 <= value <= 1.0:
        raise InvalidInput.build(
            f"Bandit {spec.name!r} uses Thompson sampling, which needs rewards in [0, 1]",
            got=reward,
            fix="Send a reward between 0 and 1",
        )
    return value
