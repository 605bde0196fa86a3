"""Start a small real Dask cluster (``dask scheduler`` + ``dask worker`` processes) on this
machine: for tests, benchmarks and trying the Dask engine on a laptop.

Examples
--------
>>> procs = DaskProcesses(n_workers=2)   # nothing starts until start()
>>> procs.address is None
True
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["DaskProcesses"]


class DaskProcesses:
    """A ``dask scheduler`` and ``n_workers`` ``dask worker`` processes on 127.0.0.1.

    Ports are chosen by the OS (port 0) and read back from the scheduler file. Workers run
    without a nanny, so a killed worker stays dead (as when a node is lost) until
    :meth:`restart_worker`. :meth:`stop` ends every process this object started.

    Parameters
    ----------
    n_workers : int, default 2
    nthreads : int, default 1
        Threads per worker.
    memory_limit : str, default "1GB"
        Per worker.
    """

    def __init__(self, n_workers: int = 2, nthreads: int = 1, memory_limit: str = "1GB") -> None:
        self.n_workers = n_workers
        self.nthreads = nthreads
        self.memory_limit = memory_limit
        self.address: str | None = None
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self._dir: str | None = None

    def _cmd(self, *args: str) -> list[str]:
        exe = Path(sys.executable).with_name("dask")
        if exe.exists():
            return [str(exe), *args]
        return [sys.executable, "-m", "dask", *args]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            OMP_NUM_THREADS="1",
            OPENBLAS_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            DASK_DISTRIBUTED__WORKER__DAEMON="False",
            DASK_DISTRIBUTED__LOGGING__DISTRIBUTED="error",
        )
        return env

    def start(self, timeout: float = 60.0) -> DaskProcesses:
        """Start the scheduler and the workers; wait until every worker has joined."""
        self._dir = tempfile.mkdtemp(prefix="civicml-dask-")
        sched_file = Path(self._dir) / "scheduler.json"
        self.scheduler = subprocess.Popen(
            self._cmd(
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                ":0",
                "--scheduler-file",
                str(sched_file),
                "--no-show",
            ),
            env=self._env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while not sched_file.exists():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dask scheduler did not start")
            time.sleep(0.1)
        while self.address is None:
            try:
                self.address = str(json.loads(sched_file.read_text())["address"])
            except (ValueError, KeyError):
                time.sleep(0.05)
        for i in range(self.n_workers):
            self.workers.append(self._worker(i))
        self.wait_for_workers(self.n_workers, timeout=max(deadline - time.monotonic(), 5.0))
        return self

    def _worker(self, i: int) -> subprocess.Popen[bytes]:
        assert self.address is not None and self._dir is not None
        return subprocess.Popen(
            self._cmd(
                "worker",
                self.address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                str(self.nthreads),
                "--memory-limit",
                self.memory_limit,
                "--no-nanny",
                "--name",
                f"w{i}-{time.time_ns()}",
                "--dashboard-address",
                ":0",
                "--local-directory",
                self._dir,
            ),
            env=self._env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def wait_for_workers(self, n: int, timeout: float = 60.0) -> None:
        """Block until ``n`` workers are connected to the scheduler."""
        from distributed import Client

        with Client(self.address, timeout=timeout, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=timeout)

    def kill_worker(self, i: int = 0) -> None:
        """SIGKILL worker ``i`` (a lost node: no goodbye to the scheduler)."""
        self.workers[i].send_signal(signal.SIGKILL)
        self.workers[i].wait(10)

    def restart_worker(self, i: int = 0) -> None:
        """Start worker ``i`` again after :meth:`kill_worker`; wait until all have joined."""
        if self.workers[i].poll() is None:
            return
        self.workers[i] = self._worker(i)
        self.wait_for_workers(len(self.workers))

    def stop(self) -> None:
        """Terminate every process started here (the workers, and once they are gone the
        scheduler: a worker whose scheduler went first waits for it for seconds), then remove
        the temp folder."""
        for group in (self.workers, [self.scheduler] if self.scheduler else []):
            for proc in group:
                if proc.poll() is None:
                    proc.terminate()
            for proc in group:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self.workers, self.scheduler = [], None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> DaskProcesses:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child is killed when the process that started it dies, however it dies (a
    test run or benchmark killed by a timeout leaves no scheduler or worker behind)."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
