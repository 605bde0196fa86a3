"""Shared fixtures: one tiny bundle per session, an app over it, tokens, a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serve._support import (
    ADMIN_TOKEN,
    OTHER_SERVICE,
    PREDICT_TOKEN,
    REVIEW_TOKEN,
    VIEWER_ONLY,
    LiveServer,
    make_bundle,
)


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "bundle"
    make_bundle(path)
    return path


@pytest.fixture(scope="session")
def verifier() -> Any:
    from civicml.serve import StaticToken

    tokens = {
        PREDICT_TOKEN: StaticToken("predictor", ("predict",)),
        ADMIN_TOKEN: StaticToken("ops", ("admin",)),
        VIEWER_ONLY: StaticToken("nobody", ("approver",)),
        REVIEW_TOKEN: StaticToken("caseworker-7", ("review",)),
        OTHER_SERVICE: StaticToken("other-service", ("predict",)),
    }
    return tokens.get


@pytest.fixture()
def app(bundle_dir: Path, verifier: Any, tmp_path: Path) -> Any:
    from civicml.serve import ServeOptions, create_app

    return create_app(
        bundle_dir,
        verifier=verifier,
        decision_log=tmp_path / "log",
        poll_seconds=0,
        options=ServeOptions(oversight="human-in-the-loop"),
    )


@pytest.fixture()
def client(app: Any) -> Iterator[Any]:
    from starlette.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def live(
    bundle_dir: Path, verifier: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    from civicml.serve import create_app

    app = create_app(
        bundle_dir,
        verifier=verifier,
        decision_log=tmp_path_factory.mktemp("livelog"),
        poll_seconds=0,
    )
    with LiveServer(app) as srv:
        srv.bundle_dir = bundle_dir
        yield srv
