"""The shared engine suite: every backend (local, Dask) passes the same tests."""

from __future__ import annotations

import math
import operator
import time

import numpy as np
import pytest

from civicml._errors import SpecError
from civicml.engines import DaskEngine, Engine, LocalEngine, open_engine


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
