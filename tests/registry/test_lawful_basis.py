"""Lawful basis comes from the fixed list of UK GDPR Art. 6(1)(a)-(f), on every backend."""

from __future__ import annotations

import pytest

from civicml._errors import GovernanceError, RegistryError
from civicml.registry import LAWFUL_BASES, check_lawful_basis, lawful_basis_id
from civicml.storage import registry_versions

A, B = "Rosa Parks", "Ada Lovelace"
# the Art. 22C safeguards a solely-automated version needs (tests/registry/test_law.py)
SAFEGUARDS = {
    "safeguards": {
        "information": "Letter",
        "contest": "Reply form",
        "human_intervention": "Caseworker review",
    }
}


def test_the_list_is_article_6_1_in_order():
    assert list(LAWFUL_BASES) == [
        "consent",
        "contract",
        "legal-obligation",
        "vital-interests",
        "public-task",
        "legitimate-interests",
    ]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("public-task", "public-task"),
        ("Public-Task", "public-task"),
        ("PUBLIC_TASK", "public-task"),
        ("6(1)(e)", "public-task"),
        ("art6-1-e", "public-task"),
        ("Art. 6(1)(e)", "public-task"),
        ("UK GDPR Article 6(1)(a)", "consent"),
        ("6(1)(b)", "contract"),
        ("ART6-1-C", "legal-obligation"),
        ("legal obligation", "legal-obligation"),
        ("6(1)(d)", "vital-interests"),
        ("6(1)(f)", "legitimate-interests"),
    ],
)
def test_aliases_normalise_to_the_canonical_id(given, stored):
    assert lawful_basis_id(given) == stored
    assert check_lawful_basis(given) == stored


@pytest.mark.parametrize("bad", ["x", "public interest", "", "   ", "6(1)(g)", "art22", None])
def test_anything_else_is_refused_on_one_line(bad):
    with pytest.raises(RegistryError) as err:
        check_lawful_basis(bad)
    message = str(err.value)
    assert "is not one of UK GDPR Art. 6(1)(a)\u2013(f)" in message
    assert "'public-task'" in message and "legitimate-interests" in message
    assert f"got {bad!r}" in message and "\n" not in message


@pytest.mark.parametrize("bad", ["x", "public interest", ""])
def test_the_registry_refuses_a_bad_basis(registry, make_bundle, bad):
    with pytest.raises(RegistryError, match=r"not one of UK GDPR Art\. 6\(1\)"):
        registry.register(make_bundle().path, "benefits", actor=A, lawful_basis=bad)
    registry.register(make_bundle().path, "benefits", actor=A)
    for call in (registry.set_governance, registry.request_approval):
        with pytest.raises(RegistryError, match=r"not one of UK GDPR Art\. 6\(1\)"):
            call("benefits", 1, actor=A, reason="ready", lawful_basis=bad)
    v = registry.get_version("benefits", 1)
    assert v.lawful_basis is None and v.status == "registered"


def test_a_bad_basis_in_the_bundle_spec_is_refused(registry, make_bundle, good_spec):
    spec = {**good_spec, "governance": {"oversight": "advisory", "lawful_basis": "x"}}
    with pytest.raises(RegistryError, match="lawful basis 'x'"):
        registry.register(make_bundle(spec=spec).path, "benefits", actor=A)


@pytest.mark.parametrize("given", ["Public-Task", "6(1)(e)"])
def test_the_registry_stores_the_canonical_id(registry, make_bundle, given):
    v = registry.register(make_bundle().path, "benefits", actor=A, lawful_basis=given)
    assert v.lawful_basis == "public-task"
    registry.set_governance("benefits", 1, actor=A, lawful_basis="6(1)(c)")
    assert registry.get_version("benefits", 1).lawful_basis == "legal-obligation"
    registry.request_approval(
        "benefits",
        1,
        actor=A,
        reason="ready",
        oversight="solely-automated",
        lawful_basis=given,
        legal=SAFEGUARDS,
    )
    assert registry.get_version("benefits", 1).lawful_basis == "public-task"
    registry.approve("benefits", 1, by=B, reason="ok")
    assert registry.promote("benefits", 1, actor=B).lawful_basis == "public-task"


def _store_legacy_basis(registry, value):
    """A value from before the fixed list: written straight into the table (as an older
    civicml did), then accepted on the record by an admin's audited repair, as an upgraded
    registry would hold it."""
    with registry.store.engine.begin() as conn:
        conn.execute(registry_versions.update().values(lawful_basis=value))
    assert not registry.verify_audit().ok
    registry.repair_audit("Auditor", "Lawful bases stored before they were a fixed list")


@pytest.mark.parametrize("oversight", ["solely-automated", "advisory"])
def test_a_legacy_free_text_basis_reads_but_cannot_be_promoted(registry, make_bundle, oversight):
    registry.register(make_bundle().path, "benefits", actor=A)
    registry.request_approval(
        "benefits", 1, actor=A, reason="ready", oversight=oversight, legal=SAFEGUARDS
    )
    registry.approve("benefits", 1, by=B, reason="ok")
    _store_legacy_basis(registry, "x")
    v = registry.get_version("benefits", 1)
    assert v.lawful_basis == "x"  # read as stored, no crash
    assert [v.version for v in registry.list_versions("benefits")] == [1]
    with pytest.raises(GovernanceError) as err:
        registry.promote("benefits", 1, actor=B)
    assert "lawful basis 'x' is not one of UK GDPR Art. 6(1)(a)\u2013(f)" in str(err.value)
    assert "\n" not in str(err.value)
    registry.promote("benefits", 1, alias="staging", actor=B)  # non-serving still moves


def test_a_legacy_basis_is_fixed_on_a_new_version(registry, make_bundle):
    registry.register(make_bundle().path, "benefits", actor=A)
    _store_legacy_basis(registry, "Public interest under the 1998 Act")
    registry.set_governance("benefits", 1, actor=A, lawful_basis="public-task")
    registry.request_approval(
        "benefits", 1, actor=A, reason="ready", oversight="solely-automated", legal=SAFEGUARDS
    )
    registry.approve("benefits", 1, by=B, reason="ok")
    assert "production" in registry.promote("benefits", 1, actor=B).aliases
