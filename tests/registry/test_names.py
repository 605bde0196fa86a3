"""Path confinement and name validation."""

from __future__ import annotations

import pytest

from civicml._errors import RegistryError
from civicml.registry import (
    check_alias,
    check_artifacts_uri,
    check_key,
    check_model_name,
    parse_ref,
)

BAD_KEYS = [
    "../x",
    "a/../b",
    "a/..",
    "/etc/passwd",
    "a\\b",
    "..\\x",
    "a;b",
    "a\x00b",
    "%2e%2e/x",
    "%2E%2E/x",
    "a%2fb",
    "a%2F..%2Fb",
    "a%5cb",
    "%252e%252e/x",
    "",
    "a//b",
    "./a",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_artifact_keys_are_refused(key):
    with pytest.raises(RegistryError, match="is not allowed"):
        check_key(key)


@pytest.mark.parametrize("key", ["ab/" + "ab" * 32, "ab/cd/model.skops", "x/reports/card.md"])
def test_good_keys_pass(key):
    assert check_key(key) == key


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/../other",
        "s3://bucket/a%2f..",
        "file:///srv/civicml/..",
        "C:\\models",
        "s3://bucket;rm -rf",
        "s3://b/%2e%2e",
        "http://example.org/x",
        "",
        "/srv/a\x00b",
    ],
)
def test_bad_artifact_uris_are_refused(uri):
    with pytest.raises(RegistryError, match="artifact store location"):
        check_artifacts_uri(uri)


@pytest.mark.parametrize(
    "uri", ["s3://bucket/civicml", "/srv/civicml/artifacts", "memory://x", "rel/dir"]
)
def test_good_artifact_uris_pass(uri):
    assert check_artifacts_uri(uri) == uri


@pytest.mark.parametrize(
    "name",
    ["", "-x", ".x", "a/b", "a\\b", "a;b", "a..b", "..", "a b", "x" * 101, "é", "a%2fb", None],
)
def test_bad_model_names_and_aliases(name):
    with pytest.raises(RegistryError, match="is not allowed"):
        check_model_name(name)
    with pytest.raises(RegistryError, match="is not allowed"):
        check_alias(name)


def test_refs():
    assert parse_ref("m@challenger") == ("m", None, "challenger")
    assert parse_ref("m/12") == ("m", 12, None)
    for bad in ("m/0", "m/-1", "m/1/2", "m@", "@prod", "m/../x", "m@a/b"):
        with pytest.raises(RegistryError):
            parse_ref(bad)
