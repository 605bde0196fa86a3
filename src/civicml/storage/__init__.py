"""One SQL layer under every store (registry, runs, bandits): URLs, engines, one Alembic history
of every table, and the read and write helpers."""

from civicml.storage._database import Database, open_database
from civicml.storage._engine import close_engine, open_engine, shared_engines
from civicml.storage._migrate import MIGRATIONS_DIR, current_revision, migrate, upgrade
from civicml.storage._schema import (
    HEAD_REVISION,
    bandit_bandits,
    bandit_decisions,
    bandit_policies,
    metadata,
    registry_alias_history,
    registry_aliases,
    registry_atrs_answers,
    registry_audit,
    registry_audit_head,
    registry_decisions,
    registry_keys,
    registry_models,
    registry_tokens,
    registry_versions,
    run_data_versions,
    runs,
    utc_now,
)
from civicml.storage._url import dialect_of, display_url, is_memory_url, normalise_url

__all__ = [
    "HEAD_REVISION",
    "MIGRATIONS_DIR",
    "Database",
    "bandit_bandits",
    "bandit_decisions",
    "bandit_policies",
    "close_engine",
    "current_revision",
    "dialect_of",
    "display_url",
    "is_memory_url",
    "metadata",
    "migrate",
    "normalise_url",
    "open_database",
    "open_engine",
    "registry_alias_history",
    "registry_aliases",
    "registry_atrs_answers",
    "registry_audit",
    "registry_audit_head",
    "registry_decisions",
    "registry_keys",
    "registry_models",
    "registry_tokens",
    "registry_versions",
    "run_data_versions",
    "runs",
    "shared_engines",
    "upgrade",
    "utc_now",
]
