"""``--resume`` for the in-process search (``engine: local``): a killed search continues without
refitting its finished trials, a seeded ``max_trials`` run ends with the uninterrupted run's
leaderboard, a time-budgeted one gets the budget that was left, and other data or settings are
refused."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from civicml._errors import SpecError
from civicml.learn import FeatureRoles, train
from civicml.learn import _search as search_module
from civicml.learn._search_resume import MIN_LEFT_SHARE

ROLES = FeatureRoles(numeric=["x1", "x2"], categorical=["g"])
# linear and kNN fit fast; 12 trials on 4 folds prune some of them (trials 7 to 11)
SEARCH: dict[str, Any] = dict(
    roles=ROLES,
    max_trials=12,
    seed=3,
    cv_folds=4,
    families=["linear", "knn"],
    ensemble=False,
    calibrate=False,
)


def _data(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "g": rng.choice(["a", "b", "c"], size=n),
        }
    )
    logit = 1.5 * X["x1"] - X["x2"] + (X["g"] == "b")
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"), name="y")
    return X, y


class Killed(Exception):
    """Stands in for the kill of the process."""


def _killed_at(n: int):
    """An event handler that stops the run (as a kill would) when the n-th candidate starts."""
    seen: list[str] = []

    def on_event(kind: str, **kw: Any) -> None:
        if kind == "candidate_start":
            seen.append(kw["name"])
            if len(seen) == n:
                raise Killed

    return on_event


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The candidates the in-process search cross-validates (fits), in order."""
    done: list[str] = []
    real = search_module.cross_validate

    def counting(pipe: Any, *args: Any, **kwargs: Any) -> Any:
        done.append(type(pipe.steps[-1][1]).__name__)
        return real(pipe, *args, **kwargs)

    monkeypatch.setattr(search_module, "cross_validate", counting)
    return done


def _board(result: Any) -> str:
    return json.dumps(result.leaderboard.to_dict(timings=False)["entries"], sort_keys=True)


@pytest.fixture(scope="module")
def reference() -> Any:
    X, y = _data()
    return train(X, y, **SEARCH)


def test_max_trials_resume_ends_as_the_uninterrupted_run(
    tmp_path: Path, reference: Any, fits: list[str]
) -> None:
    X, y = _data()
    ck = tmp_path / ".civicml-checkpoint"
    with pytest.raises(Killed):
        train(X, y, **SEARCH, checkpoint=ck, on_event=_killed_at(10))
    # the baseline and trials 0-7 were kept (trial 8 was starting): no pickle anywhere
    assert len(list(ck.glob("trial-*.json"))) == 9
    assert {p.suffix for p in ck.iterdir()} == {".json", ".npy"}
    fits.clear()
    resumed = train(X, y, **SEARCH, checkpoint=ck, resume=True)
    # only the 4 trials the checkpoint did not hold were fitted
    assert len(fits) == 4
    assert resumed.extra["resume"]["replayed_trials"] == 9
    assert _board(resumed) == _board(reference)
    assert resumed.best == reference.best and resumed.test_metrics == reference.test_metrics
    statuses = [e.status for e in resumed.leaderboard.entries]
    # the pruner conditioned on the replayed trials (pruned ones among them) as it had
    assert statuses[7:9] == ["pruned", "pruned"] and statuses[9:].count("pruned") >= 2
    # resumed once more, the finished search fits nothing and gives the same leaderboard
    fits.clear()
    again = train(X, y, **SEARCH, checkpoint=ck, resume=True)
    assert fits == [] and _board(again) == _board(reference)


def test_a_damaged_trial_and_those_after_it_are_fitted_again(
    tmp_path: Path, reference: Any, fits: list[str]
) -> None:
    X, y = _data()
    ck = tmp_path / "ck"
    with pytest.raises(Killed):
        train(X, y, **SEARCH, checkpoint=ck, on_event=_killed_at(6))
    path = ck / "trial-0003.json"
    entry = json.loads(path.read_text())
    del entry["extra"]["cv"]  # e.g. written by another version: not replayable
    path.write_text(json.dumps(entry))
    fits.clear()
    resumed = train(X, y, **SEARCH, checkpoint=ck, resume=True)
    assert len(fits) == 13 - 3 and resumed.extra["resume"]["replayed_trials"] == 3
    assert _board(resumed) == _board(reference)


def test_without_resume_the_checkpoint_is_started_afresh(tmp_path: Path, fits: list[str]) -> None:
    X, y = _data()
    ck = tmp_path / "ck"
    short = {**SEARCH, "max_trials": 3}
    with pytest.raises(Killed):
        train(X, y, **short, checkpoint=ck, on_event=_killed_at(3))
    fits.clear()
    train(X, y, **short, checkpoint=ck)
    assert len(fits) == 4  # the baseline and 3 trials, all fitted
    assert len(list(ck.glob("trial-*.json"))) == 4


def test_resume_refuses_other_data_or_settings(tmp_path: Path) -> None:
    X, y = _data()
    ck = tmp_path / "ck"
    short = {**SEARCH, "max_trials": 3}
    with pytest.raises(Killed):
        train(X, y, **short, checkpoint=ck, on_event=_killed_at(3))
    before = sorted(p.name for p in ck.iterdir())
    changed = X.copy()
    changed.loc[5, "x1"] += 1e-9  # one value, same shape
    with pytest.raises(SpecError, match="other data") as exc:
        train(changed, y, **short, checkpoint=ck, resume=True)
    assert "\n" not in str(exc.value).strip()
    with pytest.raises(SpecError, match=r"other search settings \(max_trials\)"):
        train(X, y, **{**short, "max_trials": 4}, checkpoint=ck, resume=True)
    with pytest.raises(SpecError, match=r"other search settings \(budget_seconds"):
        train(X, y, **{**short, "max_trials": None}, checkpoint=ck, resume=True)
    assert sorted(p.name for p in ck.iterdir()) == before  # refused: nothing touched
    with pytest.raises(SpecError, match="needs the checkpoint folder"):
        train(X, y, **short, resume=True)
    np.save(ck / "trial-0001-oof.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SpecError, match="trial-0001.json is damaged.*allow_pickle"):
        train(X, y, **short, checkpoint=ck, resume=True)


def test_an_engine_checkpoint_is_not_resumed_in_process(tmp_path: Path) -> None:
    X, y = _data()
    ck = tmp_path / "ck"
    short = {**SEARCH, "max_trials": 2}
    train(X, y, **short, engine="local:1", checkpoint=ck)
    with pytest.raises(SpecError, match=r"other search settings \(.*search"):
        train(X, y, **short, checkpoint=ck, resume=True)


def test_a_time_budget_resumes_with_the_budget_left(tmp_path: Path, fits: list[str]) -> None:
    X, y = _data()
    ck = tmp_path / "ck"
    budget = {**SEARCH, "max_trials": None, "budget_seconds": 4.0}
    with pytest.raises(Killed):
        train(X, y, **budget, checkpoint=ck, on_event=_killed_at(6))
    kept = [json.loads(p.read_text()) for p in sorted(ck.glob("trial-*.json"))]
    assert len(kept) == 5
    left = min(e["extra"]["left_seconds"] for e in kept)
    assert 4.0 * MIN_LEFT_SHARE < left < 4.0
    fits.clear()
    t0 = time.monotonic()
    resumed = train(X, y, **budget, checkpoint=ck, resume=True)
    took = time.monotonic() - t0
    record = resumed.extra["resume"]
    assert record["replayed_trials"] == 5
    # the resumed run was given what was left, not a fresh budget, and kept to it
    assert record["budget_left_seconds"] == pytest.approx(left, abs=1e-3)
    assert took <= left * 1.1 + 0.3
    entries = resumed.leaderboard.entries
    assert [e.name for e in entries[:3]] == ["baseline", "linear", "knn"]
    # the replayed trials were not fitted again: only the ones after them were
    assert len(fits) == len(entries) - 5
