"""The search checkpoint: a killed search resumes without repeating its finished trials, gives
the result an uninterrupted search gives, and refuses other data or settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from civicml._errors import SpecError
from civicml.engines import LocalEngine
from civicml.learn import search_on_engine
from civicml.learn._checkpoint import CheckpointOptions, SearchCheckpoint


class CountingEngine(LocalEngine):
    """The local engine, counting the folds it was asked to fit."""

    def __init__(self) -> None:
        super().__init__()
        self.fits: list[tuple[str, int | None, int]] = []

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        fam, _, number, fold = args[0]
        self.fits.append((fam, number, fold))
        return super().submit(fn, *args, **kwargs)


def _problem(seed: int = 2) -> dict:
    from sklearn.datasets import make_classification

    from civicml.learn._cv import make_splitter
    from civicml.learn._metrics import get_metric
    from civicml.learn._preprocess import FeatureRoles

    Xa, y = make_classification(150, 4, n_informative=3, n_redundant=0, random_state=seed)
    X = pd.DataFrame(Xa, columns=["a", "b", "c", "d"])
    return dict(
        X=X,
        y=y,
        task="binary",
        classes=np.array([0, 1]),
        splits=list(make_splitter("binary", 3, 0, grouped=False).split(X, y)),
        roles=FeatureRoles(numeric=["a", "b", "c", "d"]),
        metric=get_metric(None, "binary"),
    )


SEARCH = dict(families=["baseline", "linear", "knn"], max_trials=5, seed=3, window=2)


def _summary(records: list) -> list:
    return [
        (r.name, r.number, sorted(r.params.items()), r.status, r.cv.fold_metrics, r.cv.oof.tolist())
        for r in records
    ]


def _killed_after(n: int):
    """An emit handler that stops the search (as a kill would) at the n-th candidate."""
    seen = []

    def on_event(kind: str, **kw: Any) -> None:
        if kind == "candidate_start":
            seen.append(kw["name"])
            if len(seen) == n:
                raise KeyboardInterrupt

    return on_event


@pytest.fixture(scope="module")
def reference() -> list:
    return _summary(search_on_engine(**_problem(), **SEARCH, engine=LocalEngine()))


def test_resume_continues_without_repeating_finished_trials(tmp_path: Path, reference) -> None:
    ck = tmp_path / "ck"
    first = CountingEngine()
    with pytest.raises(KeyboardInterrupt):
        search_on_engine(**_problem(), **SEARCH, engine=first, checkpoint=ck, emit=_killed_after(3))
    # the baseline and trials 0 and 1 finished (the third was being reported when killed)
    assert sorted(p.name for p in ck.glob("trial-*.json")) == [
        "trial-0000.json",
        "trial-0001.json",
        "trial-0002.json",
    ]
    assert {p.suffix for p in ck.iterdir()} == {".json", ".npy"}  # no pickle anywhere
    again = CountingEngine()
    records = search_on_engine(
        **_problem(), **SEARCH, engine=again, checkpoint=CheckpointOptions(ck, resume=True)
    )
    assert _summary(records) == reference  # as if never interrupted
    # only trials 2, 3 and 4 were fitted, 3 folds each; the finished ones were read back
    assert sorted({n for _, n, _ in again.fits}) == [2, 3, 4] and len(again.fits) == 9
    assert [bool(r.cv.extra.get("resumed")) for r in records] == [True] * 3 + [False] * 3
    # a resumed search that had finished repeats nothing at all
    done = CountingEngine()
    final = search_on_engine(
        **_problem(), **SEARCH, engine=done, checkpoint=CheckpointOptions(ck, resume=True)
    )
    assert done.fits == [] and _summary(final) == reference


def test_without_resume_the_search_starts_afresh(tmp_path: Path, reference) -> None:
    ck = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        search_on_engine(**_problem(), **SEARCH, checkpoint=ck, emit=_killed_after(2))
    fresh = CountingEngine()
    records = search_on_engine(**_problem(), **SEARCH, engine=fresh, checkpoint=ck)
    assert len(fresh.fits) == 6 * 3 and _summary(records) == reference


def test_resume_refuses_other_data_or_settings(tmp_path: Path) -> None:
    ck = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        search_on_engine(**_problem(), **SEARCH, checkpoint=ck, emit=_killed_after(2))
    before = sorted(p.name for p in ck.iterdir())
    with pytest.raises(SpecError, match="other data") as exc:
        search_on_engine(
            **_problem(seed=9), **SEARCH, checkpoint=CheckpointOptions(ck, resume=True)
        )
    assert "\n" not in str(exc.value).strip()
    changed = {**SEARCH, "max_trials": 7}
    with pytest.raises(SpecError, match=r"other search settings \(max_trials\)"):
        search_on_engine(**_problem(), **changed, checkpoint=CheckpointOptions(ck, resume=True))
    # one value changed in place, same shape: still other data
    problem = _problem()
    problem["X"].loc[5, "a"] += 1e-9
    with pytest.raises(SpecError, match="other data"):
        search_on_engine(**problem, **SEARCH, checkpoint=CheckpointOptions(ck, resume=True))
    assert sorted(p.name for p in ck.iterdir()) == before  # refused: nothing touched


def test_a_half_written_trial_is_run_again(tmp_path: Path, reference) -> None:
    ck = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        search_on_engine(**_problem(), **SEARCH, checkpoint=ck, emit=_killed_after(3))
    (ck / "trial-0002.json").unlink()  # killed after its arrays, before its JSON
    again = CountingEngine()
    records = search_on_engine(
        **_problem(), **SEARCH, engine=again, checkpoint=CheckpointOptions(ck, resume=True)
    )
    assert sorted({n for _, n, _ in again.fits}) == [1, 2, 3, 4]
    assert _summary(records) == reference


def test_a_tampered_trial_is_not_taken_for_another(tmp_path: Path, reference) -> None:
    ck = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        search_on_engine(**_problem(), **SEARCH, checkpoint=ck, emit=_killed_after(3))
    path = ck / "trial-0001.json"
    entry = json.loads(path.read_text())
    entry["params"] = {**entry["params"], "bogus": 1}
    path.write_text(json.dumps(entry))
    again = CountingEngine()
    records = search_on_engine(
        **_problem(), **SEARCH, engine=again, checkpoint=CheckpointOptions(ck, resume=True)
    )
    assert 0 in {n for _, n, _ in again.fits}  # its parameters differ: it is fitted again
    assert _summary(records) == reference


def test_pickled_arrays_are_refused(tmp_path: Path) -> None:
    ck = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        search_on_engine(**_problem(), **SEARCH, checkpoint=ck, emit=_killed_after(2))
    npy = next(ck.glob("trial-0000-fold-0.npy"))
    np.save(npy, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SpecError, match="trial-0000.json is damaged.*allow_pickle"):
        search_on_engine(**_problem(), **SEARCH, checkpoint=CheckpointOptions(ck, resume=True))


def test_a_folder_that_is_not_a_checkpoint_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(SpecError, match="not a civicml search checkpoint"):
        SearchCheckpoint.open(tmp_path, {"data_sha256": "x", "settings": {}})
    assert (tmp_path / "mine.txt").read_text() == "keep me"
