from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

from civicml._errors import SpecError
from civicml.bandits import (
    EpsilonGreedyPolicy,
    Feedback,
    LinUCBPolicy,
    ThompsonPolicy,
    apply_floor,
    make_policy,
)

MODULES = [
    "_app", "_bundle", "_ope", "_policies", "_project", "_report", "_service", "_sim",
    "_spec", "_store",
]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    mod = importlib.import_module(f"civicml.bandits.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_api_is_pinned():
    import civicml.bandits as b

    assert sorted(b.__all__) == sorted(
        [
            "BanditApp", "BanditLog", "BanditPolicy", "BanditProject", "BanditRecord",
            "BanditService", "allocation_fairness", "load_bandit_project",
            "BanditSpec", "BanditStore", "Choice", "EpsilonGreedyPolicy", "Estimate",
            "Feedback", "GateResult", "InvalidInput", "LetterEnvironment", "LinUCBPolicy",
            "LoggedDecision", "OPEResult", "SimulationResult", "ThompsonPolicy", "apply_floor",
            "bandit_app", "bandit_report", "bandit_report_html", "collect_log",
            "evaluate_candidate", "evaluate_policy", "load_bandit_spec", "make_policy",
            "may_replace", "open_bandit_store", "simulate",
            "bandit_mount", "bandit_summary", "display_uri", "is_bandit_spec",
            "read_decision_log", "save_bandit_bundle",
        ]
    )  # fmt: skip


@pytest.mark.parametrize("floor", [0.0, 0.05, 0.2, 1 / 3])
def test_floor_lifts_every_arm_and_sums_to_one(floor):
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.dirichlet([0.2, 0.2, 0.2])
        out = apply_floor(p, floor)
        assert out.sum() == pytest.approx(1.0)
        assert out.min() >= floor - 1e-12


def test_linucb_propensity_is_the_sampling_probability():
    policy = LinUCBPolicy(["a", "b", "c"], ["x"], alpha=0.0, min_propensity=0.05)
    policy.update([Feedback({"x": 1.0}, "b", 1.0)] * 5 + [Feedback({"x": 1.0}, "a", 0.0)] * 5)
    rng = np.random.default_rng(1)
    picks = [policy.choose({"x": 1.0}, rng) for _ in range(4000)]
    share_b = np.mean([c.arm == "b" for c in picks])
    assert picks[0].probabilities["b"] == pytest.approx(0.9)
    assert share_b == pytest.approx(0.9, abs=0.02)
    assert all(c.propensity == pytest.approx(0.05) for c in picks if c.arm == "a")


def test_thompson_probabilities_are_monte_carlo_of_the_posterior():
    policy = ThompsonPolicy(["a", "b"], n_draws=4000, min_propensity=0.0, seed=3)
    policy.update([Feedback(None, "a", 1.0)] * 3 + [Feedback(None, "a", 0.0)] * 2)
    policy.update([Feedback(None, "b", 1.0)] * 2 + [Feedback(None, "b", 0.0)] * 3)
    # P(Beta(4,3) > Beta(3,4)) = 0.6875 (exact, by symmetry of the Beta family)
    rng = np.random.default_rng(0)
    exact = np.mean(rng.beta(4, 3, 200_000) > rng.beta(3, 4, 200_000))
    assert policy.probabilities([None])[0, 0] == pytest.approx(exact, abs=0.03)
    with pytest.raises(SpecError, match="between 0 and 1"):
        policy.update([Feedback(None, "a", 2.0)])


def test_epsilon_greedy_and_untrained_policies_are_uniform():
    for p in (
        ThompsonPolicy(["a", "b", "c"]),
        LinUCBPolicy(["a", "b", "c"], ["x"]),
        EpsilonGreedyPolicy(["a", "b", "c"]),
    ):
        assert p.probabilities([{"x": 0.0}]).tolist() == [[1 / 3, 1 / 3, 1 / 3]]


def test_make_policy_and_bad_settings():
    assert isinstance(make_policy({"policy": "thompson"}, ["a", "b"]), ThompsonPolicy)
    with pytest.raises(SpecError, match="not supported"):
        make_policy({"policy": "ucb9"}, ["a", "b"])
    with pytest.raises(SpecError, match="min_propensity"):
        LinUCBPolicy(["a", "b", "c"], min_propensity=0.5)
    with pytest.raises(SpecError, match="two distinct arms"):
        LinUCBPolicy(["a", "a"])


def test_replayed_policy_equals_online_policy():
    rng = np.random.default_rng(0)
    rows = [
        Feedback({"x": float(rng.random())}, str(rng.choice(["a", "b"])), float(rng.random() < 0.5))
        for _ in range(200)
    ]
    online = LinUCBPolicy(["a", "b"], ["x"], alpha=0.3)
    for i in range(0, 200, 7):
        online.update(rows[i : i + 7])
    batch = LinUCBPolicy(["a", "b"], ["x"], alpha=0.3)
    batch.update(rows)
    grid = np.linspace(0, 1, 11)[:, None]
    np.testing.assert_allclose(online.probabilities(grid), batch.probabilities(grid))
