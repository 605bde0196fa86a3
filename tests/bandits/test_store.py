"""The bandit store on every backend of the shared suite: in-memory SQLite, a SQLite file and
PostgreSQL (fixtures from tests/storage/suite.py)."""

from __future__ import annotations

import numpy as np
import pytest

from civicml._errors import ConflictError, NotFoundError, RegistryError
from civicml.bandits import BanditService, BanditSpec, BanditStore, open_bandit_store
from storage.suite import backend_fixture, pg_shared_schema_fixture  # noqa: F401

SPEC = BanditSpec(name="letters", arms=["plain", "deadline"], context=["urban"], policy="linucb")


@pytest.fixture
def store(backend):
    s = open_bandit_store(backend[1])
    try:
        yield s
    finally:
        s.close()


def test_create_get_list_and_conflicts(store: BanditStore) -> None:
    record = store.create_bandit(SPEC)
    assert record.name == "letters" and record.policy_version == 1
    assert record.spec["arms"] == ["plain", "deadline"] and record.created_at.endswith("Z")
    assert store.spec("letters") == SPEC
    assert store.create_bandit(SPEC, exist_ok=True) == record
    with pytest.raises(ConflictError, match="already exists"):
        store.create_bandit(SPEC.model_copy(update={"alpha": 2.0}), exist_ok=True)
    with pytest.raises(ConflictError):
        store.create_bandit(SPEC)
    store.create_bandit(BanditSpec(name="alpha", arms=["a", "b"]))
    assert store.list_bandits() == ["alpha", "letters"]
    with pytest.raises(NotFoundError, match="no bandit named 'nope'"):
        store.get_bandit("nope")


def test_policy_versions(store: BanditStore) -> None:
    store.create_bandit(SPEC)
    assert store.set_policy("letters", {"policy": "thompson"}, reason="better") == 2
    assert store.set_policy("letters", {"policy": "linucb", "alpha": 1.0}, reason="back") == 3
    record = store.get_bandit("letters")
    assert record.policy_version == 3 and record.policy_config == {"policy": "linucb", "alpha": 1.0}
    history = store.policy_history("letters")
    assert [h["version"] for h in history] == [1, 2, 3]
    assert [h["reason"] for h in history] == ["created", "better", "back"]
    with pytest.raises(NotFoundError):
        store.set_policy("nope", {}, reason="x")


def test_decisions_and_rewards_once(store: BanditStore) -> None:
    store.create_bandit(SPEC)
    for i, arm in enumerate(["plain", "deadline", "deadline"]):
        store.log_decision(
            "letters", f"d{i}", policy_version=1, context={"urban": float(i)}, arm=arm,
            propensity=0.25 * (i + 1),
        )  # fmt: skip
    found = store.get_decision("letters", "d1")
    assert (found.arm, found.context, found.propensity, found.reward) == (
        "deadline", {"urban": 1.0}, 0.5, None,
    )  # fmt: skip
    decision, recorded = store.record_reward("letters", "d1", 1.0)
    assert recorded and decision.reward == 1.0 and decision.reward_at is not None
    assert store.record_reward("letters", "d1", 1.0)[1] is False
    with pytest.raises(ConflictError, match="different reward"):
        store.record_reward("letters", "d1", 0.0)
    with pytest.raises(NotFoundError):
        store.get_decision("letters", "missing")
    with pytest.raises(NotFoundError):
        store.record_reward("other", "d1", 1.0)
    store.record_reward("letters", "d2", 0.0)
    assert [d.decision_id for d in store.decisions("letters")] == ["d0", "d1", "d2"]
    assert [d.decision_id for d in store.decisions("letters", rewarded_only=True)] == ["d1", "d2"]
    assert [d.decision_id for d in store.decisions("letters", limit=1)] == ["d0"]
    stats = store.arm_stats("letters")
    assert stats["deadline"] == {
        "pulls": 2, "rewarded": 2, "reward_sum": 1.0, "reward_sq": 1.0,
        "mean_propensity": pytest.approx(0.625), "min_propensity": 0.5,
    }  # fmt: skip
    assert stats["plain"]["pulls"] == 1 and stats["plain"]["rewarded"] == 0
    log = store.log("letters")
    assert list(log.actions) == [1, 1] and list(log.rewards) == [1.0, 0.0]


def test_import_skips_held_ids_and_refuses_a_clash_atomically(store: BanditStore) -> None:
    store.create_bandit(SPEC)
    store.create_bandit(BanditSpec(name="other", arms=["a", "b"]))
    rows = [
        {"decision_id": f"x{i}", "context": {"urban": 1.0}, "arm": "plain", "propensity": 0.5,
         "reward": None if i == 0 else 1.0}
        for i in range(3)
    ]  # fmt: skip
    assert store.import_decisions("letters", rows) == 3
    assert store.import_decisions("letters", rows) == 0
    store.log_decision("other", "y0", policy_version=1, context={}, arm="a", propensity=0.5)
    clash = [*rows, {"decision_id": "y0", "context": {}, "arm": "plain", "propensity": 0.5}]
    clash.append({"decision_id": "new", "context": {}, "arm": "plain", "propensity": 0.5})
    with pytest.raises(ConflictError, match="belongs to bandit 'other'"):
        store.import_decisions("letters", clash)
    ids = [d.decision_id for d in store.decisions("letters")]
    assert ids == ["x0", "x1", "x2"]  # nothing of the refused import was written
    assert {d.policy_version for d in store.decisions("letters")} == {0}


def test_a_service_restarts_from_the_log(backend) -> None:
    if backend[0] == "memory":
        pytest.skip("an in-memory database ends with its store")
    store = open_bandit_store(backend[1])
    store.create_bandit(SPEC)
    service = BanditService(store, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = service.choose("letters", {"urban": float(rng.integers(2))})
        service.reward("letters", out["decision_id"], int(out["arm"] == "deadline"))
    grid = np.array([[0.0], [1.0]])
    before = service.runtime("letters").policy.probabilities(grid)
    summary = service.summary("letters")
    store.close()
    store = open_bandit_store(backend[1])
    try:
        after = BanditService(store, seed=1).runtime("letters").policy.probabilities(grid)
        np.testing.assert_allclose(after, before)
        assert BanditService(store, seed=1).summary("letters") == summary
    finally:
        store.close()


def test_unconnected_store_says_so() -> None:
    with pytest.raises(RegistryError, match="not connected"):
        BanditStore("sqlite://").list_bandits()
