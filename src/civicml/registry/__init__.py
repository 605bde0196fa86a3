"""The model registry: versions, aliases, two-person approval, rollback and a tamper-evident
audit log, on SQLite by default and PostgreSQL + S3 at scale."""

from civicml.registry._artifacts import ArtifactStore
from civicml.registry._audit import GENESIS_HASH, canonical_json, event_hash, verify_chain
from civicml.registry._governance import (
    LAWFUL_BASES,
    PRODUCTION,
    check_lawful_basis,
    lawful_basis_id,
    promotion_problems,
)
from civicml.registry._identity import ROLES, Actor, as_actor, os_login
from civicml.registry._names import (
    check_alias,
    check_artifacts_uri,
    check_key,
    check_model_name,
    parse_ref,
)
from civicml.registry._records import (
    OVERSIGHT_MODES,
    SCOPES,
    STATUSES,
    AuditEvent,
    AuditVerification,
    Decision,
    EventDraft,
    ModelSummary,
    ModelVersion,
    TokenInfo,
)
from civicml.registry._registry import Registry, open_registry
from civicml.registry._sql import SQLStore
from civicml.registry._store import AliasMove, RegistryStore, TokenSecret, VersionChange

__all__ = [
    "GENESIS_HASH",
    "LAWFUL_BASES",
    "OVERSIGHT_MODES",
    "PRODUCTION",
    "ROLES",
    "SCOPES",
    "STATUSES",
    "Actor",
    "AliasMove",
    "ArtifactStore",
    "AuditEvent",
    "AuditVerification",
    "Decision",
    "EventDraft",
    "ModelSummary",
    "ModelVersion",
    "Registry",
    "RegistryStore",
    "SQLStore",
    "TokenInfo",
    "TokenSecret",
    "VersionChange",
    "as_actor",
    "canonical_json",
    "check_alias",
    "check_artifacts_uri",
    "check_key",
    "check_lawful_basis",
    "check_model_name",
    "event_hash",
    "lawful_basis_id",
    "open_registry",
    "os_login",
    "parse_ref",
    "promotion_problems",
    "verify_chain",
]
