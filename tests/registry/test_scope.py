"""Tokens limited to named models or a team's prefix (issue 23): the scope's rules, its place in
the token's audited state, the store's filtered listing, and the upgrade of older registries.

Walk-arounds tried: widening a token's scope in the table behind the audit log, a prefix that
differs only in case, SQL wildcards (``_``, ``%``) in a prefix, a bare ``*``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civicml._errors import RegistryError
from civicml.registry import check_model_scope, in_scope, open_registry, team_pattern

A = "Rosa Parks"


def _register(reg, make_bundle, *names):
    for name in names:
        reg.register(make_bundle().path, name, actor=A, oversight="human-in-the-loop")


@pytest.mark.parametrize(
    "bad", ["*", "benefits-**", "bene*fits", "../x", "a b", "-x*", ["ok", 3], "x" * 101]
)
def test_a_pattern_that_is_not_a_name_or_prefix_is_refused(bad):
    with pytest.raises(RegistryError, match="model scope pattern is not allowed"):
        check_model_scope(bad)


def test_matching_is_exact_and_case_sensitive():
    scope = check_model_scope("benefits-*,fraud")
    assert in_scope("benefits-", scope) and in_scope("benefits-triage", scope)
    assert not in_scope("benefits", scope)
    assert not in_scope("BENEFITS-triage", scope)
    assert not in_scope("fraud2", scope) and in_scope("fraud", scope)
    assert team_pattern("benefits") == "benefits-*"


def test_the_scope_is_part_of_the_tokens_audited_state(registry):
    plaintext = registry.create_token(
        "benefits-ci", ["trainer"], A, models=["benefits-*", "shared-model"]
    )
    info = registry.verify_token(plaintext)
    assert info.models == ("benefits-*", "shared-model")
    assert registry.token_scope(info.id) == ("benefits-*", "shared-model")
    event = registry.audit_events()[-1]
    assert event.action == "token.issue"
    assert event.details["models"] == ["benefits-*", "shared-model"]
    assert event.details["state"]["models"] == ["benefits-*", "shared-model"]
    unscoped = registry.verify_token(registry.create_token("ops", ["viewer"], A))
    assert unscoped.models == () and registry.token_scope(unscoped.id) == ()
    assert registry.audit_events()[-1].details["state"]["models"] == []
    assert registry.verify_audit().ok


def test_widening_a_scope_in_the_table_shows_in_the_audit_replay(registry):
    registry.create_token("benefits-ci", ["trainer"], A, models=["benefits-*"])
    with registry.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE registry_tokens SET models = NULL"))
    report = registry.verify_audit()
    assert not report.ok
    assert "registry_tokens" in report.reason and "models is [] in the table" in report.reason


def test_a_revoked_token_reaches_nothing(registry):
    info = registry.verify_token(registry.create_token("t", ["viewer"], A, models=["a-*"]))
    registry.revoke_token("t", A, "left the team")
    assert registry.token_scope(info.id) is None
    assert registry.audit_events()[-1].details["state"]["models"] == ["a-*"]


def test_listing_keeps_the_models_in_scope(registry, make_bundle):
    _register(registry, make_bundle, "benefits-a", "benefits-b", "Benefits-c", "benefitsXd")
    _register(registry, make_bundle, "housing-a", "fraud", "fraud2")
    names = lambda **kw: [m.name for m in registry.list_models(**kw)]  # noqa: E731
    assert names(scope=["benefits-*"]) == ["benefits-a", "benefits-b"]
    assert names(scope=["benefits-*", "fraud"]) == ["benefits-a", "benefits-b", "fraud"]
    assert names(scope=["benefits-*"], limit=1, offset=1) == ["benefits-b"]
    assert names(scope=["benefits-*"], search="A") == ["benefits-a"]
    assert len(names()) == 7


def test_sql_wildcards_in_a_prefix_are_literal(registry, make_bundle):
    _register(registry, make_bundle, "ab-x", "a_-x", "a-b")
    assert [m.name for m in registry.list_models(scope=["a_*"])] == ["a_-x"]
    assert [m.name for m in registry.list_models(scope=["a-b"])] == ["a-b"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_an_older_registry_upgrades_and_its_tokens_reach_every_model(kind, tmp_path, request):
    from civicml.storage import normalise_url, upgrade

    if kind == "postgres":
        request.applymarker(pytest.mark.postgres)
        url = request.getfixturevalue("pg_schema_url")
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            upgrade(conn, "0006")
            conn.execute(
                sa.text(
                    "INSERT INTO registry_tokens (id, name, salt, hash, scopes, created_at, "
                    "created_by, owner) VALUES ('0123456789abcdef', 'old', 's', 'h', 'viewer', "
                    "'2026-01-01T00:00:00', 'ada', 'ada')"
                )
            )
    finally:
        engine.dispose()
    reg = open_registry(url, artifacts=str(tmp_path / "artifacts"), project_dir=tmp_path)
    try:
        (old,) = reg.list_tokens()
        assert old.models == () and reg.token_scope(old.id) == ()
        reg.create_token("new", ["viewer"], A, models=["benefits-*"])
        assert {t.name: t.models for t in reg.list_tokens()}["new"] == ("benefits-*",)
    finally:
        reg.close()
