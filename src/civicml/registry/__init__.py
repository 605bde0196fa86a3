"""The model registry: versions, aliases, two-person approval, rollback and a tamper-evident
audit log, on SQLite by default and PostgreSQL + S3 at scale."""

from civicml._scopes import check_model_scope, in_scope, team_pattern
from civicml.registry._approval import approval_record, approval_sentence
from civicml.registry._artifacts import ArtifactStore
from civicml.registry._atrs_answers import (
    EXEMPTION,
    VERSION_TIED,
    AtrsCheck,
    atrs_answers,
    atrs_exemption,
    atrs_problems,
    record_atrs_exemption,
    set_atrs_answers,
    version_tied,
)
from civicml.registry._audit import GENESIS_HASH, canonical_json, event_hash, verify_chain
from civicml.registry._governance import (
    LAWFUL_BASES,
    PRODUCTION,
    check_lawful_basis,
    lawful_basis_id,
    promotion_problems,
)
from civicml.registry._identity import ROLES, Actor, as_actor, os_login
from civicml.registry._law import (
    ART9_CONDITIONS,
    SAFEGUARDS,
    SCHEDULE_1_PART_2,
    SPECIAL_CATEGORIES,
    check_legal,
    legal_from_fields,
)
from civicml.registry._lifecycle import (
    DEFAULT_REVIEW_MONTHS,
    retire_version,
    review_state,
    review_version,
)
from civicml.registry._names import (
    check_alias,
    check_artifacts_uri,
    check_key,
    check_model_name,
    parse_ref,
)
from civicml.registry._open import open_registry
from civicml.registry._records import (
    OVERSIGHT_MODES,
    SCOPES,
    STATUSES,
    AuditEvent,
    AuditVerification,
    Decision,
    EventDraft,
    KeyInfo,
    ModelSummary,
    ModelVersion,
    TokenInfo,
)
from civicml.registry._registry import Registry
from civicml.registry._remote import RemoteRegistry
from civicml.registry._sql import SQLStore
from civicml.registry._store import (
    AliasMove,
    Expect,
    RegistryStore,
    TokenSecret,
    VersionChange,
    expect_of,
)

__all__ = [
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
