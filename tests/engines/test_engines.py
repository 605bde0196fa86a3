"""The shared engine suite: every backend (local, Dask) passes the same tests."""

from __future__ import annotations

import math
import operator
import threading
import time

import numpy as np
import pandas as pd
import pytest

from civicml._errors import SpecError
from civicml.engines import DaskEngine, Engine, LocalEngine, open_engine, search_on_engine


# Tasks are library functions: Dask workers cannot import this test module.
def test_map_is_ordered_and_shares_scattered_data(engine_spec: str) -> None:
    with open_engine(engine_spec) as engine:
        assert isinstance(engine, Engine)
        assert list(engine.map(abs, [-3, 1, -2, 5])) == [3, 1, 2, 5]
        ref = engine.scatter(np.arange(10))
        sums = [int(a.sum()) for a in engine.map(np.add, [0, 1, 2], ref)]
        assert sums == [45, 55, 65]
        assert engine.submit(pow, 2, 5).result() == 32
        # each scatter is its own object, even a dict with the same keys as an earlier one
        first, second = engine.scatter({"X": 1}), engine.scatter({"X": 2})
        assert engine.submit(operator.getitem, second, "X").result() == 2
        assert engine.submit(operator.getitem, first, "X").result() == 1
        assert engine.parallelism >= 1


def test_errors_reach_the_caller(engine_spec: str) -> None:
    options = {"retries": 0} if "dask" in engine_spec else {}
    with open_engine(engine_spec, **options) as e, pytest.raises(ValueError, match="domain"):
        list(e.map(math.sqrt, [1, 4, -1]))
    e.close()  # closing twice is harmless


def test_open_engine_specs() -> None:
    assert isinstance(open_engine(None), LocalEngine)
    assert open_engine("local:2").parallelism == 2
    assert isinstance(open_engine("dask://10.0.0.1:8786"), DaskEngine)  # no I/O yet
    with pytest.raises(SpecError, match="dask://HOST:PORT"):
        open_engine("ray://x")
    with pytest.raises(SpecError):
        open_engine("local:two")


def test_local_threads_run_in_parallel() -> None:
    with LocalEngine(max_workers=2) as engine:
        t0 = time.perf_counter()
        list(engine.map(time.sleep, [0.3, 0.3]))
        assert time.perf_counter() - t0 < 0.55


# -- the search ---------------------------------------------------------------------------------


def _problem(n: int = 300):
    from sklearn.datasets import make_classification

    from civicml.learn._cv import make_splitter
    from civicml.learn._metrics import get_metric
    from civicml.learn._preprocess import FeatureRoles

    Xa, y = make_classification(n, 6, n_informative=4, random_state=1)
    X = pd.DataFrame(Xa, columns=[f"x{i}" for i in range(6)])
    X["band"] = np.where(Xa[:, 0] > 0, "high", "low")
    splits = list(make_splitter("binary", 3, 0, grouped=False).split(X, y))
    return dict(
        X=X,
        y=y,
        task="binary",
        classes=np.array([0, 1]),
        splits=splits,
        roles=FeatureRoles(numeric=[f"x{i}" for i in range(6)], categorical=["band"]),
        metric=get_metric(None, "binary"),
    )


def _summary(records) -> list:
    return [
        (
            r.name,
            r.number,
            sorted(r.params.items()),
            r.status,
            r.cv.fold_metrics,
            np.round(r.cv.oof, 12).tolist(),
        )
        for r in records
    ]


FAMILIES = ["baseline", "linear", "lightgbm"]


@pytest.fixture(scope="module")
def local_reference() -> list:
    return _summary(
        search_on_engine(**_problem(), families=FAMILIES, max_trials=6, seed=7, engine="local")
    )


def test_search_gives_identical_results_on_every_engine(
    engine_spec: str, local_reference: list
) -> None:
    events: list[str] = []
    with open_engine(engine_spec) as engine:
        records = search_on_engine(
            **_problem(),
            families=FAMILIES,
            max_trials=6,
            seed=7,
            engine=engine,
            emit=lambda kind, **kw: events.append(kind),
        )
        # a second search on the same engine (same client, same data) gives the same result
        again = search_on_engine(
            **_problem(), families=FAMILIES, max_trials=6, seed=7, engine=engine, window=2
        )
    assert len(records) == 7 and records[0].name == "baseline"
    assert all(r.status == "ok" for r in records)
    assert {r.family for r in records[1:]} <= {"linear", "lightgbm"}
    assert _summary(records) == local_reference
    assert events.count("fold_done") == 7 * 3
    assert len(again) == 7 and all(r.status == "ok" for r in again)


def test_a_lost_worker_is_retried_not_fatal(local_reference: list) -> None:
    pytest.importorskip("distributed")
    from civicml.engines import DaskProcesses

    with DaskProcesses(n_workers=2) as procs:
        done: dict[str, list] = {}
        started = threading.Event()

        def run() -> None:
            with open_engine(procs.address) as engine:
                done["records"] = search_on_engine(
                    **_problem(),
                    families=FAMILIES,
                    max_trials=6,
                    seed=7,
                    engine=engine,
                    emit=lambda kind, **kw: kind == "fold_done" and started.set(),
                )

        thread = threading.Thread(target=run)
        thread.start()
        assert started.wait(60)  # the baseline is done; the first trials are running
        time.sleep(0.3)
        procs.kill_worker(0)
        thread.join(120)
        assert not thread.is_alive()
        assert procs.workers[0].poll() is not None  # it really died
    assert _summary(done["records"]) == local_reference


def test_cluster_processes_die_with_the_process_that_started_them(tmp_path) -> None:
    import os
    import subprocess
    import sys

    if not os.environ.get("CIVICML_REQUIRE_DASK"):
        pytest.importorskip("distributed")
    script = (
        "import os, signal\n"
        "from civicml.engines import DaskProcesses\n"
        "p = DaskProcesses(n_workers=1).start()\n"
        "print(p.scheduler.pid, p.workers[0].pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr[-500:]
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.1)
    for p in alive:  # never leave them running, even when the test fails
        os.kill(p, 9)
    assert not alive, "scheduler or worker outlived the killed parent"


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        return "Z" not in open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0]
    except OSError:
        return False
