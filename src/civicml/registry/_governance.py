"""Governance rules: what a version needs before it may take a serving alias.

Every alias is a *serving* alias (``production``, ``prod``, ``live``, ...) except the
configured non-serving ones (default :data:`NON_SERVING_ALIASES`: ``staging`` and
``challenger``; see :func:`non_serving_aliases`). A version may take a serving alias only when
it has

* owner metadata: team, senior responsible owner and contact;
* an intended use and at least one out-of-scope use;
* a human oversight mode (``advisory``, ``human-in-the-loop`` or ``solely-automated``; the last
  needs a recorded lawful basis);
* a lawful basis, when one is recorded, from the fixed list of UK GDPR Art. 6(1)(a)-(f)
  (:data:`LAWFUL_BASES`; a free-text value stored before that rule blocks promotion until it
  is replaced);
* for a solely-automated version, the Art. 22C safeguards recorded in its ``legal`` record,
  and, when its bundle records special-category inputs (Art. 9), explicit consent or
  substantial public interest with its Schedule 1 condition (see :mod:`._law`);
* passing assessment checks (``checks.json`` in the bundle), or a recorded override with a reason;
* an approval by a named person who did not register it (the two-person rule).

Examples
--------
>>> from civicml.registry._records import ModelVersion
>>> v = ModelVersion("benefits", 3, "a" * 64, "registered", "t", "Rosa Parks")
>>> promotion_problems(v)[:2]
['no owner team', 'no senior responsible owner']
>>> check_two_person(v, Actor("Rosa Parks"))
Traceback (most recent call last):
...
civicml._errors.GovernanceError: Rosa Parks registered benefits v3, so Rosa Parks cannot approve it (two-person rule). Ask another person who holds the approver role to run 'civicml models approve benefits 3 --reason TEXT' as themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from civicml._errors import ConflictError, GovernanceError, RegistryError
from civicml.registry._identity import Actor
from civicml.registry._law import (
    check_legal,
    dpia_problems,
    legal_problems,
    merge_legal,
    special_inputs_from_bundle,
)
from civicml.registry._lifecycle import review_months
from civicml.registry._names import check_alias, check_text
from civicml.registry._records import OVERSIGHT_MODES, ModelVersion

__all__ = [
    "LAWFUL_BASES",
    "NON_SERVING_ALIASES",
    "NON_SERVING_ENV",
    "PRODUCTION",
    "check_lawful_basis",
    "check_legal",
    "governance_changes",
    "check_oversight",
    "lawful_basis_id",
    "check_two_person",
    "checks_from_bundle",
    "governance_from_bundle",
    "legal_from_bundle",
    "merge_legal",
    "non_serving_aliases",
    "promotion_problems",
    "require_promotable",
]

#: the alias a bare model name resolves to; always a serving alias
PRODUCTION = "production"
#: aliases that never serve unless configured otherwise: any version not rejected may take them
NON_SERVING_ALIASES: tuple[str, ...] = ("staging", "challenger")
#: the environment variable that replaces the non-serving set (comma-separated; empty: none)
NON_SERVING_ENV = "CIVICML_NON_SERVING_ALIASES"

_OWNER_KEYS = ("organisation", "team", "senior_responsible_owner", "contact")

#: UK GDPR Art. 6(1): the canonical id of each lawful basis, in the Article's order (a)-(f)
LAWFUL_BASES: dict[str, str] = {
    "consent": "6(1)(a) consent",
    "contract": "6(1)(b) contract",
    "legal-obligation": "6(1)(c) legal obligation",
    "vital-interests": "6(1)(d) vital interests",
    "public-task": "6(1)(e) public task",
    "legitimate-interests": "6(1)(f) legitimate interests",
}
_BASIS_BY_LETTER = dict(zip("abcdef", LAWFUL_BASES, strict=True))
# "6(1)(e)", "art6-1-e", "Art. 6(1)(e)", "UK GDPR Article 6(1)(e)", "6.1.e"
_ARTICLE_REF = re.compile(
    r"(?:uk[\s-]*gdpr[\s,-]*)?(?:art(?:icle)?\.?[\s-]*)?"
    r"6\s*(?:\(1\)|[-.\s]1)\s*(?:\(([a-f])\)|[-.\s]([a-f]))"
)


def same_person(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def non_serving_aliases(value: str | Iterable[str] | None = None) -> frozenset[str]:
    """The non-serving alias set from a setting: ``None`` gives the default, a string is
    comma-separated. Names are normalised; ``production`` can never be non-serving.

    >>> sorted(non_serving_aliases())
    ['challenger', 'staging']
    >>> sorted(non_serving_aliases("Staging, QA"))
    ['qa', 'staging']
    >>> non_serving_aliases("")
    frozenset()
    >>> non_serving_aliases("PRODUCTION")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The alias 'production' cannot be non-serving. ...
    """
    if value is None:
        value = NON_SERVING_ALIASES
    items = value.split(",") if isinstance(value, str) else list(value)
    names = frozenset(check_alias(str(a).strip()) for a in items if str(a).strip())
    if PRODUCTION in names:
        raise RegistryError.build(
            f"The alias {PRODUCTION!r} cannot be non-serving",
            expected="a list of aliases that never serve, such as 'staging,challenger'",
            got=sorted(names),
            fix=f"Remove {PRODUCTION!r} from {NON_SERVING_ENV} (or non_serving_aliases)",
        )
    return names


def check_oversight(
    mode: str | None, lawful_basis: str | None, version: ModelVersion | None = None
) -> None:
    """Refuse an unknown oversight mode; given ``version`` (as it is being put forward for
    approval), refuse a solely-automated one without the Art. 22C safeguards or, when it uses
    special-category inputs, without an accepted Art. 9(2) condition
    (:func:`~civicml.registry._law.legal_problems`).

    >>> check_oversight("advisory", None)
    >>> check_oversight("automatic", None)
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The human oversight mode 'automatic' is not known. ...
    >>> v = ModelVersion("m", 1, "a" * 64, "registered", "t", "rosa", oversight="solely-automated")
    >>> check_oversight(None, None, v)
    Traceback (most recent call last):
    ...
    civicml._errors.GovernanceError: m v1 is solely-automated, so it cannot be put forward for approval: it has no record of the Art. 22C safeguards ...
    """
    if mode is not None and mode not in OVERSIGHT_MODES:
        raise RegistryError.build(
            f"The human oversight mode {mode!r} is not known",
            expected=f"one of {list(OVERSIGHT_MODES)}",
            got=mode,
            fix="Pass --oversight with one of the expected modes",
        )
    if version is None:
        return
    problems = legal_problems(version.name, version.version, version.oversight, version.legal)
    if problems:
        raise GovernanceError.build(
            f"{version.name} v{version.version} is solely-automated, so it cannot be put forward "
            "for approval: it has " + "; ".join(problems),
            fix="Record what is missing (the same options work on 'civicml models "
            "request-approval'), or choose --oversight human-in-the-loop or advisory",
        )


def lawful_basis_id(value: object) -> str | None:
    """The canonical UK GDPR Art. 6(1) basis ``value`` names, or ``None`` when it names none.

    Case, spaces and underscores do not matter; ``6(1)(e)`` and ``art6-1-e`` name a basis by
    its letter.

    >>> [lawful_basis_id(v) for v in ("Public-Task", "6(1)(e)", "art6-1-f", "legal obligation")]
    ['public-task', 'public-task', 'legitimate-interests', 'legal-obligation']
    >>> lawful_basis_id("public interest") is None
    True
    """
    if not isinstance(value, str):
        return None
    text = " ".join(value.split()).casefold()
    key = re.sub(r"[\s_]+", "-", text)
    if key in LAWFUL_BASES:
        return key
    ref = _ARTICLE_REF.fullmatch(text)
    return _BASIS_BY_LETTER[ref.group(1) or ref.group(2)] if ref else None


def check_lawful_basis(value: object) -> str:
    """The canonical id of a lawful basis being recorded, or :class:`RegistryError`.

    Public authorities cannot rely on legitimate interests for their public tasks; that is the
    data protection officer's judgement, not checked here.

    >>> check_lawful_basis("6(1)(e)")
    'public-task'
    >>> check_lawful_basis("x")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The lawful basis 'x' is not one of UK GDPR Art. 6(1)(a)...
    """
    basis = lawful_basis_id(value)
    if basis is None:
        raise RegistryError.build(
            f"The lawful basis {value!r} is not one of UK GDPR Art. 6(1)(a)\u2013(f)",
            expected=f"one of {list(LAWFUL_BASES)} (or 6(1)(a)...6(1)(f))",
            got=value,
            fix="Pass --lawful-basis with one of the expected ids, e.g. 'public-task'",
        )
    return basis


def check_two_person(
    version: ModelVersion,
    approver: Actor,
    *,
    requester: str | None = None,
    server: bool = False,
    verb: str = "approve",
) -> None:
    """Refuse a decision by the person who registered the version or asked for its approval,
    and, in server mode, by anyone not verified or without the approver role.

    >>> v = ModelVersion("m", 1, "a" * 64, "pending_approval", "t", "rosa")
    >>> check_two_person(v, Actor("ada"), requester="bo")
    >>> check_two_person(v, Actor("Bo"), requester="bo")
    Traceback (most recent call last):
    ...
    civicml._errors.GovernanceError: bo asked for the approval of m v1, so Bo cannot approve it (the requester, the registrant and the approver are three people). ...
    """
    fix = (
        f"Ask another person who holds the approver role to run 'civicml models {verb} "
        f"{version.name} {version.version} --reason TEXT' as themselves"
    )
    if same_person(version.created_by, approver.name):
        raise GovernanceError.build(
            f"{version.created_by} registered {version.name} v{version.version}, so "
            f"{approver.name} cannot {verb} it (two-person rule)",
            fix=fix,
        )
    if requester is not None and same_person(requester, approver.name):
        raise GovernanceError.build(
            f"{requester} asked for the approval of {version.name} v{version.version}, so "
            f"{approver.name} cannot {verb} it (the requester, the registrant and the approver "
            "are three people)",
            fix=fix,
        )
    if server and not (approver.verified and approver.holds("approver")):
        raise GovernanceError.build(
            f"{approver.name} does not hold the approver role, so cannot {verb} "
            f"{version.name} v{version.version}",
            expected="a signed-in person whose roles include 'approver' (or 'admin')",
            got=f"roles {list(approver.roles)}",
            fix="Ask an admin to map your group to the approver role, or ask an approver",
        )


#: what a DPIA screening can conclude (civicml.spec.DPIA_RESULTS; the registry does not import
#: the spec package)
DPIA_RESULTS = ("required", "advisable", "not indicated")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def governance_from_bundle(bundle: Any) -> dict[str, Any]:
    """Owner, intended use, out-of-scope uses and oversight from the bundle's spec, and
    ``legal``: the special-category inputs its ``model_info.json`` records
    (:func:`legal_from_bundle`).

    Reads ``spec.json`` (the ProjectSpec that ``civicml run`` writes) or else the ``spec`` entry
    of ``lineage.json``. Keys that are absent are left out.
    """
    out: dict[str, Any] = {}
    legal = legal_from_bundle(bundle)
    if legal is not None:
        out["legal"] = legal
    spec: Any = None
    if bundle.has("spec.json"):
        spec = bundle.read_json("spec.json")
    elif bundle.has("lineage.json"):
        spec = (bundle.read_json("lineage.json") or {}).get("spec")
    if not isinstance(spec, dict):
        return out
    owner = spec.get("owner")
    if isinstance(owner, dict):
        out["owner"] = {k: _text(owner.get(k)) for k in _OWNER_KEYS if _text(owner.get(k))}
    if _text(spec.get("intended_use")):
        out["intended_use"] = _text(spec["intended_use"])
    uses = spec.get("out_of_scope_uses")
    if isinstance(uses, list):
        out["out_of_scope_uses"] = [u.strip() for u in uses if _text(u)]
    nested = spec.get("governance")
    gov: dict[str, Any] = nested if isinstance(nested, dict) else spec
    if _text(gov.get("oversight")):
        out["oversight"] = _text(gov["oversight"])
    if _text(gov.get("lawful_basis")):
        out["lawful_basis"] = _text(gov["lawful_basis"])
    return out


def legal_from_bundle(bundle: Any) -> dict[str, Any] | None:
    """The registry-kept part of the legal record: the special-category inputs the bundle's
    model uses (``model_info.json`` key ``special_category``) and its DPIA screening
    (``dpia_screen.json``), or ``None`` without either."""
    out: dict[str, Any] = {}
    inputs = special_inputs_from_bundle(bundle)
    if inputs is not None:
        out["special_category_inputs"] = inputs
    spec = bundle.read_json("spec.json") if bundle.has("spec.json") else {}
    if isinstance(spec, dict) and spec.get("review_every") is not None:
        out["review_every_months"] = review_months(spec["review_every"])
    if bundle.has("dpia_screen.json"):
        screen = bundle.read_json("dpia_screen.json")
        if isinstance(screen, dict) and screen.get("result") in DPIA_RESULTS:
            out["dpia_screen"] = {
                "result": screen["result"],
                "criteria": [
                    {"id": str(c.get("id")), "met": c.get("met"), "why": str(c.get("why") or "")}
                    for c in screen.get("criteria") or []
                    if isinstance(c, dict)
                ],
            }
    return out or None


def checks_from_bundle(bundle: Any) -> tuple[list[dict[str, Any]], bool | None]:
    """The bundle's assessment checks and whether all passed (``None`` when absent)."""
    if not bundle.has("checks.json"):
        return [], None
    doc = bundle.read_json("checks.json")
    items = doc.get("checks") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise RegistryError.build(
            "The bundle's checks.json is malformed",
            expected='{"checks": [{"name": str, "passed": bool, "evidence": str}]}',
            got=type(doc).__name__,
            fix="Rebuild the bundle with 'civicml run'",
        )
    checks = [
        {
            "name": str(c.get("name", "")),
            "passed": c.get("passed") is True,
            "evidence": str(c.get("evidence", "")),
        }
        for c in items
        if isinstance(c, dict) and c.get("status") != "not_checked"  # counts neither way
    ]
    return checks, bool(checks) and all(c["passed"] for c in checks)


def promotion_problems(version: ModelVersion) -> list[str]:
    """Everything that stops ``version`` from taking a serving alias (empty: none)."""
    owner = version.owner or {}
    problems = []
    if not _text(owner.get("team")):
        problems.append("no owner team")
    if not _text(owner.get("senior_responsible_owner")):
        problems.append("no senior responsible owner")
    if not _text(owner.get("contact")):
        problems.append("no owner contact")
    if not _text(version.intended_use):
        problems.append("no intended use")
    if not version.out_of_scope_uses:
        problems.append("no out-of-scope uses")
    if version.oversight not in OVERSIGHT_MODES:
        problems.append("no human oversight mode")
    elif version.oversight == "solely-automated" and not _text(version.lawful_basis):
        problems.append("a solely-automated model with no recorded lawful basis")
    if _text(version.lawful_basis) and lawful_basis_id(version.lawful_basis) is None:
        problems.append(
            f"lawful basis {version.lawful_basis!r} is not one of UK GDPR Art. 6(1)(a)\u2013(f)"
        )
    problems.extend(legal_problems(version.name, version.version, version.oversight, version.legal))
    problems.extend(
        dpia_problems(version.name, version.version, version.oversight, version.legal or {})
    )
    if version.checks_passed is not True and not version.override_reason:
        if version.checks_passed is None:
            problems.append("no assessment checks (checks.json) and no recorded override")
        else:
            failed = [c["name"] for c in version.checks if not c.get("passed")]
            problems.append(
                f"failing checks {failed} and no recorded override (an approver records one "
                f"with 'civicml models override {version.name} {version.version} --reason TEXT')"
            )
    if version.status != "approved":
        problems.append(f"status {version.status!r}, not 'approved'")
    elif same_person(version.approved_by, version.created_by):  # defence in depth
        problems.append("an approval by the person who registered it")
    return problems


def require_promotable(
    version: ModelVersion, alias: str, more: Sequence[str] | None = None
) -> None:
    """Raise :class:`GovernanceError` naming every unmet requirement for a serving alias
    (:func:`promotion_problems` and the ``more`` a caller found, e.g. the ATRS record's gaps)."""
    problems = [*promotion_problems(version), *(more or ())]
    if problems:
        raise GovernanceError.build(
            f"{version.name} v{version.version} cannot take the {alias!r} alias, which is a "
            "serving alias: it has " + "; ".join(problems),
            fix=(
                f"Record what is missing ('civicml models request-approval {version.name} "
                f"{version.version}' takes --oversight, --lawful-basis, --team and the other "
                "owner fields), then have another person approve it; complete the ATRS record "
                f"('civicml atrs check {version.name} {version.version}', then 'civicml atrs fill') "
                "or have another person record an exemption ('civicml atrs exempt'); to try it "
                "without serving, use a non-serving alias such as 'staging'"
            ),
        )


def governance_changes(
    owner: Mapping[str, Any] | None,
    intended_use: str | None,
    out_of_scope_uses: Sequence[str] | None,
    oversight: str | None,
    lawful_basis: str | None,
    current_owner: Mapping[str, Any] | None = None,
    legal: Mapping[str, Any] | None = None,
    current_legal: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The version fields a governance write changes, each checked (``None``: left alone);
    the owner and the legal record merge into what is recorded.

    >>> governance_changes({"team": "Benefits"}, None, None, "advisory", "6(1)(e)",
    ...                    current_owner={"contact": "b@example.gov.uk"})
    {'owner': {'contact': 'b@example.gov.uk', 'team': 'Benefits'}, 'oversight': 'advisory', 'lawful_basis': 'public-task'}
    """
    changes: dict[str, Any] = {}
    if owner is not None:
        merged = dict(current_owner or {})
        for key, value in dict(owner).items():
            if key not in _OWNER_KEYS:
                raise ConflictError.build(
                    f"{key!r} is not an owner field", expected=f"one of {list(_OWNER_KEYS)}"
                )
            if value is not None:
                merged[key] = check_text(value, f"owner {key}", limit=300)
        changes["owner"] = merged
    if intended_use is not None:
        changes["intended_use"] = check_text(intended_use, "intended use")
    if out_of_scope_uses is not None:
        changes["out_of_scope_uses"] = [
            check_text(u, "out-of-scope use") for u in out_of_scope_uses if str(u).strip()
        ]
    if oversight is not None:
        check_oversight(oversight, None)
        changes["oversight"] = oversight
    if lawful_basis is not None:
        changes["lawful_basis"] = check_lawful_basis(lawful_basis)
    if legal is not None:
        changes["legal"] = merge_legal(current_legal, check_legal(legal))
    return changes
