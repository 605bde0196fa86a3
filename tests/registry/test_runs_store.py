"""The runs store (civicml.tracking) on every registry backend: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import pytest

from civicml._errors import ConflictError, NotFoundError
from civicml.data import DataVersion
from civicml.tracking import Run, SQLRunStore


def _run(run_id: str, started: str, **kw) -> Run:
    return Run(
        id=run_id,
        project=kw.pop("project", "p"),
        kind="train",
        status="running",
        started_at=started,
        **kw,
    )


@pytest.fixture
def store(backend):
    s = SQLRunStore(backend[1])
    s.connect()
    try:
        yield s
    finally:
        s.close()


def test_create_update_get_list(store) -> None:
    dv = DataVersion("claims", "source", "a" * 64, 10, 2, {"x": "int64"}, {"x": {"null_share": 0}})
    store.create_run(
        _run(
            "a1" * 16,
            "2025-01-01T00:00:00.000000Z",
            data_versions=[dv],
            spec={"name": "p"},
            params={"seed": 0},
        )
    )
    store.create_run(_run("b2" * 16, "2025-01-02T00:00:00.000000Z", project="q"))
    with pytest.raises(ConflictError):
        store.create_run(_run("a1" * 16, "2025-01-03T00:00:00.000000Z"))
    table = DataVersion("table", "table", "b" * 64, 9, 2, {"x": "int64"})
    run = store.update_run(
        "a1a1",
        {"status": "finished", "metrics": {"test_auc": 0.8}, "energy": None},
        data_versions=[table],
    )
    assert run.status == "finished" and run.metrics == {"test_auc": 0.8}
    assert [v.name for v in run.data_versions] == ["claims", "table"]
    assert run.data_versions[0].profile == {"x": {"null_share": 0}}
    assert run.spec == {"name": "p"} and run.energy is None
    assert [r.short_id for r in store.list_runs()] == ["b2b2b2b2", "a1a1a1a1"]
    assert [r.project for r in store.list_runs(project="q")] == ["q"]
    assert store.list_runs(status="finished")[0].id == "a1" * 16
    failed = store.update_run("b2b2", {"status": "failed", "error": "DataError: boom"})
    assert failed.error == "DataError: boom"
    with pytest.raises(NotFoundError):
        store.get_run("ffff")
    with pytest.raises(ValueError):
        store.update_run("a1a1", {"project": "x"})


def test_ambiguous_prefix(store) -> None:
    store.create_run(_run("abcd" + "0" * 28, "2025-01-01T00:00:00.000000Z"))
    store.create_run(_run("abcd" + "1" * 28, "2025-01-01T00:00:01.000000Z"))
    with pytest.raises(ConflictError, match="matches several runs"):
        store.get_run("abcd")
    assert store.get_run("abcd1").id.endswith("1" * 28)


def test_a_0001_database_upgrades_to_head(tmp_path) -> None:
    import sqlalchemy as sa

    from civicml.storage import HEAD_REVISION, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        upgrade(conn, "0001")
    engine.dispose()
    s = SQLRunStore(url)
    s.connect()
    try:
        assert s.list_runs() == []
    finally:
        s.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            HEAD_REVISION
        )
    engine.dispose()
