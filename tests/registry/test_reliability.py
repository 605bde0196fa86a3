"""Crash and concurrency: SIGKILL at random points, and two processes registering at once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from civicml.registry import open_registry

WORKER = str(Path(__file__).with_name("crash_worker.py"))
KILLS = 30


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    return env


def _assert_consistent(url: str, artifacts: str, project: Path, checked: set[str]) -> int:
    reg = open_registry(url, artifacts=artifacts, project_dir=project)
    try:
        audit = reg.verify_audit()
        assert audit.ok, audit
        registered = {e.subject for e in reg.audit_events() if e.action == "register"}
        total = 0
        for model in reg.list_models():
            versions = reg.list_versions(model.name, limit=10_000)
            numbers = sorted(v.version for v in versions)
            assert numbers == list(range(1, model.latest_version + 1))
            total += len(versions)
            for v in versions:
                assert v.ref in registered  # no version without its audit event
                if v.digest not in checked:  # content-addressed blobs never change once whole
                    reg.artifacts.check(v.digest)
                    checked.add(v.digest)
            for alias, number in model.aliases.items():
                assert 1 <= number <= model.latest_version
                if alias == "production":
                    assert reg.get_version(model.name, number).status == "approved"
        assert len(registered) == total  # no audit event for an invisible version
        return total
    finally:
        reg.close()


@pytest.mark.slow
def test_sigkill_at_random_points_leaves_registry_consistent(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    artifacts = str(tmp_path / "artifacts")
    proc = subprocess.Popen(
        [sys.executable, WORKER, "zygote", url, artifacts, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    rng = random.Random(20240601)
    checked: set[str] = set()
    killed = 0
    try:
        assert proc.stdout.readline().strip() == "ready"
        totals = []
        for round_ in range(KILLS):
            proc.stdin.write(f"go {round_}\n")
            proc.stdin.flush()
            child = int(proc.stdout.readline())
            time.sleep(rng.uniform(0.03, 0.35))
            os.kill(child, signal.SIGKILL)
            reaped = proc.stdout.readline().split()
            assert reaped[0] == "reaped"
            status = int(reaped[1])
            # killed by our signal (not crashed or finished on its own)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
            killed += 1
            totals.append(_assert_consistent(url, artifacts, tmp_path, checked))
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert killed >= KILLS
    assert totals[-1] >= 15, "the workers hardly got to run before being killed"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_processes_register_without_losing_versions(kind, tmp_path, request, monkeypatch):
    # one registry, one audit key: every process MACs the chain with it (a SQLite file's key
    # sits beside it; a shared PostgreSQL database needs it named)
    monkeypatch.setenv("CIVICML_AUDIT_KEY_FILE", str(tmp_path / "shared-audit.key"))
    if kind == "postgres":
        url = request.getfixturevalue("pg_schema_url")
    else:
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    artifacts = str(tmp_path / "artifacts")
    open_registry(url, artifacts=artifacts, project_dir=tmp_path).close()  # migrate once
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                WORKER,
                "register",
                url,
                artifacts,
                str(tmp_path / actor),
                "20",
                actor,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for actor in ("Rosa", "Ada")
    ]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            assert p.wait(timeout=120) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    reg = open_registry(url, artifacts=artifacts, project_dir=tmp_path)
    try:
        versions = reg.list_versions("shared", limit=100)
        assert sorted(v.version for v in versions) == list(range(1, 41))
        assert sorted(v.created_by for v in versions).count("Rosa") == 20
        assert len({v.digest for v in versions}) == 40
        events = [e for e in reg.audit_events() if e.action == "register"]
        assert len(events) == 40 and reg.verify_audit().ok
    finally:
        reg.close()
