"""``civicml deploy generate``: the model must exist, and the generated container command runs
with a read-only root filesystem where only the manifest's volumes are writable.

Docker is not needed: the container is imitated in a private mount namespace (``unshare``): the
root filesystem is remounted read-only, the manifest's volumes are bind-mounted writable at their
mount paths, the Dockerfile's ``ENV`` and the manifest's ``env`` are applied, and the manifest's
``args`` run from its ``WORKDIR``. The registry database and artifact store stay outside the
"container" (under ``/dev/shm``), as a PostgreSQL server and a bucket would.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from civicml.cli._deploy import deploy_app
from live_server import free_port
from serve._support import make_bundle

runner = CliRunner()
REGISTRANT, APPROVER = "Ada Analyst", "Grace Reviewer"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(deploy_app, name="deploy")
    return app


@pytest.fixture(scope="module")
def registry_dir() -> Iterator[Path]:
    """A registry (SQLite + artifact folder) with claims/1 approved, on ``staging`` (the
    ``production`` alias also needs the full governance record, not what is tested here)."""
    from civicml.registry import open_registry

    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else None, prefix="civicml-deploy-"))
    bundle = make_bundle(base / "bundle")
    env = {"CIVICML_REGISTRY": None, "CIVICML_ARTIFACTS": None}
    saved = {k: os.environ.pop(k, None) for k in env}
    try:
        with open_registry(
            f"sqlite:///{base / 'registry.db'}", artifacts=str(base / "artifacts"), project_dir=base
        ) as reg:
            reg.register(bundle.path, "claims", actor=REGISTRANT, oversight="advisory")
            reg.request_approval(
                "claims", 1, actor=REGISTRANT, reason="Ready", oversight="advisory"
            )
            reg.approve("claims", 1, by=APPROVER, reason="Read the assessment report")
            reg.set_alias("claims", "staging", 1, actor=APPROVER)
        yield base
    finally:
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v
        shutil.rmtree(base, ignore_errors=True)


def _registry_args(base: Path) -> list[str]:
    return ["--registry", f"sqlite:///{base / 'registry.db'}"]


def test_a_model_that_does_not_exist_writes_nothing(
    registry_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CIVICML_REGISTRY", raising=False)
    monkeypatch.setenv("CIVICML_ARTIFACTS", str(registry_dir / "artifacts"))
    out = tmp_path / "deploy"
    for ref, words in (
        ("nosuch@staging", "There is no model named 'nosuch'"),
        ("claims@production", "has no alias 'production'"),
    ):
        res = runner.invoke(
            _app(), ["deploy", "generate", ref, "-o", str(out), *_registry_args(registry_dir)]
        )
        assert res.exit_code == 2, res.output
        assert len(res.output.strip().splitlines()) == 1 and words in res.output, res.output
        assert not out.exists()
    # no registry at all in the project folder: said, and none is created to look in
    res = runner.invoke(
        _app(),
        ["deploy", "generate", "claims@staging", "-o", str(out), "--project-dir", str(tmp_path)],
    )
    assert res.exit_code == 2 and "There is no registry in" in res.output, res.output
    assert not (tmp_path / ".civicml").exists() and not out.exists()


def _dockerfile_env(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(w.split("=", 1) for w in shlex.split(line[4:])))
    return env


def _workdir(text: str) -> str:
    return [ln.split(None, 1)[1] for ln in text.splitlines() if ln.startswith("WORKDIR ")][-1]


def _sandbox_works() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            "mount -o remount,bind,ro / && ! touch /probe-ro 2>/dev/null",
        ],
        capture_output=True,
        timeout=20,
    )
    return probe.returncode == 0


def _container(
    container: dict[str, Any], volumes: dict[str, Path], docker: str, extra_env: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The shell command imitating the container (read-only root, volumes writable)."""
    binds = []
    sources = [str(p) for p in volumes.values()]
    # a mount over a folder that holds volume sources (/tmp here) goes last, or it hides them
    mounts = sorted(
        container["volumeMounts"],
        key=lambda m: any(src.startswith(m["mountPath"].rstrip("/") + "/") for src in sources),
    )
    # the checkout (its .venv and its source) may itself lie under a volume's mount path (a CI
    # clone in /tmp): it is bound into that volume first, so the volume does not hide it
    checkout = Path(__file__).resolve().parents[2]
    for m in mounts:
        target = m["mountPath"]
        source = volumes[m["name"]]
        if checkout.is_relative_to(target):
            inside = Path(source) / checkout.relative_to(target)
            inside.mkdir(parents=True, exist_ok=True)
            binds.append(f"mount --bind {checkout} {inside}")
        # a mount point that does not exist in this root is made on a tmpfs over its parent
        binds.append(
            f"if [ ! -d {target} ]; then mount -t tmpfs tmpfs {Path(target).parent} && "
            f"mkdir -p {target} && mount -o remount,ro {Path(target).parent}; fi; "
            f"mount --rbind {source} {target}"
        )
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")},
        **_dockerfile_env(docker),
        **{e["name"]: e["value"] for e in container.get("env", [])},
        **extra_env,
    }
    cmd = [sys.executable, "-m", "civicml", *container["args"]]
    script = " && ".join(
        [
            "set -e",
            *binds,
            "mount -o remount,bind,ro /",
            f"cd {_workdir(docker)}",
            "exec " + shlex.join(cmd),
        ]
    )
    return ["unshare", "-rm", "sh", "-c", script], env


def _ready(port: int, proc: subprocess.Popen[bytes], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


@pytest.mark.skipif(not _sandbox_works(), reason="needs Linux mount namespaces (unshare -rm)")
def test_the_generated_command_serves_with_a_read_only_root(
    registry_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CIVICML_REGISTRY", raising=False)
    monkeypatch.setenv("CIVICML_ARTIFACTS", str(registry_dir / "artifacts"))
    port = free_port()
    out = tmp_path / "deploy"
    res = runner.invoke(
        _app(),
        [
            "deploy",
            "generate",
            "claims@staging",
            "-o",
            str(out),
            "--port",
            str(port),
            *_registry_args(registry_dir),
            "--project-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "claims/1" in res.output and "civicml[scale]" in res.output
    assert "Validated" in res.output
    docker = (out / "Dockerfile").read_text()
    pod = yaml.safe_load((out / "k8s" / "deployment.yaml").read_text())["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {v["name"] for v in pod["volumes"]} == {m["name"] for m in container["volumeMounts"]}
    volumes = {name: tmp_path / f"volume-{name}" for name in ("tmp", "state")}
    for folder in volumes.values():
        folder.mkdir()
    secret = {  # what the Secret holds: the registry and artifact store outside the container
        "CIVICML_REGISTRY": f"sqlite:///{registry_dir / 'registry.db'}",
        "CIVICML_ARTIFACTS": str(registry_dir / "artifacts"),
        "CIVICML_SERVE_TOKEN_HASH": "",
    }
    cmd, env = _container(container, volumes, docker, secret)
    # the attack, at the same time: the container without its state volume (the manifests as
    # they were) cannot start, as serve cannot create .civicml/ on the read-only root
    bare = {
        **container,
        "volumeMounts": [m for m in container["volumeMounts"] if m["name"] == "tmp"],
    }
    bare_cmd, bare_env = _container(
        bare, volumes, docker.replace("/var/lib/civicml", "/opt"), secret
    )
    attack = subprocess.Popen(
        bare_cmd, env=bare_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ready = _ready(port, proc)
        if not ready:
            proc.kill()
        output = proc.communicate(timeout=30)[0].decode() if not ready else ""
        assert ready, output
        refused = attack.communicate(timeout=120)[0].decode()
    finally:
        for p in (proc, attack):
            if p.poll() is None:
                p.terminate()
                p.communicate(timeout=30)
    assert attack.returncode != 0 and "Read-only file system" in refused, refused
    state = volumes["state"] / ".civicml"
    assert (state / "decisions" / "claims").is_dir(), sorted(volumes["state"].rglob("*"))
    assert (state / "cache").is_dir()  # the verified bundle was fetched into the volume
    # nothing of the Secret was written into the generated files
    assert "registry.db" not in "".join(p.read_text() for p in (out / "k8s").iterdir())
