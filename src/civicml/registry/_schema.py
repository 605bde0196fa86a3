"""The registry's tables under the short names its store uses; they live in civicml.storage.

Examples
--------
>>> models.name, audit_head.name
('registry_models', 'registry_audit_head')
"""

from __future__ import annotations

from civicml.storage import registry_alias_history as alias_history
from civicml.storage import registry_aliases as aliases
from civicml.storage import registry_atrs_answers as atrs_answers
from civicml.storage import registry_audit as audit
from civicml.storage import registry_audit_head as audit_head
from civicml.storage import registry_decisions as decisions
from civicml.storage import registry_keys as keys
from civicml.storage import registry_models as models
from civicml.storage import registry_tokens as tokens
from civicml.storage import registry_versions as versions

__all__ = [
    "alias_history",
    "aliases",
    "atrs_answers",
    "audit",
    "audit_head",
    "decisions",
    "keys",
    "models",
    "tokens",
    "versions",
]
