"""Fixtures shared across test packages.

A real Dask cluster for the engine and search-on-engine tests (tests/engines, tests/learn):
``dask scheduler`` + two ``dask worker`` processes, one for the whole session.

``.ci/run`` may start one and export ``CIVICML_DASK_SCHEDULER``; otherwise one is started here
for the session and stopped at the end (also when tests fail). Without ``distributed`` the Dask
half of the suite is skipped, unless ``CIVICML_REQUIRE_DASK=1`` (CI), where it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("CIVICML_REQUIRE_DASK") == "1":
            raise
        return False
    return True


@pytest.fixture(scope="session")
def dask_address() -> Iterator[str]:
    if not dask_available():
        pytest.skip("distributed is not installed")
    external = os.environ.get("CIVICML_DASK_SCHEDULER")
    if external:
        yield external
        return
    from civicml.engines import DaskProcesses

    procs = DaskProcesses(n_workers=2, nthreads=1, memory_limit="1GB")
    procs.start()
    try:
        yield str(procs.address)
    finally:
        procs.stop()


@pytest.fixture(params=["local", "dask"])
def engine_spec(request: pytest.FixtureRequest) -> str:
    if request.param == "local":
        return "local"
    address = request.getfixturevalue("dask_address")
    return "dask://" + address.split("://", 1)[-1]


@pytest.fixture
def login(monkeypatch: pytest.MonkeyPatch) -> object:
    """Set the OS login the CLI acts as in embedded mode: ``login("alice")``; call it again to
    act as another person (the CLI's one source of it is ``civicml.cli._common.login_name``)."""

    def act_as(name: str) -> str:
        monkeypatch.setattr("civicml.cli._common.login_name", lambda: name)
        return name

    return act_as
