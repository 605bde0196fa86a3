"""The contract every SQL store passes on every backend (memory, SQLite file, PostgreSQL): the
registry store, the runs store and the bandit store all sit on civicml.storage.

Each store's own behaviour is tested on the same backends by its suite: tests/registry
(``registry`` and ``backend`` fixtures), tests/registry/test_runs_store.py and
tests/bandits/test_store.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from civicml._errors import RegistryError
from civicml.bandits import BanditSpec, BanditStore
from civicml.registry import EventDraft, SQLStore
from civicml.storage import normalise_url, shared_engines
from civicml.tracking import Run, SQLRunStore


@dataclass(frozen=True)
class StoreKind:
    """How the contract makes, writes to and counts one kind of store."""

    make: Callable[[str], Any]
    put: Callable[[Any, int], None]
    count: Callable[[Any], int]


def _put_run(store: SQLRunStore, i: int) -> None:
    store.create_run(
        Run(id=f"{i:032x}", project="p", kind="train", status="running",
            started_at=f"2025-01-01T00:00:{i % 60:02d}.000000Z")
    )  # fmt: skip


STORES = {
    "registry": StoreKind(
        SQLStore,
        lambda s, i: s.append_event(EventDraft("Ada", "note", f"subject-{i}")),
        lambda s: len(s.audit_events()),
    ),
    "runs": StoreKind(SQLRunStore, _put_run, lambda s: len(s.list_runs(limit=10_000))),
    "bandits": StoreKind(
        BanditStore,
        lambda s, i: s.create_bandit(BanditSpec(name=f"b{i}", arms=["a", "b"])),
        lambda s: len(s.list_bandits()),
    ),
}


@pytest.fixture(params=sorted(STORES))
def kind(request: pytest.FixtureRequest) -> StoreKind:
    return STORES[request.param]


def test_constructor_does_no_io(kind: StoreKind, tmp_path) -> None:
    db = tmp_path / "sub" / "civicml.db"
    store = kind.make(f"sqlite:///{db}")
    assert not db.exists() and not db.parent.exists()
    with pytest.raises(RegistryError, match="not connected"):
        kind.count(store)
    store.connect()
    try:
        assert db.exists() and kind.count(store) == 0
    finally:
        store.close()


def test_connect_is_idempotent_and_close_gives_the_engine_back(kind: StoreKind, backend) -> None:
    store = kind.make(backend[1])
    store.connect()
    store.connect()
    try:
        kind.put(store, 1)
        assert kind.count(store) == 1
    finally:
        store.close()
        store.close()
    assert normalise_url(backend[1]) not in shared_engines()
    with pytest.raises(RegistryError, match="not connected"):
        kind.count(store)


def test_data_outlives_the_store(kind: StoreKind, backend) -> None:
    if backend[0] == "memory":
        pytest.skip("an in-memory database lives as long as its store")
    first = kind.make(backend[1])
    first.connect()
    try:
        kind.put(first, 1)
        kind.put(first, 2)
    finally:
        first.close()
    again = kind.make(backend[1])
    again.connect()
    try:
        assert kind.count(again) == 2
    finally:
        again.close()


def test_writers_in_several_threads_and_stores(kind: StoreKind, backend) -> None:
    if backend[0] == "memory":
        pytest.skip("an in-memory database is private to one store")
    stores = [kind.make(backend[1]) for _ in range(3)]
    for store in stores:
        store.connect()
    errors: list[BaseException] = []

    def work(store: Any, start: int) -> None:
        try:
            for i in range(start, start + 5):
                kind.put(store, i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(store, 100 * n)) for n, store in enumerate(stores)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert kind.count(stores[0]) == 15
    finally:
        for store in stores:
            store.close()


def test_an_unreachable_database_is_a_clear_error(kind: StoreKind) -> None:
    store = kind.make("postgresql://ann:s3cret@127.0.0.1:1/nothing?connect_timeout=2")
    with pytest.raises(RegistryError, match="Cannot open the") as err:
        store.connect()
    assert "s3cret" not in str(err.value) and "ann:***@127.0.0.1:1" in str(err.value)
    with pytest.raises(RegistryError, match="not connected"):
        kind.count(store)
