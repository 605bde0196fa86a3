"""Model scopes: which models a token (or a role grant) may reach on a shared registry.

A scope is a tuple of patterns. Each pattern is either a model name (``benefits-triage``) or a
team prefix ending in one ``*`` (``benefits-*``: every model whose name starts ``benefits-``).
Matching is exact and case-sensitive, like model names themselves. The empty scope means
*every model* (a token issued before scopes existed, or an unscoped one).

Examples
--------
>>> scope = check_model_scope(["benefits-*", "fraud-triage"])
>>> scope
('benefits-*', 'fraud-triage')
>>> in_scope("benefits-triage", scope), in_scope("fraud-triage", scope)
(True, True)
>>> in_scope("Benefits-triage", scope), in_scope("fraud-triage-v2", scope)
(False, False)
>>> in_scope("anything", ())
True
>>> team_pattern("benefits")
'benefits-*'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from civicml._errors import RegistryError

__all__ = ["check_model_scope", "in_scope", "scope_prefixes", "team_pattern"]

_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\*?$")
_MAX_PATTERNS = 50


def check_model_scope(patterns: object) -> tuple[str, ...]:
    """Validate model-scope patterns: names, or prefixes ending in a single ``*``.

    ``None`` or an empty list is the unlimited scope ``()``. A comma-separated string is split.

    >>> check_model_scope("benefits-*, housing-*")
    ('benefits-*', 'housing-*')
    >>> check_model_scope(None)
    ()
    >>> check_model_scope(["*"])
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: A model scope pattern is not allowed. Expected model names, or a team prefix ending in one '*' such as 'benefits-*'; got ['*']. Pass --models 'benefits-*' or --team benefits.
    """
    if patterns is None:
        return ()
    values: list[object]
    if isinstance(patterns, str):
        values = [p.strip() for p in patterns.split(",") if p.strip()]
    elif isinstance(patterns, Iterable):
        values = list(patterns)
    else:
        values = [patterns]
    bad = [
        v
        for v in values
        if not isinstance(v, str) or not _PATTERN.match(v) or ".." in v or v.count("*") > 1
    ]
    if bad or len(values) > _MAX_PATTERNS:
        raise RegistryError.build(
            "A model scope pattern is not allowed",
            expected="model names, or a team prefix ending in one '*' such as 'benefits-*'",
            got=bad[:10] or f"{len(values)} patterns (at most {_MAX_PATTERNS})",
            fix="Pass --models 'benefits-*' or --team benefits",
        )
    return tuple(dict.fromkeys(str(v) for v in values))


def team_pattern(prefix: str) -> str:
    """The scope pattern of a team prefix: ``benefits`` -> ``benefits-*`` (a prefix already
    ending in ``-``, ``_`` or ``.`` is kept as it is).

    >>> team_pattern("benefits_"), team_pattern("housing.")
    ('benefits_*', 'housing.*')
    """
    text = str(prefix).strip().rstrip("*")
    pattern = f"{text}*" if text.endswith(("-", "_", ".")) else f"{text}-*"
    return check_model_scope([pattern])[0]


def in_scope(name: str, scope: Iterable[str]) -> bool:
    """True when the model ``name`` is inside ``scope`` (the empty scope holds every model)."""
    patterns = tuple(scope)
    if not patterns:
        return True
    for pattern in patterns:
        if pattern.endswith("*"):
            if name.startswith(pattern[:-1]):
                return True
        elif name == pattern:
            return True
    return False


def scope_prefixes(scope: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(exact names, prefixes)`` of a scope, for a store's query.

    >>> scope_prefixes(["a-*", "b"])
    (('b',), ('a-',))
    """
    patterns = tuple(scope)
    return (
        tuple(p for p in patterns if not p.endswith("*")),
        tuple(p[:-1] for p in patterns if p.endswith("*")),
    )
