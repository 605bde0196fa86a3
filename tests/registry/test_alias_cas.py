"""Alias moves are compare-and-set (issue 23, several teams on one registry).

``promote(..., expect=N)`` moves the alias only if it still points at ``N`` (``"none"``: empty);
the check and the write are one atomic step in the SQL store. Tried as two teams would: many
writers promoting at once from their own connections on SQLite and PostgreSQL, a stale
expectation, an empty alias filled meanwhile, and a legacy spelling of the alias.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from civicml._errors import ConflictError, RegistryError
from civicml.registry import Expect, expect_of, open_registry

A, B = "Rosa Parks", "Ada Lovelace"


def _versions(reg: Any, make_bundle: Any, n: int, name: str = "benefits") -> None:
    for _ in range(n):
        reg.register(make_bundle().path, name, actor=A, oversight="human-in-the-loop")


def test_a_stale_expectation_is_a_conflict_and_changes_nothing(registry, make_bundle):
    _versions(registry, make_bundle, 3)
    registry.promote("benefits", 1, "staging", actor=A, expect="none")
    registry.promote("benefits", 2, "staging", actor=B, expect=1)
    head = registry.audit_head()
    with pytest.raises(ConflictError) as err:
        registry.promote("benefits", 3, "staging", actor=A, expect=1)
    message = str(err.value)
    assert "\n" not in message
    assert "benefits@staging points at v2, not v1 as this move expected" in message
    assert "--expect 2" in message
    assert registry.get_alias("benefits", "staging").version == 2
    assert registry.audit_head() == head  # nothing was written, not even an event


def test_expect_none_means_the_alias_must_be_empty(registry, make_bundle):
    _versions(registry, make_bundle, 2)
    registry.promote("benefits", 1, "staging", actor=A, expect="none")
    with pytest.raises(ConflictError, match="points at v1, not nothing"):
        registry.promote("benefits", 2, "staging", actor=B, expect="none")
    registry.remove_alias("benefits", "staging", actor=A, reason="clean up")
    with pytest.raises(ConflictError, match="points at nothing, not v1.*--expect none"):
        registry.promote("benefits", 2, "staging", actor=B, expect=1)


def test_without_expect_the_move_is_unconditional_and_audited(registry, make_bundle):
    _versions(registry, make_bundle, 2)
    registry.promote("benefits", 1, "staging", actor=A)
    registry.promote("benefits", 2, "staging", actor=B)  # old callers keep working
    moves = [e for e in registry.audit_events() if e.action == "alias"]
    assert [e.details.get("previous") for e in moves] == [None, 1]
    assert "expected" not in moves[-1].details
    registry.promote("benefits", 1, "staging", actor=A, expect=2)
    assert registry.audit_events()[-1].details["expected"] == "v2"
    assert registry.verify_audit().ok


def test_a_legacy_spelling_of_the_alias_is_the_alias_it_expects(registry, make_bundle):
    _versions(registry, make_bundle, 2)
    registry.promote("benefits", 1, "staging", actor=A)
    with registry.store.engine.begin() as conn:  # a row written before aliases were normalised
        conn.execute(sa.text("UPDATE registry_aliases SET alias = 'Staging'"))
    registry.promote("benefits", 2, "staging", actor=B, expect=1)
    assert registry.get_model("benefits").aliases == {"staging": 2}


@pytest.mark.parametrize("bad", ["latest", "0", "-1", "3.0", True, 2.5, ""])
def test_a_bad_expectation_is_refused_before_anything(registry, make_bundle, bad):
    _versions(registry, make_bundle, 1)
    with pytest.raises(RegistryError, match="expected version of the alias is not valid"):
        registry.promote("benefits", 1, "staging", actor=A, expect=bad)
    assert registry.get_model("benefits").aliases == {}


def test_expect_of_reads_numbers_and_none():
    assert expect_of(" 7 ") == Expect(7)
    assert expect_of("NONE") == Expect(None)
    assert expect_of(None) is None


def _race(url: str, tmp_path: Any, writers: int, expect: Any) -> list[Any]:
    """``writers`` registries of their own, each promoting a different version at once."""
    barrier = threading.Barrier(writers)
    results: list[Any] = [None] * writers

    def run(i: int) -> None:
        reg = open_registry(url, artifacts=str(tmp_path / "artifacts"), project_dir=tmp_path)
        try:
            barrier.wait(timeout=30)
            results[i] = reg.promote("benefits", i + 2, "staging", actor=f"team-{i}", expect=expect)
        except Exception as exc:  # the result under test
            results[i] = exc
        finally:
            reg.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    return results


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("start", [1, None], ids=["moving", "empty"])
def test_concurrent_promotions_exactly_one_succeeds(kind, start, tmp_path, request, monkeypatch):
    monkeypatch.setenv("CIVICML_AUDIT_KEY_FILE", str(tmp_path / "shared-audit.key"))
    if kind == "postgres":
        request.applymarker(pytest.mark.postgres)
        url = request.getfixturevalue("pg_schema_url")
    else:
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    make_bundle = request.getfixturevalue("make_bundle")
    writers = 6
    reg = open_registry(url, artifacts=str(tmp_path / "artifacts"), project_dir=tmp_path)
    try:
        _versions(reg, make_bundle, writers + 1)
        if start is not None:
            reg.promote("benefits", start, "staging", actor=A)
        before = len(reg.audit_events())
    finally:
        reg.close()

    results = _race(url, tmp_path, writers, "none" if start is None else start)

    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1, results
    assert all(isinstance(e, ConflictError) for e in lost), lost
    assert all("someone else moved it meanwhile" in str(e) for e in lost)
    reg = open_registry(url, artifacts=str(tmp_path / "artifacts"), project_dir=tmp_path)
    try:
        assert reg.get_alias("benefits", "staging").version == won[0].version
        moves = [e for e in reg.audit_events()[before:] if e.action == "alias"]
        assert len(moves) == 1 and moves[0].details["version"] == won[0].version
        assert moves[0].details.get("previous") == start
        report = reg.verify_audit()
        assert report.ok, report
    finally:
        reg.close()
