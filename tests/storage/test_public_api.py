"""Pin civicml.storage's public names, and keep importing it light."""

from __future__ import annotations

import subprocess
import sys

import civicml.storage as storage


def test_exported_names() -> None:
    assert storage.__all__ == [
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
    for name in storage.__all__:
        assert hasattr(storage, name)


def test_every_table_is_in_the_metadata() -> None:
    tables = {name for name in storage.__all__ if name.startswith(("registry_", "run", "bandit_"))}
    assert tables == set(storage.metadata.tables)


def test_importing_storage_stays_light() -> None:
    code = "import sys, civicml.storage; print('alembic' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
