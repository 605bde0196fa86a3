"""A killed run becomes ``failed``: the heartbeat, the pid check, and recording it at the next
write."""

from __future__ import annotations

import datetime as _dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from civicml.storage import runs as runs_table
from civicml.tracking import Run, open_runs, track_run

_CHILD = """
import sys, time
from civicml.tracking import _liveness, open_runs, track_run
_liveness.HEARTBEAT_SECONDS = 0.1
store = open_runs(sys.argv[1])
with track_run(project="demo", kind="run", spec={}, store=store) as t:
    print(t.id, flush=True)
    time.sleep(120)
"""


def _stamp(seconds_ago: float) -> str:
    when = _dt.datetime.now(_dt.UTC) - _dt.timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _raw_status(db: Path, run_id: str) -> str:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return str(
                conn.execute(
                    sa.select(runs_table.c.status).where(runs_table.c.id == run_id)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_killed_run_reads_failed_and_is_recorded_failed(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    uri = f"sqlite:///{db}"
    open_runs(uri).close()  # migrate before the child starts
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, uri],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        assert len(run_id) == 32, run_id
        with open_runs(uri) as store:
            first = store.get_run(run_id)
            assert first.status == "running" and first.pid == child.pid
            deadline = time.monotonic() + 20
            while store.get_run(run_id).heartbeat_at == first.heartbeat_at:
                assert time.monotonic() < deadline, "the heartbeat never advanced"
                time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=20)
        if child.stdout is not None:
            child.stdout.close()
    with open_runs(uri) as store:
        shown = store.get_run(run_id)
        assert shown.status == "failed"
        assert f"pid {child.pid}" in (shown.error or "")
        assert [r.id for r in store.list_runs(status="failed")] == [run_id]
        assert store.list_runs(status="running") == []
        assert _raw_status(db, run_id) == "running"  # reading writes nothing
        with track_run(project="demo", kind="run", spec={}, store=store):
            pass  # the next write records the dead run
    assert _raw_status(db, run_id) == "failed"


def _remote_run(run_id: str, heartbeat_ago: float) -> Run:
    return Run(
        id=run_id,
        project="demo",
        kind="train",
        status="running",
        started_at=_stamp(3600),
        heartbeat_at=_stamp(heartbeat_ago),
        host="another-machine.invalid",
        pid=1,
    )


def test_a_stale_heartbeat_from_another_host_reads_failed(tmp_path: Path) -> None:
    with open_runs(f"sqlite:///{tmp_path / 'r.db'}") as store:
        store.create_run(_remote_run("aa" * 16, heartbeat_ago=10))
        store.create_run(_remote_run("bb" * 16, heartbeat_ago=600))
        assert store.get_run("aaaa").status == "running"  # a recent heartbeat: alive
        stale = store.get_run("bbbb")
        assert stale.status == "failed" and "no heartbeat since" in (stale.error or "")
        assert [r.id for r in store.list_runs(status="running")] == ["aa" * 16]
        assert [r.id for r in store.list_runs(status="failed", limit=1)] == ["bb" * 16]
        assert store.record_dead_runs() == ["bb" * 16]  # type: ignore[attr-defined]
        assert store.record_dead_runs() == []  # type: ignore[attr-defined]
        assert store.get_run("bbbb").finished_at == stale.heartbeat_at


def test_the_heartbeat_thread_beats_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml.tracking import _liveness

    monkeypatch.setattr(_liveness, "HEARTBEAT_SECONDS", 0.05)
    with open_runs(f"sqlite:///{tmp_path / 'r.db'}") as store:
        with track_run(project="demo", kind="run", spec={}, store=store) as tracker:
            first = store.get_run(tracker.id).heartbeat_at
            time.sleep(0.4)
            assert store.get_run(tracker.id).heartbeat_at != first
            beater = tracker._beater
            assert beater is not None and beater.daemon
        assert not beater.is_alive()
        done = store.get_run(tracker.id)
        assert done.status == "finished" and done.host and done.pid == os.getpid()


@pytest.mark.parametrize("status", ["finished", "failed"])
def test_ended_runs_are_never_touched(tmp_path: Path, status: str) -> None:
    with open_runs(f"sqlite:///{tmp_path / 'r.db'}") as store:
        run = _remote_run("cc" * 16, heartbeat_ago=6000)
        run.status, run.error = status, None
        store.create_run(run)
        assert store.get_run("cccc").status == status and store.get_run("cccc").error is None
