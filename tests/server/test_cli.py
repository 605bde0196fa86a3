"""``civicml server``: the break-glass admin token, refusals, and the real server on loopback."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from civicml.cli import app
from live_server import free_port

runner = CliRunner()


def test_admin_token_prints_the_token_once_and_audits_the_os_login(tmp_path: Path) -> None:
    from civicml.registry import open_registry, os_login

    db = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["server", "admin-token", "--name", "first", "--owner", "ada@example.gov.uk"]
    args += ["--registry", db, "--artifacts", str(tmp_path / "a"), "--project-dir", str(tmp_path)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["token"].startswith("cml_") and out["scopes"] == ["admin"]
    assert out["owner"] == "ada@example.gov.uk" and out["created_by"] == os_login()
    with open_registry(db, artifacts=str(tmp_path / "a"), project_dir=tmp_path) as reg:
        assert reg.verify_token(out["token"]).acts_as == "ada@example.gov.uk"  # type: ignore[union-attr]
        event = reg.audit_events(subject="token:first")[0]
    assert event.details["identity"] == {"verified": False, "via": "os-login"}

    again = runner.invoke(app, [*args[:3], "second", *args[4:]])
    assert again.exit_code == 0 and "shown this once only" in again.stdout
    assert "not verified" in again.stdout


def test_server_refuses_an_http_registry(tmp_path: Path) -> None:
    result = runner.invoke(app, ["server", "--registry", "https://models.example.gov.uk"])
    assert result.exit_code == 2
    assert "needs the registry's database URL" in result.output


def test_the_server_answers_on_loopback(tmp_path: Path) -> None:
    import uvicorn

    from civicml.server import ServerOptions, create_server_app, issue_admin_token

    opts = ServerOptions(
        registry=f"sqlite:///{tmp_path / 'r.db'}",
        artifacts=str(tmp_path / "a"),
        project_dir=tmp_path,
        port=free_port(),
    )
    token, _ = issue_admin_token(opts, "root", "root@example.gov.uk")
    server = uvicorn.Server(
        uvicorn.Config(create_server_app(opts), host="127.0.0.1", port=opts.port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{opts.port}/api/v1"
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        me = httpx.get(f"{base}/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["name"] == "root@example.gov.uk" and me.json()["roles"] == ["admin"]
        assert httpx.get(f"{base}/me").status_code == 401
        assert "civicml_requests_total" not in httpx.get(f"{base}/health").text
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    assert not thread.is_alive()
