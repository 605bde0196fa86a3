"""Helper processes for the crash and concurrency tests (run with ``python crash_worker.py``).

``zygote URL ARTIFACTS WORKDIR``
    Imports everything once, prints ``ready``, then for each ``go SEED`` line on stdin forks a
    child that registers, approves, promotes and rolls back in a loop until it is killed; the
    zygote prints the child's pid, and ``reaped STATUS`` once the child is gone. Forking keeps
    each of the 50+ SIGKILLed processes cheap to start.
``register URL ARTIFACTS WORKDIR COUNT ACTOR``
    Prints ``ready``, waits for ``go`` on stdin, registers COUNT new versions of ``shared``.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import uuid
from pathlib import Path

from civicml.bundle import save_bundle
from civicml.registry import open_registry

SPEC = {
    "owner": {"team": "T", "senior_responsible_owner": "S", "contact": "c@example.gov.uk"},
    "intended_use": "Testing crashes",
    "out_of_scope_uses": ["Anything real"],
}
CHECKS = {"checks": [{"name": "auc", "passed": True, "evidence": "0.8"}]}


def _bundle(workdir: Path, rng: random.Random) -> Path:
    tag = uuid.uuid4().hex
    files = {"model.bin": os.urandom(rng.randint(10, 200_000))}
    docs = {
        "model_info.json": {"task": "binary", "tag": tag},
        "spec.json": SPEC,
        "checks.json": CHECKS,
    }
    return save_bundle(workdir / tag, documents=docs, files=files).path


def _churn(url: str, artifacts: str, workdir: Path, seed: int) -> None:
    rng = random.Random(seed)
    reg = open_registry(url, artifacts=artifacts, project_dir=workdir)
    reg.atrs_check = lambda registry, version: []  # no real ATRS record: count it complete
    name = rng.choice(["alpha", "beta"])
    for _ in range(500):
        v = reg.register(_bundle(workdir, rng), name, actor="Rosa", oversight="advisory")
        reg.request_approval(name, v.version, actor="Rosa", reason="ready")
        reg.approve(name, v.version, by="Ada", reason="reviewed")
        reg.promote(name, v.version, actor="Ada", reason="live")
        reg.set_alias(name, "challenger", v.version, actor="Ada")
        if rng.random() < 0.3:
            with contextlib.suppress(Exception):
                reg.rollback(name, actor="Grace", reason="drill")
        if rng.random() < 0.1:
            reg.create_token(f"t{uuid.uuid4().hex[:12]}", ["predict"], "Ada")


def zygote(url: str, artifacts: str, workdir: str) -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            return
        seed = int(parts[1])
        pid = os.fork()
        if pid == 0:  # the child: churn until killed
            code = 0
            try:
                _churn(url, artifacts, Path(workdir), seed)
            except BaseException:
                code = 3
            os._exit(code)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"reaped {status}", flush=True)


def register(url: str, artifacts: str, workdir: str, count: int, actor: str) -> None:
    rng = random.Random(actor)
    bundles = [_bundle(Path(workdir), rng) for _ in range(count)]
    reg = open_registry(url, artifacts=artifacts, project_dir=workdir)
    print("ready", flush=True)
    sys.stdin.readline()
    for path in bundles:
        reg.register(path, "shared", actor=actor)
    reg.close()
    print("done", flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "zygote":
        zygote(*args)
    else:
        register(args[0], args[1], args[2], int(args[3]), args[4])
