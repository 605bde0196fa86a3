"""The bandit project spec, the decision-log import and allocation fairness."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicml._errors import ConflictError, DataError, SpecError
from civicml.bandits import (
    BanditSpec,
    LoggedDecision,
    allocation_fairness,
    load_bandit_project,
    load_bandit_spec,
    open_bandit_store,
)
from civicml.bandits._project import project_from_dict, read_decision_log
from civicml.bandits._spec import is_bandit_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "letters" / "bandit.yaml"


def test_example_loads_as_project_and_as_plain_spec():
    project = load_bandit_project(EXAMPLE)
    assert project.log == "decisions.csv" and project.protected == ["age_under_30"]
    assert [c.policy for c in project.candidates] == ["linucb", "thompson"]
    assert project.candidates[0].config(project.bandit)["alpha"] == 0.25
    assert project.candidates[1].config(project.bandit)["min_propensity"] == 0.05
    assert load_bandit_spec(EXAMPLE) == project.bandit  # 'bandits create' ignores the run keys
    assert is_bandit_spec(EXAMPLE) and is_bandit_spec(EXAMPLE.parent) is False


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"candidates": [{"policy": "greedy"}]}, "'candidates.0.policy'"),
        ({"candidates": [{"min_propensity": 0.6}]}, "candidate's 'min_propensity'"),
        ({"gate": {"estimator": "naive"}}, "'gate.estimator'"),
        ({"protected": ["sex"]}, "'protected' feature 'sex'"),
        ({"logs": "x.csv"}, "'logs'"),
    ],
)
def test_bad_run_keys_are_one_line_spec_errors(doc, match):
    base = {"name": "b", "arms": ["a", "b"], "context": ["x"]}
    with pytest.raises(SpecError, match=match) as info:
        project_from_dict({**base, **doc})
    assert "\n" not in str(info.value)


def _log(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "log.csv"
    path.write_text(text, encoding="utf-8")
    return path


SPEC = BanditSpec(name="b", arms=["a", "b"], context=["x"], reward="y")


def test_read_log_derives_stable_ids_and_keeps_given_ones(tmp_path):
    rows = read_decision_log(_log(tmp_path, "x,arm,propensity,y\n1,a,0.5,1\n0,b,1,\n"), SPEC)
    assert [r["reward"] for r in rows] == [1.0, None]
    again = read_decision_log(_log(tmp_path, "x,arm,propensity,y\n1,a,0.5,1\n0,b,1,\n"), SPEC)
    assert [r["decision_id"] for r in rows] == [r["decision_id"] for r in again]
    given = read_decision_log(
        _log(tmp_path, "decision_id,x,arm,propensity,y\nd1,1,a,0.5,1\n"), SPEC
    )
    assert given[0]["decision_id"] == "d1"
    with pytest.raises(DataError, match="Line 3 of log.csv, column 'decision_id'"):
        read_decision_log(
            _log(tmp_path, "decision_id,x,arm,propensity,y\nd1,1,a,0.5,1\nd1,0,b,0.5,0\n"), SPEC
        )
    with pytest.raises(DataError, match="no data rows"):
        read_decision_log(_log(tmp_path, "x,arm,propensity,y\n"), SPEC)


def test_import_skips_known_ids_and_refuses_another_bandits():
    store = open_bandit_store("sqlite://")
    store.create_bandit(SPEC)
    store.create_bandit(BanditSpec(name="other", arms=["a", "b"], context=["x"]))
    row = {"decision_id": "d1", "context": {"x": 1.0}, "arm": "a", "propensity": 0.5, "reward": 1}
    assert store.import_decisions("b", [row]) == 1
    assert store.import_decisions("b", [row, {**row, "decision_id": "d2"}]) == 1
    assert [d.policy_version for d in store.decisions("b")] == [0, 0]
    with pytest.raises(ConflictError, match="belongs to bandit 'b'"):
        store.import_decisions("other", [{**row, "decision_id": "new"}, row])
    assert store.decisions("other") == []  # nothing half-written
    store.close()


def _d(i: int, group: float, arm: str, reward: float | None) -> LoggedDecision:
    return LoggedDecision(f"d{i}", "b", "", 1, {"g": group}, arm, 0.5, reward)


def test_allocation_fairness_matches_a_hand_computed_example():
    # group 0: 40 decisions, 30 'a' (rewards 1 on 12 of them) and 10 'b' (rewards 1 on 8)
    # group 1: 40 decisions, 10 'a' (1 on 2) and 30 'b' (1 on 6), 10 of the 'b' still unrewarded
    # group 2: 5 decisions (too small to compare), all 'a'
    log, i = [], 0
    for group, arm, n, ones, pending in [
        (0.0, "a", 30, 12, 0), (0.0, "b", 10, 8, 0),
        (1.0, "a", 10, 2, 0), (1.0, "b", 30, 6, 10),
        (2.0, "a", 5, 0, 0),
    ]:  # fmt: skip
        for k in range(n):
            reward = None if k >= n - pending else float(k < ones)
            log.append(_d(i, group, arm, reward))
            i += 1
    out = allocation_fairness(log, ["a", "b"], ["g"])
    (feature,) = out["features"]
    g0, g1, g2 = feature["groups"]
    assert (g0["n"], g0["allocation"], g0["mean_reward"]) == (40, {"a": 0.75, "b": 0.25}, 0.5)
    assert (g1["n"], g1["rewarded"]) == (40, 30)
    assert g1["allocation"] == {"a": 0.25, "b": 0.75}
    assert g1["mean_reward"] == pytest.approx(8 / 30)
    assert g2["small"] and not g0["small"]
    assert [(a["arm"], a["difference"]) for a in feature["arms"]] == [("a", 0.5), ("b", 0.5)]
    assert feature["flagged"] == ["a", "b"]
    assert "more than 10 percentage points" in out["rule"]

    near = allocation_fairness(log, ["a", "b"], ["g"], max_difference=0.5)
    assert near["flagged"] == []  # a difference equal to the limit is not flagged
