from __future__ import annotations

import numpy as np
import pytest

from civicml._errors import ConflictError, NotFoundError, SpecError
from civicml.bandits import (
    BanditService,
    BanditSpec,
    InvalidInput,
    bandit_report,
    bandit_report_html,
    load_bandit_spec,
    open_bandit_store,
)


def _play(service, n, seed=0):
    rng = np.random.default_rng(seed)
    ids = []
    for _ in range(n):
        ctx = {"age_under_30": float(rng.integers(2)), "urban": 1.0, "missed_before": 0.0}
        out = service.choose("letters", ctx)
        ids.append(out["decision_id"])
        service.reward("letters", out["decision_id"], int(out["arm"] == "deadline"))
    return ids


def test_restart_loses_nothing(db_uri, spec):
    store = open_bandit_store(db_uri)
    store.create_bandit(spec)
    service = BanditService(store, seed=1)
    _play(service, 60)
    pending = service.choose("letters", {"age_under_30": 1, "urban": 0, "missed_before": 1})
    grid = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    before = service.runtime("letters").policy.probabilities(grid)
    summary = service.summary("letters")
    store.close()
    del service, store

    store = open_bandit_store(db_uri)
    service = BanditService(store, seed=1)
    after = service.runtime("letters").policy.probabilities(grid)
    np.testing.assert_allclose(after, before)
    assert service.summary("letters") == summary
    assert summary["decisions"] == 61 and summary["rewarded"] == 60
    # the decision made before the restart can still be rewarded, once
    assert service.reward("letters", pending["decision_id"], 1)["recorded"] is True
    assert service.reward("letters", pending["decision_id"], 1)["recorded"] is False
    store.close()


def test_rewards_are_validated_and_idempotent(spec):
    store = open_bandit_store("sqlite://")
    store.create_bandit(spec)
    service = BanditService(store, seed=0)
    out = service.choose("letters", {"age_under_30": 1, "urban": 0, "missed_before": 0})
    assert 0.05 <= out["propensity"] <= 1.0
    with pytest.raises(InvalidInput, match="binary"):
        service.reward("letters", out["decision_id"], 0.5)
    with pytest.raises(InvalidInput, match="finite"):
        service.reward("letters", out["decision_id"], "yes")
    with pytest.raises(NotFoundError):
        service.reward("letters", "nope", 1)
    service.reward("letters", out["decision_id"], 0)
    with pytest.raises(ConflictError):
        service.reward("letters", out["decision_id"], 1)
    with pytest.raises(InvalidInput, match="lacks features"):
        service.choose("letters", {"urban": 1})
    with pytest.raises(InvalidInput, match="finite number"):
        service.choose("letters", {"age_under_30": "x", "urban": 1, "missed_before": 0})
    with pytest.raises(NotFoundError):
        service.choose("other", {})
    with pytest.raises(ConflictError):
        store.create_bandit(spec.model_copy(update={"alpha": 2.0}))
    assert store.create_bandit(spec, exist_ok=True).name == "letters"
    store.close()


def test_promote_bumps_the_version_and_report(spec):
    store = open_bandit_store("sqlite://")
    store.create_bandit(spec)
    service = BanditService(store, seed=0)
    _play(service, 30)
    version = service.promote("letters", {"policy": "thompson", "min_propensity": 0.1}, reason="t")
    assert version == 2
    out = service.choose("letters", {"age_under_30": 1, "urban": 0, "missed_before": 0})
    assert out["policy_version"] == 2 and out["propensity"] >= 0.1
    rep = bandit_report(store, "letters")
    assert rep["decisions"] == 31 and [h["version"] for h in rep["policy_history"]] == [1, 2]
    deadline = next(a for a in rep["arms"] if a["arm"] == "deadline")
    assert deadline["mean_reward"] == 1.0 and deadline["interval"][1] == pytest.approx(1.0)
    html = bandit_report_html(rep)
    assert "deadline" in html and "<script" not in html
    store.close()


def test_spec_loading(tmp_path):
    path = tmp_path / "bandit.yaml"
    path.write_text("bandit:\n  name: t\n  arms: [a, b]\n  policy: thompson\n")
    assert load_bandit_spec(path).policy == "thompson"
    path.write_text("name: t\narms: [a, b]\npolicy: ucb9\n")
    with pytest.raises(SpecError, match="'policy'"):
        load_bandit_spec(path)
    path.write_text("name: t\narms: [a, b, c]\nmin_propensity: 0.5\n")
    with pytest.raises(SpecError, match="too high"):
        load_bandit_spec(path)
    with pytest.raises(SpecError, match="does not exist"):
        load_bandit_spec(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="URL-safe"):
        BanditSpec(name="a b", arms=["x", "y"])


def test_example_spec_loads():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = load_bandit_spec(root / "examples" / "letters" / "bandit.yaml")
    assert spec.arms == ["plain", "social_norm", "deadline"]
