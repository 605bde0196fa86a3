"""Losing a Dask worker mid-search: survived while one worker remains, reported to the user,
and the result is the one an undisturbed search gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civicml.engines import LocalEngine, open_engine
from civicml.learn import search_on_engine


def _problem() -> dict:
    from sklearn.datasets import make_classification

    from civicml.learn._cv import make_splitter
    from civicml.learn._metrics import get_metric
    from civicml.learn._preprocess import FeatureRoles

    Xa, y = make_classification(200, 4, n_informative=3, n_redundant=0, random_state=3)
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


def _summary(records: list) -> list:
    return [(r.name, r.number, sorted(r.params.items()), r.cv.fold_metrics) for r in records]


SEARCH = dict(families=["baseline", "linear"], max_trials=3, seed=4, window=2)


def test_losing_the_worker_that_holds_the_data_is_survived_and_reported() -> None:
    pytest.importorskip("distributed")
    from civicml.engines import DaskProcesses

    reference = _summary(search_on_engine(**_problem(), **SEARCH, engine=LocalEngine()))
    # one worker when the data is scattered, so it alone holds it; a second joins later and
    # never received it. The first is killed (SIGKILL, a lost node) once the baseline is back
    # and the first trials' folds are on the cluster, some perhaps finished on it.
    with DaskProcesses(n_workers=1) as procs:
        warnings: list[dict] = []

        def on_event(kind: str, **kw: object) -> None:
            if kind == "warning":
                warnings.append(kw)
            if kind == "candidate_start" and kw["name"] == "baseline":
                procs.workers.append(procs._worker(1))
                procs.wait_for_workers(2)
                procs.kill_worker(0)

        with open_engine(procs.address) as engine:
            records = search_on_engine(**_problem(), **SEARCH, engine=engine, emit=on_event)
        assert procs.workers[0].poll() is not None  # it really died
        assert procs.workers[1].poll() is None
    assert _summary(records) == reference
    assert len(warnings) == 1, warnings
    lost = warnings[0]
    assert str(lost["worker"]).startswith("tcp://127.0.0.1:")
    assert lost["message"] == f"worker {lost['worker']} lost; {lost['tasks_rerun']} tasks rerun"
    assert int(lost["tasks_rerun"]) >= 1  # the trials in flight needed the lost data


def test_a_local_engine_reports_no_losses() -> None:
    with LocalEngine() as engine:
        ref = engine.scatter([1, 2])
        assert engine.worker_losses() == []
        engine.forget(ref)  # nothing kept: harmless
        assert list(engine.map(len, [ref])) == [2]


class _LosingEngine(LocalEngine):
    """A local engine that reports one lost worker (as the Dask engine does) once."""

    def __init__(self) -> None:
        super().__init__()
        self.uri = "local:lossy"
        self._pending = [{"worker": "tcp://10.0.0.7:40123", "tasks_rerun": 3, "data_lost": 1}]

    def worker_losses(self) -> list[dict]:
        losses, self._pending = self._pending, []
        return losses


def test_a_lost_worker_is_printed_and_kept_in_the_result() -> None:
    from civicml.learn import FeatureRoles, train

    p = _problem()
    events: list[tuple[str, dict]] = []
    result = train(
        p["X"],
        pd.Series(p["y"], name="y"),
        roles=FeatureRoles(numeric=["a", "b", "c", "d"]),
        max_trials=1,
        families=["linear"],
        cv_folds=3,
        ensemble=False,
        engine=_LosingEngine(),
        on_event=lambda kind, **kw: events.append((kind, kw)),
    )
    warned = [kw["message"] for kind, kw in events if kind == "warning"]
    assert warned == ["worker tcp://10.0.0.7:40123 lost; 3 tasks rerun"]
    assert result.extra["worker_losses"] == [{"worker": "tcp://10.0.0.7:40123", "tasks_rerun": 3}]
    assert result.leaderboard.extra["worker_losses"] == result.extra["worker_losses"]
