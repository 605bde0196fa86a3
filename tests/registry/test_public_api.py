"""Pin the registry's public names so the API never changes by accident."""

from __future__ import annotations

import inspect

import civicml.registry as registry


def test_exported_names():
    assert registry.__all__ == [
        "ART9_CONDITIONS",
        "DEFAULT_REVIEW_MONTHS",
        "EXEMPTION",
        "GENESIS_HASH",
        "LAWFUL_BASES",
        "OVERSIGHT_MODES",
        "PRODUCTION",
        "ROLES",
        "SAFEGUARDS",
        "SCHEDULE_1_PART_2",
        "SCOPES",
        "SPECIAL_CATEGORIES",
        "STATUSES",
        "VERSION_TIED",
        "Actor",
        "AliasMove",
        "ArtifactStore",
        "AtrsCheck",
        "AuditEvent",
        "AuditVerification",
        "Decision",
        "EventDraft",
        "Expect",
        "KeyInfo",
        "ModelSummary",
        "ModelVersion",
        "Registry",
        "RegistryStore",
        "RemoteRegistry",
        "SQLStore",
        "TokenInfo",
        "TokenSecret",
        "VersionChange",
        "approval_record",
        "approval_sentence",
        "as_actor",
        "atrs_answers",
        "atrs_exemption",
        "atrs_problems",
        "canonical_json",
        "check_alias",
        "check_artifacts_uri",
        "check_key",
        "check_lawful_basis",
        "check_legal",
        "check_model_name",
        "check_model_scope",
        "event_hash",
        "expect_of",
        "in_scope",
        "lawful_basis_id",
        "legal_from_fields",
        "open_registry",
        "os_login",
        "parse_ref",
        "promotion_problems",
        "record_atrs_exemption",
        "retire_version",
        "review_state",
        "review_version",
        "set_atrs_answers",
        "team_pattern",
        "verify_chain",
        "version_tied",
    ]
    for name in registry.__all__:
        assert hasattr(registry, name)


def test_store_abc_is_complete():
    abstract = registry.RegistryStore.__abstractmethods__
    assert {"create_version", "move_alias", "update_version", "append_event"} <= abstract
    assert not inspect.isabstract(registry.SQLStore)


def test_facade_methods():
    for name in (
        "register",
        "get_version",
        "list_models",
        "list_versions",
        "set_alias",
        "get_alias",
        "resolve",
        "request_approval",
        "approve",
        "reject",
        "override_checks",
        "set_governance",
        "promote",
        "rollback",
        "audit_events",
        "verify_audit",
        "load_version",
        "create_token",
        "verify_token",
        "revoke_token",
        "list_tokens",
        "register_key",
        "list_keys",
        "revoke_key",
        "get_key",
    ):
        assert callable(getattr(registry.Registry, name))


def test_importing_the_registry_stays_light():
    import subprocess
    import sys

    code = "import sys, civicml.registry; print('pandas' in sys.modules, 'alembic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
