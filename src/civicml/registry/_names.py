"""Validators for every name, alias, reference, key and URI a user gives the registry.

Model names and aliases are short identifiers; artifact keys and URIs are confined so that no
value can climb out of the artifact store (``..``), jump to the root (absolute paths), switch
separators (backslashes), smuggle a command separator (``;``) or a NUL byte, or hide any of those
behind percent-encoding (``%2e%2e``, ``%2f``, ``%5c``).

Examples
--------
>>> check_model_name("benefits-triage_v2")
'benefits-triage_v2'
>>> parse_ref("benefits@production")
('benefits', None, 'production')
>>> parse_ref("benefits/3")
('benefits', 3, None)
>>> check_key("ab/abcdef/model.skops")
'ab/abcdef/model.skops'
>>> check_key("../etc/passwd")
Traceback (most recent call last):
...
civicml._errors.RegistryError: The artifact key '../etc/passwd' is not allowed. ...
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

from civicml._errors import RegistryError

__all__ = [
    "CONFUSABLES",
    "NAME_PATTERN",
    "alias_skeleton",
    "check_alias",
    "check_artifacts_uri",
    "check_key",
    "check_model_name",
    "check_text",
    "fold_alias",
    "check_token_name",
    "parse_ref",
]

#: what a model name, alias or token name must look like
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
_NAME = re.compile(NAME_PATTERN)
_KEY_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_SCHEMES = ("file", "s3", "memory")


def _check_identifier(value: object, what: str, example: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value) or ".." in value:
        raise RegistryError.build(
            f"The {what} {value!r} is not allowed",
            expected="1-100 letters, digits, '_', '.' or '-', starting with a letter or digit",
            fix=f"Use a name such as {example!r}",
        )
    return value


def check_model_name(name: object) -> str:
    """Return ``name`` if it is a valid model name, else raise :class:`RegistryError`.

    >>> check_model_name("a/b")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The model name 'a/b' is not allowed. ...
    """
    return _check_identifier(name, "model name", "benefits-triage")


#: the one confusable rule, applied after NFKC and case folding: these characters read as
#: the letter or separator they map to, so two aliases with the same skeleton are one alias
#: to a reader (``pr0d`` and ``prod``; ``l1ve``, ``Iive`` and ``live``; ``prod_eu`` and
#: ``prod-eu``). Letters outside a-z (Greek, Cyrillic, ...) are refused outright.
CONFUSABLES = {"0": "o", "1": "l", "i": "l", "_": "-", ".": "-"}
_SKELETON = str.maketrans(CONFUSABLES)


def fold_alias(alias: str) -> str:
    """An alias's normal form, without validation: NFKC, then case folding.

    >>> fold_alias("PRODUCTION"), fold_alias("\uff30rod")
    ('production', 'prod')
    """
    return unicodedata.normalize("NFKC", alias).casefold()


def check_alias(alias: object) -> str:
    """Return the normal form of ``alias`` (NFKC, case-folded) if it is a valid alias name.

    ``Production``, ``PRODUCTION`` and ``production`` are one alias. A letter outside a-z
    after normalisation (a Greek omicron, a Cyrillic 'а') is refused with its Unicode name,
    because it would make an alias that looks like another one.

    >>> check_alias("Challenger")
    'challenger'
    >>> check_alias("Pr\u03bfduction")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The alias 'Prοduction' is not allowed: it contains 'ο' (GREEK SMALL LETTER OMICRON), which is not a-z and can make it look like another alias. Expected letters a-z, digits, '_', '.' or '-'. Type the alias with plain Latin letters (e.g. 'production').
    """
    if not isinstance(alias, str):
        return _check_identifier(alias, "alias", "challenger")
    folded = fold_alias(alias)
    odd = next((c for c in folded if not c.isascii()), None)
    if odd is not None:
        raise RegistryError.build(
            f"The alias {alias!r} is not allowed: it contains {odd!r} "
            f"({unicodedata.name(odd, f'U+{ord(odd):04X}')}), which is not a-z and can make it "
            "look like another alias",
            expected="letters a-z, digits, '_', '.' or '-'",
            fix="Type the alias with plain Latin letters (e.g. 'production')",
        )
    if not _NAME.match(folded) or ".." in folded:
        raise RegistryError.build(
            f"The alias {alias!r} is not allowed",
            expected="1-100 letters, digits, '_', '.' or '-', starting with a letter or digit",
            fix="Use a name such as 'challenger'",
        )
    return folded


def alias_skeleton(alias: str) -> str:
    """What an alias looks like to a reader: its normal form with :data:`CONFUSABLES`
    mapped, so look-alikes compare equal.

    >>> alias_skeleton("PR0D"), alias_skeleton("L1ve"), alias_skeleton("prod_eu")
    ('prod', 'llve', 'prod-eu')
    """
    return check_alias(alias).translate(_SKELETON)


def check_token_name(name: object) -> str:
    """Return ``name`` if it is a valid API token name.

    >>> check_token_name("ci-serving")
    'ci-serving'
    """
    return _check_identifier(name, "token name", "ci-serving")


def check_text(value: object, what: str, *, required: bool = True, limit: int = 2000) -> str:
    """A one-line free-text field (a reason, a person's name): stripped, bounded, no NUL.

    >>> check_text("  Rosa Parks ", "approver")
    'Rosa Parks'
    """
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise RegistryError.build(f"A {what} is required", got=value, fix=f"Give a {what}")
    if "\x00" in text or len(text) > limit:
        raise RegistryError.build(
            f"The {what} is not allowed",
            expected=f"at most {limit} characters with no NUL byte",
            got=text[:40],
        )
    return text


def parse_ref(ref: object) -> tuple[str, int | None, str | None]:
    """Split ``name@alias``, ``name/3`` or ``name`` into ``(name, version, alias)``.

    >>> parse_ref("benefits")
    ('benefits', None, None)
    >>> parse_ref("benefits/x")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The model reference 'benefits/x' is not valid. ...
    """
    if not isinstance(ref, str):
        raise RegistryError.build("A model reference must be text", got=ref)
    fix = "Write 'NAME@ALIAS' (e.g. 'benefits@production') or 'NAME/VERSION' (e.g. 'benefits/3')"
    if "@" in ref:
        name, _, alias = ref.partition("@")
        return check_model_name(name), None, check_alias(alias)
    if "/" in ref:
        name, _, ver = ref.partition("/")
        if not ver.isdigit() or int(ver) < 1 or len(ver) > 9:
            raise RegistryError.build(f"The model reference {ref!r} is not valid", fix=fix)
        return check_model_name(name), int(ver), None
    return check_model_name(ref), None, None


def _bad(value: str) -> bool:
    decoded = value
    for _ in range(3):  # catch double and triple encoding too
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    if decoded != value and "%" in value:
        # any encoded character is suspicious in a key; we never produce them
        return True
    return (
        "\\" in decoded
        or ";" in decoded
        or "\x00" in decoded
        or any(part == ".." for part in decoded.replace("\\", "/").split("/"))
    )


def check_key(key: object) -> str:
    """Return ``key`` if it is a safe relative key inside the artifact store.

    >>> check_key("/abs/path")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The artifact key '/abs/path' is not allowed. ...
    >>> check_key("a/%2e%2e/b")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The artifact key 'a/%2e%2e/b' is not allowed. ...
    """
    ok = (
        isinstance(key, str)
        and key != ""
        and not key.startswith("/")
        and not _bad(key)
        and all(_KEY_PART.match(p) for p in key.split("/"))
    )
    if not ok:
        raise RegistryError.build(
            f"The artifact key {key!r} is not allowed",
            expected="a relative path of letters, digits, '_', '-', '.' and '/' with no '..'",
            fix="Use the key the registry gave; never build artifact paths by hand",
        )
    return str(key)


def check_artifacts_uri(uri: object) -> str:
    """Return ``uri`` if it is an acceptable artifact store location.

    A plain folder path or ``file://``, ``s3://bucket/prefix`` or ``memory://`` URI, with no
    ``..`` segment, backslash, ``;``, NUL or percent-encoded character. (The store root is set by
    the operator and may be absolute; keys inside it never are.)

    >>> check_artifacts_uri("s3://models/civicml")
    's3://models/civicml'
    >>> check_artifacts_uri("s3://models/../other")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The artifact store location 's3://models/../other' is not allowed. ...
    """
    scheme = uri.split("://", 1)[0] if isinstance(uri, str) and "://" in uri else "file"
    ok = isinstance(uri, str) and uri.strip() != "" and "%" not in uri and not _bad(uri)
    if ok and scheme not in _SCHEMES:
        ok = False
    if not ok:
        raise RegistryError.build(
            f"The artifact store location {uri!r} is not allowed",
            expected=(
                "a folder, 'file://PATH', 's3://BUCKET/PREFIX' or 'memory://NAME' without '..', "
                "'\\\\', ';' or percent-encoding"
            ),
            fix="Pass --artifacts (or CIVICML_ARTIFACTS) a plain location",
        )
    return str(uri)
