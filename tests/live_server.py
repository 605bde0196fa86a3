"""Live servers for the tests, over real HTTP on 127.0.0.1.

:func:`serve` runs any ASGI app under uvicorn in a thread on 127.0.0.1 and yields its base URL
(on a free port unless one is given, as when a redirect URL must be known before the app is
built). :func:`civicml_server` starts a ``civicml server`` that way, in server mode over its own
SQLite registry, with a bootstrap admin token from the server's break-glass path
(:func:`civicml.server.issue_admin_token`), and yields a :class:`Served`: the URL, that token,
and helpers to act over HTTP as people holding tokens the admin issues.
:func:`training_project` writes the small project a client trains while its registry is a
server.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from civicml.bundle import KeyFiles
    from civicml.registry import RemoteRegistry

HOST = "127.0.0.1"
#: What the tests' own environment could point a client or the server at instead.
CLIENT_ENV = ("CIVICML_DEBUG", "CIVICML_REGISTRY", "CIVICML_ARTIFACTS", "CIVICML_TOKEN")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    app: Any, port: int | None = None, *, log_level: str = "warning", seconds: float = 20
) -> Iterator[str]:
    """Run the ASGI ``app`` under uvicorn on 127.0.0.1:``port`` (a free one if ``None``) in a
    thread; yield its base URL once it has started, and stop it on leaving."""
    import uvicorn

    port = free_port() if port is None else port
    url = f"http://{HOST}:{port}"
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level=log_level))
    thread = threading.Thread(target=server.run, daemon=True, name=f"uvicorn {url}")
    thread.start()
    deadline = time.monotonic() + seconds
    while not server.started:
        if not thread.is_alive():
            pytest.fail(f"uvicorn stopped before it served {url} (see its log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail(f"uvicorn did not start serving {url} within {seconds:g} s")
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


class Served:
    """A running civicml server: its URL, the bootstrap admin token, and people acting on it."""

    def __init__(self, url: str, admin: str, tmp: Path) -> None:
        self.url, self.admin, self.tmp = url, admin, tmp

    def registry(self, token: str) -> RemoteRegistry:
        """A client that acts as the token's holder."""
        from civicml.registry import RemoteRegistry

        return RemoteRegistry(self.url, token=token, cache_dir=self.tmp / "client-cache")

    def cli(self, *args: Any, token: str | None, app: Any = None, code: int = 0) -> Any:
        """``civicml models ARGS`` (or another CLI ``app``) as the token's holder; the exit code
        must be ``code``."""
        from typer.testing import CliRunner

        from civicml.cli._models import app as models_app

        env = {"CIVICML_REGISTRY": self.url, "CIVICML_TOKEN": token or "", "COLUMNS": "200"}
        result = CliRunner().invoke(app or models_app, [str(a) for a in args], env=env)
        assert result.exit_code == code, (result.output, result.exception)
        return result

    def token(self, name: str, owner: str, *scopes: str) -> str:
        """An API token for ``owner``, issued by the admin over HTTP."""
        with self.registry(self.admin) as reg:
            return reg.create_token(name, list(scopes), owner=owner, reason="test")

    def key(self, token: str, tag: str) -> KeyFiles:
        """A signing key pair that the token's holder registers as theirs over HTTP."""
        from civicml.bundle import write_keypair

        keys = write_keypair(self.tmp / f"keys-{tag}")
        with self.registry(token) as reg:
            reg.register_key(keys.public.read_bytes(), reason="test")
        return keys

    def signed_copy(self, token: str, bundle: Path, tag: str) -> tuple[Path, str]:
        """A copy of ``bundle`` signed by a key the token's holder registers over HTTP, and
        that key's fingerprint."""
        from civicml.bundle import sign_bundle

        keys = self.key(token, tag)
        path = Path(shutil.copytree(bundle, self.tmp / f"bundle-{tag}"))
        sign_bundle(path, keys.private)
        return path, keys.fingerprint


S = TypeVar("S", bound=Served)


@contextmanager
def civicml_server(tmp: Path, monkeypatch: pytest.MonkeyPatch, served: type[S]) -> Iterator[S]:
    """A live ``civicml server`` over ``tmp/server.db``, run from ``tmp`` (clients' download
    caches land there) with none of the :data:`CLIENT_ENV` variables set; yields a ``served``
    (:class:`Served` or a subclass)."""
    from civicml.server import ServerOptions, create_server_app, issue_admin_token

    for var in CLIENT_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp)
    options = ServerOptions(
        registry=f"sqlite:///{tmp / 'server.db'}",
        artifacts=str(tmp / "server-artifacts"),
        project_dir=tmp / "server",
        session_secret="s" * 32,
    )
    admin, _ = issue_admin_token(options, "first-admin", "root")
    with serve(create_server_app(options)) as url:
        yield served(url, admin, tmp)


def training_project(folder: Path, *, rows: int, max_trials: int, cv_folds: int) -> Path:
    """A small binary project in ``folder`` (``data.csv``, model ``t``) for a client that trains
    while its registry is a server; the path of its ``civicml.yaml``."""
    import numpy as np
    import pandas as pd
    import yaml

    folder.mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=rows), "y": np.where(x > 0, "yes", "no")})
    frame.to_csv(folder / "data.csv", index=False)
    doc = {"name": "t", "data": {"path": "data.csv"}, "target": "y", "max_trials": max_trials}
    (folder / "civicml.yaml").write_text(yaml.safe_dump({**doc, "cv_folds": cv_folds}))
    return folder / "civicml.yaml"
