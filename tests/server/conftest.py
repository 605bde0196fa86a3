"""One civicml server per test over a SQLite file registry: a break-glass admin token, then
tokens an admin issues through the API, signed bundles sent as tar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server._support import Site


@pytest.fixture
def make_site(tmp_path: Path) -> Iterator[Callable[..., Site]]:
    from starlette.testclient import TestClient

    from civicml.server import ServerOptions, create_server_app, issue_admin_token

    opened: list[Any] = []

    def make(**options: Any) -> Site:
        root = tmp_path / f"site{len(opened)}"
        root.mkdir()
        opts = ServerOptions(
            registry=f"sqlite:///{root / 'registry.db'}",
            artifacts=str(root / "artifacts"),
            project_dir=root,
            session_secret="test-secret",
            **options,
        )
        token, _ = issue_admin_token(opts, "root-token", "root@example.gov.uk")
        app = create_server_app(opts)
        client = TestClient(app, raise_server_exceptions=True)
        client.__enter__()
        opened.append(client)
        return Site(root, opts, app, client, tokens={"root": token})

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()
