"""Every alias that can serve is governed (issue 17, section 2), on memory, SQLite and Postgres.

Walk-arounds tried here: an unapproved version promoted to ``Production``, ``PRODUCTION``,
``prod``, ``live``, a Greek-omicron ``Prοduction`` or a full-width ``Ｐｒｏｄ``; a look-alike of an
existing alias (``pr0d``, ``l1ve``); rejecting a version that serves under another name.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civicml._errors import ConflictError, GovernanceError, RegistryError
from civicml.registry import open_registry

A, B = "Rosa Parks", "Ada Lovelace"


def _registered(reg, make_bundle, name="benefits", oversight="human-in-the-loop"):
    return reg.register(make_bundle().path, name, actor=A, oversight=oversight)


def _approved(reg, make_bundle, name="benefits", oversight="human-in-the-loop"):
    v = _registered(reg, make_bundle, name, oversight)
    reg.request_approval(name, v.version, actor=A, reason="Ready for review")
    return reg.approve(name, v.version, by=B, reason="Read the assessment report")


@pytest.mark.parametrize("alias", ["Production", "PRODUCTION", "prod", "live", "Prod-EU"])
def test_an_unapproved_version_cannot_take_any_serving_alias(registry, make_bundle, alias):
    _registered(registry, make_bundle)
    with pytest.raises(GovernanceError) as err:
        registry.promote("benefits", 1, alias, actor=B)
    message = str(err.value)
    assert "\n" not in message
    assert f"cannot take the {alias.lower()!r} alias, which is a serving alias" in message
    assert "status 'registered', not 'approved'" in message
    assert "non-serving alias such as 'staging'" in message
    assert registry.get_model("benefits").aliases == {}


@pytest.mark.parametrize(
    "alias, char",
    [("Pr\u03bfduction", "GREEK SMALL LETTER OMICRON"), ("pr\u043ed", "CYRILLIC SMALL LETTER O")],
)
def test_look_alike_letters_are_refused_by_name(registry, make_bundle, alias, char):
    _approved(registry, make_bundle)
    with pytest.raises(RegistryError) as err:
        registry.promote("benefits", 1, alias, actor=B)
    assert char in str(err.value) and "is not allowed" in str(err.value)
    with pytest.raises(RegistryError, match=char):
        registry.resolve(f"benefits@{alias}")
    assert registry.get_model("benefits").aliases == {}


def test_full_width_letters_fold_to_the_serving_alias(registry, make_bundle):
    _registered(registry, make_bundle)
    with pytest.raises(GovernanceError, match="cannot take the 'prod' alias"):
        registry.promote("benefits", 1, "\uff30\uff52\uff4f\uff44", actor=B)


def test_an_approved_version_without_the_full_record_cannot_serve(registry, make_bundle):
    _approved(registry, make_bundle, oversight=None)  # approved, but no oversight mode
    with pytest.raises(GovernanceError, match="no human oversight mode"):
        registry.promote("benefits", 1, "live", actor=B)


def test_non_serving_aliases_take_an_unapproved_version(registry, make_bundle):
    _registered(registry, make_bundle)
    registry.promote("benefits", 1, "staging", actor=B)
    registry.promote("benefits", 1, "CHALLENGER", actor=B)
    assert registry.get_model("benefits").aliases == {"challenger": 1, "staging": 1}
    assert registry.resolve("benefits@Staging").version == 1
    assert not registry.is_serving("Staging") and registry.is_serving("prod")


def test_an_approved_version_serves_as_prod_in_any_case(registry, make_bundle):
    _approved(registry, make_bundle)
    v = registry.promote("benefits", 1, "prod", actor=B, reason="go live")
    assert v.aliases == ("prod",)
    assert registry.resolve("benefits@PROD").version == 1
    assert registry.resolve("benefits@prod").version == 1
    registry.promote("benefits", 1, "PROD", actor=B)  # the same alias, not a second one
    assert registry.get_model("benefits").aliases == {"prod": 1}
    moves = [e for e in registry.audit_events() if e.action == "alias"]
    assert [e.subject for e in moves] == ["benefits@prod", "benefits@prod"]
    assert all(e.details["serving"] is True for e in moves)
    assert registry.verify_audit().ok


@pytest.mark.parametrize(
    "first, second",
    [("prod", "pr0d"), ("live", "l1ve"), ("live", "Iive"), ("prod-eu", "prod_eu")],
)
def test_an_alias_that_looks_like_an_existing_one_is_refused(registry, make_bundle, first, second):
    _approved(registry, make_bundle)
    registry.promote("benefits", 1, first, actor=B)
    with pytest.raises(ConflictError) as err:
        registry.promote("benefits", 1, second, actor=B)
    message = str(err.value)
    assert "\n" not in message
    assert f"looks like its existing alias {first!r}" in message
    assert f"'--alias {first}'" in message
    assert registry.get_model("benefits").aliases == {first: 1}


def test_a_look_alike_of_a_non_serving_alias_is_still_governed(registry, make_bundle):
    _registered(registry, make_bundle)
    with pytest.raises(GovernanceError, match="'stag1ng' alias, which is a serving alias"):
        registry.promote("benefits", 1, "stag1ng", actor=B)


def test_a_version_serving_under_any_serving_alias_cannot_be_rejected(registry, make_bundle):
    _approved(registry, make_bundle)
    registry.promote("benefits", 1, "live", actor=B)
    with pytest.raises(ConflictError, match="is serving as live"):
        registry.reject("benefits", 1, by=B, reason="changed my mind")


def _insert_legacy_alias(registry, alias, version):
    """A row written before aliases were normalised (capitals were stored as typed)."""
    engine = registry.store.engine
    with engine.begin() as conn:
        mid = conn.execute(sa.text("SELECT id FROM registry_models WHERE name = 'benefits'"))
        conn.execute(
            sa.text(
                "INSERT INTO registry_aliases (model_id, alias, version, updated_at, updated_by) "
                "VALUES (:m, :a, :v, '2025-01-01T00:00:00Z', 'legacy')"
            ),
            {"m": mid.scalar_one(), "a": alias, "v": version},
        )


def test_a_stored_capitalised_alias_still_resolves_and_is_rewritten(registry, make_bundle):
    _approved(registry, make_bundle)
    _approved(registry, make_bundle)
    _insert_legacy_alias(registry, "Production", 1)
    assert registry.resolve("benefits").version == 1
    assert registry.resolve("benefits@production").version == 1
    assert registry.resolve("benefits@PRODUCTION").version == 1
    assert registry.get_model("benefits").aliases == {"production": 1}
    assert registry.get_version("benefits", 1).aliases == ("production",)
    registry.promote("benefits", 2, actor=B)  # moves the legacy row, does not add a second
    assert registry.get_model("benefits").aliases == {"production": 2}
    with registry.store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT alias FROM registry_aliases")).scalars().all()
    assert stored == ["production"]
    with pytest.raises(ConflictError, match="is serving as production"):
        registry.reject("benefits", 2, by=B, reason="no")


def test_legacy_duplicate_spellings_prefer_the_normal_form(registry, make_bundle):
    _approved(registry, make_bundle)
    _approved(registry, make_bundle)
    _insert_legacy_alias(registry, "Prod", 1)
    _insert_legacy_alias(registry, "prod", 2)
    assert registry.resolve("benefits@Prod").version == 2
    assert registry.get_model("benefits").aliases == {"prod": 2}
    registry.remove_alias("benefits", "PROD", actor=B, reason="retire")
    assert registry.get_model("benefits").aliases == {}


def test_the_non_serving_set_is_configurable(backend, tmp_path, make_bundle, monkeypatch):
    def open_(**kw):
        return open_registry(
            backend[1], artifacts=str(tmp_path / "artifacts"), project_dir=tmp_path, **kw
        )

    with open_(non_serving_aliases=["QA", "shadow"]) as reg:
        _registered(reg, make_bundle)
        assert reg.non_serving_aliases == frozenset({"qa", "shadow"})
        reg.promote("benefits", 1, "Shadow", actor=B)
        with pytest.raises(GovernanceError, match="'staging' alias, which is a serving alias"):
            reg.promote("benefits", 1, "staging", actor=B)
    monkeypatch.setenv("CIVICML_NON_SERVING_ALIASES", "trial, staging")
    with open_() as reg:  # the in-memory backend starts empty on each open
        v = _registered(reg, make_bundle)
        assert reg.non_serving_aliases == frozenset({"trial", "staging"})
        reg.promote("benefits", v.version, "trial", actor=B)
        with pytest.raises(GovernanceError):
            reg.promote("benefits", v.version, "challenger", actor=B)
    monkeypatch.setenv("CIVICML_NON_SERVING_ALIASES", "")
    with open_() as reg:
        v = _registered(reg, make_bundle)
        assert reg.non_serving_aliases == frozenset()
        with pytest.raises(GovernanceError):
            reg.promote("benefits", v.version, "staging", actor=B)


@pytest.mark.parametrize("setting", ["production", "staging,PRODUCTION", ["Production"]])
def test_production_can_never_be_non_serving(tmp_path, setting):
    with pytest.raises(RegistryError, match="'production' cannot be non-serving"):
        open_registry("sqlite://", project_dir=tmp_path, non_serving_aliases=setting)
