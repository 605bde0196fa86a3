"""The law's conditions for solely-automated significant decisions, as fixed lists.

A version's ``legal`` record holds what UK GDPR asks of a *solely-automated* significant
decision beyond its Art. 6(1) lawful basis (see :mod:`civicml.registry._governance`):

* ``safeguards``: the Data (Use and Access) Act 2025 Art. 22C safeguards, each as text saying
  how it is done: ``information`` (the person is told about the decision), ``contest`` (they
  can make representations about it and contest it) and ``human_intervention`` (a person
  reconsiders it on request). See :data:`SAFEGUARDS`.
* ``special_category``: when the model uses Art. 9(1) special-category inputs
  (:data:`SPECIAL_CATEGORIES`), the Art. 22B(2) / Art. 9(2) condition relied on
  (:data:`ART9_CONDITIONS`): ``explicit-consent`` (9(2)(a)) or ``substantial-public-interest``
  (9(2)(g)), the latter with the Data Protection Act 2018 Schedule 1 Part 2 condition
  (:data:`SCHEDULE_1_PART_2`) under ``schedule1``.
* ``special_category_inputs``: the special-category columns the model uses, read from the
  bundle's ``model_info.json`` when it is registered (never typed by a person).

Examples
--------
>>> check_legal({"special_category": {"condition": "9(2)(g)", "schedule1": "6"}})
{'special_category': {'condition': 'substantial-public-interest', 'schedule1': 'para-6'}}
>>> check_legal({"safeguards": {"phone": "x"}})
Traceback (most recent call last):
...
civicml._errors.RegistryError: 'phone' is not an Art. 22C safeguard. ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from civicml._errors import RegistryError

__all__ = [
    "ART9_CONDITIONS",
    "DPIA_KEYS",
    "LEGAL_KEYS",
    "SAFEGUARDS",
    "SCHEDULE_1_PART_2",
    "SPECIAL_CATEGORIES",
    "art9_condition_id",
    "check_legal",
    "dpia_problems",
    "dpia_result",
    "legal_from_fields",
    "legal_problems",
    "merge_legal",
    "schedule1_id",
    "special_category_id",
    "special_inputs_from_bundle",
]

#: UK GDPR Art. 9(1): the special categories of personal data, id -> plain English
SPECIAL_CATEGORIES: dict[str, str] = {
    "racial-or-ethnic-origin": "racial or ethnic origin",
    "political-opinions": "political opinions",
    "religious-or-philosophical-beliefs": "religious or philosophical beliefs",
    "trade-union-membership": "trade union membership",
    "genetic": "genetic data",
    "biometric": "biometric data used to identify a person",
    "health": "data concerning health",
    "sex-life-or-sexual-orientation": "sex life or sexual orientation",
}

#: the Art. 9(2) conditions the registry accepts for a solely-automated significant decision
#: that uses special-category data (Art. 22B(2) as inserted by the Data (Use and Access) Act 2025)
ART9_CONDITIONS: dict[str, str] = {
    "explicit-consent": "9(2)(a) explicit consent",
    "substantial-public-interest": "9(2)(g) substantial public interest",
}
_ART9_BY_LETTER = {"a": "explicit-consent", "g": "substantial-public-interest"}
# "9(2)(g)", "art9-2-g", "Art. 9(2)(g)", "UK GDPR Article 9(2)(a)"
_ART9_REF = re.compile(
    r"(?:uk[\s-]*gdpr[\s,-]*)?(?:art(?:icle)?\.?[\s-]*)?"
    r"9\s*(?:\(2\)|[-.\s]2)\s*(?:\(([a-j])\)|[-.\s]([a-j]))"
)

#: Data Protection Act 2018 Schedule 1 Part 2: the substantial public interest conditions
#: (paragraphs 6-28), id -> the paragraph's heading
SCHEDULE_1_PART_2: dict[str, str] = {
    "para-6": "statutory and government purposes",
    "para-7": "administration of justice and parliamentary purposes",
    "para-8": "equality of opportunity or treatment",
    "para-9": "racial and ethnic diversity at senior levels of organisations",
    "para-10": "preventing or detecting unlawful acts",
    "para-11": "protecting the public against dishonesty",
    "para-12": "regulatory requirements relating to unlawful acts and dishonesty",
    "para-13": "journalism in connection with unlawful acts and dishonesty",
    "para-14": "preventing fraud",
    "para-15": "suspicion of terrorist financing or money laundering",
    "para-16": "support for individuals with a particular disability or medical condition",
    "para-17": "counselling",
    "para-18": "safeguarding of children and of individuals at risk",
    "para-19": "safeguarding of economic well-being of certain individuals",
    "para-20": "insurance",
    "para-21": "occupational pensions",
    "para-22": "political parties",
    "para-23": "elected representatives responding to requests",
    "para-24": "disclosure to elected representatives",
    "para-25": "informing elected representatives about prisoners",
    "para-26": "publication of legal judgments",
    "para-27": "anti-doping in sport",
    "para-28": "standards of behaviour in sport",
}
# "6", "para 6", "paragraph 6", "para-6", "sch1-para-6", "Schedule 1 Part 2 paragraph 6"
_SCHEDULE_REF = re.compile(
    r"(?:(?:dpa[\s-]*(?:2018)?[\s,-]*)?(?:sch(?:edule)?\.?[\s-]*1[\s,-]*)"
    r"(?:(?:pt\.?|part)[\s-]*2[\s,-]*)?)?(?:p|para(?:graph)?\.?)?[\s-]*(\d{1,2})"
)

#: Art. 22C(2) safeguards (Data (Use and Access) Act 2025), key -> what it asks for
SAFEGUARDS: dict[str, str] = {
    "information": "Art. 22C(2)(a) information to the person about the decision",
    "contest": "Art. 22C(2)(b),(d) a way to make representations about and contest it",
    "human_intervention": "Art. 22C(2)(c) human intervention on the person's request",
}
#: the CLI option that records each safeguard
_SAFEGUARD_OPTION = {
    "information": "--safeguard-information",
    "contest": "--safeguard-contest",
    "human_intervention": "--safeguard-human",
}
_SPECIAL_KEYS = ("condition", "schedule1")
#: what a person may record in ``legal``; ``special_category_inputs`` and ``dpia_screen`` come
#: from the bundle
LEGAL_KEYS: tuple[str, ...] = ("safeguards", "special_category", "dpia")
_INPUTS = "special_category_inputs"
_SCREEN = "dpia_screen"
_REVIEW = "review_every_months"
_FROM_BUNDLE = (_INPUTS, _SCREEN, _REVIEW)
#: a Data Protection Impact Assessment's record: its reference (a document id or URL) and date
DPIA_KEYS = ("reference", "date")
_SOURCES = ("declared", "detected")
_SOURCE_WORDS = {"declared": "declared in civicml.yaml", "detected": "detected in the data"}


def _key(value: str) -> str:
    return re.sub(r"[\s_]+", "-", " ".join(value.split()).casefold())


def special_category_id(value: object) -> str | None:
    """The Art. 9(1) category id ``value`` names (any case; ``_`` or spaces for ``-``).

    >>> special_category_id("Racial_or_Ethnic_Origin"), special_category_id("sex")
    ('racial-or-ethnic-origin', None)
    """
    if not isinstance(value, str):
        return None
    key = _key(value)
    return key if key in SPECIAL_CATEGORIES else None


def art9_condition_id(value: object) -> str | None:
    """The accepted Art. 9(2) condition ``value`` names, or ``None``.

    >>> [art9_condition_id(v) for v in ("Explicit consent", "9(2)(g)", "art9-2-a", "9(2)(b)")]
    ['explicit-consent', 'substantial-public-interest', 'explicit-consent', None]
    """
    if not isinstance(value, str):
        return None
    key = _key(value)
    if key in ART9_CONDITIONS:
        return key
    ref = _ART9_REF.fullmatch(" ".join(value.split()).casefold())
    return _ART9_BY_LETTER.get(ref.group(1) or ref.group(2) or "") if ref else None


def schedule1_id(value: object) -> str | None:
    """The DPA 2018 Schedule 1 Part 2 condition ``value`` names, or ``None``.

    By paragraph number (``6``, ``para 6``, ``Schedule 1 paragraph 6``) or heading.

    >>> [schedule1_id(v) for v in ("6", "Para 10", "sch1-para-8", "preventing fraud", "5")]
    ['para-6', 'para-10', 'para-8', 'para-14', None]
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = " ".join(value.split()).casefold()
    ref = _SCHEDULE_REF.fullmatch(text)
    if ref:
        found = f"para-{int(ref.group(1))}"
        return found if found in SCHEDULE_1_PART_2 else None
    by_heading = {_key(v): k for k, v in SCHEDULE_1_PART_2.items()}
    return by_heading.get(_key(text))


def _schedule_list() -> str:
    return ", ".join(f"{k} ({v})" for k, v in list(SCHEDULE_1_PART_2.items())[:3]) + ", ..."


def _mapping(value: object, what: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RegistryError.build(
            f"The {what} must be a mapping", expected=f"keys from {list(keys)}", got=value
        )
    return value


def _safeguards(value: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, text in _mapping(value, "Art. 22C safeguards", tuple(SAFEGUARDS)).items():
        if key not in SAFEGUARDS:
            raise RegistryError.build(
                f"{key!r} is not an Art. 22C safeguard",
                expected=f"one of {list(SAFEGUARDS)}",
                got=key,
                fix="Record information, contest and human_intervention, each as text "
                "saying how it is done",
            )
        if text is None:
            continue
        clean = " ".join(text.split()) if isinstance(text, str) else ""
        if not clean or len(clean) > 2000:
            raise RegistryError.build(
                f"The safeguard {key!r} ({SAFEGUARDS[key]}) needs text saying how it is done",
                expected="1 to 2000 characters",
                got=text,
                fix=f"Pass {_SAFEGUARD_OPTION[key]} 'TEXT', e.g. 'Letter with the reasons and "
                "how to ask for a review'",
            )
        out[key] = clean
    return out


def _special(value: object) -> dict[str, str]:
    record = _mapping(value, "Art. 9 special-category record", _SPECIAL_KEYS)
    unknown = sorted(set(record) - set(_SPECIAL_KEYS))
    if unknown:
        raise RegistryError.build(
            f"{unknown[0]!r} is not part of the Art. 9 special-category record",
            expected=f"keys from {list(_SPECIAL_KEYS)}",
            got=unknown[0],
        )
    out: dict[str, str] = {}
    if record.get("condition") is not None:
        condition = art9_condition_id(record["condition"])
        if condition is None:
            raise RegistryError.build(
                f"The Art. 9(2) condition {record['condition']!r} is not one the registry "
                "accepts for a solely-automated decision",
                expected=f"one of {list(ART9_CONDITIONS)} (or 9(2)(a), 9(2)(g))",
                got=record["condition"],
                fix="Pass --art9-condition explicit-consent, or --art9-condition "
                "substantial-public-interest with --schedule1 PARA; otherwise keep a person "
                "in the loop (--oversight human-in-the-loop)",
            )
        out["condition"] = condition
    if record.get("schedule1") is not None:
        para = schedule1_id(record["schedule1"])
        if para is None:
            raise RegistryError.build(
                f"{record['schedule1']!r} is not a Data Protection Act 2018 Schedule 1 Part 2 "
                "condition",
                expected=f"a paragraph from 6 to 28: {_schedule_list()}",
                got=record["schedule1"],
                fix="Pass --schedule1 with the paragraph number, e.g. --schedule1 6",
            )
        out["schedule1"] = para
    if out.get("condition") == "explicit-consent" and "schedule1" in out:
        raise RegistryError.build(
            "A Schedule 1 condition goes with substantial-public-interest, not explicit-consent",
            got=out["schedule1"],
            fix="Drop --schedule1, or pass --art9-condition substantial-public-interest",
        )
    return out


def legal_from_fields(
    information: str | None = None,
    contest: str | None = None,
    human: str | None = None,
    art9: str | None = None,
    schedule1: str | None = None,
    dpia_ref: str | None = None,
    dpia_date: str | None = None,
) -> dict[str, Any] | None:
    """The ``legal`` record that form fields or CLI options give (``None``: none given; empty
    text counts as not given). :func:`check_legal` then checks it.

    >>> legal_from_fields(contest="Reply to the letter", art9="9(2)(a)", schedule1=" ")
    {'safeguards': {'contest': 'Reply to the letter'}, 'special_category': {'condition': '9(2)(a)'}}
    >>> legal_from_fields() is None
    True
    """

    def given(value: str | None) -> str | None:
        return value.strip() if isinstance(value, str) and value.strip() else None

    legal: dict[str, Any] = {}
    safeguards = {"information": information, "contest": contest, "human_intervention": human}
    kept = {k: given(v) for k, v in safeguards.items() if given(v)}
    if kept:
        legal["safeguards"] = kept
    special = {k: given(v) for k, v in {"condition": art9, "schedule1": schedule1}.items()}
    if any(special.values()):
        legal["special_category"] = {k: v for k, v in special.items() if v}
    dpia = {k: given(v) for k, v in {"reference": dpia_ref, "date": dpia_date}.items()}
    if any(dpia.values()):
        legal["dpia"] = {k: v for k, v in dpia.items() if v}
    return legal or None


def check_legal(record: object) -> dict[str, Any]:
    """Validate and normalise a ``legal`` record a person is recording.

    Unknown keys and values raise :class:`RegistryError`; ``None`` values are left out (they
    change nothing when merged, see :func:`merge_legal`).

    >>> check_legal({"safeguards": {"contest": "  Reply to the letter "}})
    {'safeguards': {'contest': 'Reply to the letter'}}
    >>> check_legal({"special_category_inputs": {}})
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The special-category inputs are read from the bundle, not recorded by hand. ...
    """
    legal = _mapping(record, "legal record", LEGAL_KEYS)
    out: dict[str, Any] = {}
    for key, value in legal.items():
        if key == _INPUTS:
            raise RegistryError.build(
                "The special-category inputs are read from the bundle, not recorded by hand",
                fix="Declare them in civicml.yaml (columns.special_category) and train again",
            )
        if key == _REVIEW:
            raise RegistryError.build(
                "The review period is read from the bundle, not recorded by hand",
                fix="Set review_every in civicml.yaml and train again",
            )
        if key == _SCREEN:
            raise RegistryError.build(
                "The DPIA screening is read from the bundle, not recorded by hand",
                fix="Answer the questions under data_protection: in civicml.yaml and train again",
            )
        if key not in LEGAL_KEYS:
            raise RegistryError.build(
                f"{key!r} is not part of a version's legal record",
                expected=f"keys from {list(LEGAL_KEYS)}",
                got=key,
            )
        if value is None:
            continue
        if key == "dpia":
            out[key] = _dpia(value)
        else:
            out[key] = _safeguards(value) if key == "safeguards" else _special(value)
    return out


def _dpia(value: object) -> dict[str, str]:
    """A DPIA record: a reference (text, at most 300 characters) and an ISO date not in the
    future.

    >>> _dpia({"reference": " DPIA-2026-014 ", "date": "2026-11-01"})
    {'reference': 'DPIA-2026-014', 'date': '2026-11-01'}
    """
    import datetime as dt

    record = _mapping(value, "DPIA record", DPIA_KEYS)
    unknown = sorted(set(record) - set(DPIA_KEYS))
    if unknown:
        raise RegistryError.build(
            f"{unknown[0]!r} is not part of a DPIA record", expected=f"keys from {list(DPIA_KEYS)}"
        )
    out: dict[str, str] = {}
    ref = record.get("reference")
    if ref is not None:
        text = str(ref).strip()
        if not text or len(text) > 300:
            raise RegistryError.build(
                "The DPIA reference is not usable",
                expected="a document id or web address of at most 300 characters",
                got=ref,
            )
        out["reference"] = text
    when = record.get("date")
    if when is not None:
        try:
            day = dt.date.fromisoformat(str(when).strip())
        except ValueError:
            day = None
        if day is None or day > dt.datetime.now(dt.UTC).date():
            raise RegistryError.build(
                "The DPIA date is not a date it could have been completed on",
                expected="an ISO date (YYYY-MM-DD), not in the future",
                got=when,
                fix="Give the date the DPIA was signed off, e.g. --dpia-date 2026-11-01",
            )
        out["date"] = day.isoformat()
    return out


def merge_legal(current: Mapping[str, Any] | None, change: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with a checked ``change`` merged in, one section at a time.

    Choosing ``explicit-consent`` drops a Schedule 1 condition recorded before.

    >>> merge_legal({"safeguards": {"information": "Letter"}},
    ...             {"safeguards": {"contest": "Reply"}})
    {'safeguards': {'information': 'Letter', 'contest': 'Reply'}}
    """
    merged: dict[str, Any] = {k: v for k, v in dict(current or {}).items()}
    for key, value in change.items():
        if isinstance(value, Mapping) and key not in _FROM_BUNDLE:
            section = {**dict(merged.get(key) or {}), **value}
            if key == "special_category" and section.get("condition") == "explicit-consent":
                section.pop("schedule1", None)
            merged[key] = section
        else:
            merged[key] = value
    return merged


def _inputs(doc: object) -> dict[str, dict[str, str]]:
    """Normalise a bundle's ``special_category`` record: ``{column: {category, source}}``
    (a bare category string reads as detected)."""
    if doc is None:
        return {}
    fix = "Rebuild the bundle with 'civicml run'"
    if not isinstance(doc, Mapping):
        raise RegistryError.build(
            "The bundle's special-category record is malformed",
            expected="{column: {'category': ..., 'source': 'declared' or 'detected'}}",
            got=type(doc).__name__,
            fix=fix,
        )
    out: dict[str, dict[str, str]] = {}
    for column, item in doc.items():
        entry = item if isinstance(item, Mapping) else {"category": item}
        category = special_category_id(entry.get("category"))
        source = entry.get("source", "detected")
        if category is None or source not in _SOURCES:
            raise RegistryError.build(
                f"The bundle's special-category record for column {column!r} is not valid",
                expected=f"a category from {list(SPECIAL_CATEGORIES)}, source in {list(_SOURCES)}",
                got=dict(entry),
                fix=fix,
            )
        out[str(column)] = {"category": category, "source": source}
    return out


def special_inputs_from_bundle(bundle: Any) -> dict[str, dict[str, str]] | None:
    """The special-category inputs the bundle's model uses (``model_info.json`` key
    ``special_category``, written by ``civicml run``), or ``None`` when it has no record."""
    info = bundle.info
    if not isinstance(info, Mapping) or "special_category" not in info:
        return None
    return _inputs(info["special_category"])


def dpia_result(oversight: str | None, legal: Mapping[str, Any] | None) -> str | None:
    """The DPIA screening's result for a version (``required``, ``advisable`` or ``not
    indicated``; None when its bundle has none), counting a solely-automated decision as the
    criterion it is even when the spec did not say so.

    >>> screen = {"result": "advisable", "criteria": [{"id": "evaluation_or_scoring",
    ...     "met": True}, {"id": "automated_decisions", "met": None}]}
    >>> dpia_result("advisable", {"dpia_screen": screen})
    'advisable'
    >>> dpia_result("solely-automated", {"dpia_screen": screen})
    'required'
    """
    screen = (legal or {}).get(_SCREEN)
    if not isinstance(screen, Mapping):
        return None
    criteria = [c for c in screen.get("criteria") or [] if isinstance(c, Mapping)]
    met = {c.get("id") for c in criteria if c.get("met")}
    if oversight == "solely-automated":
        met.add("automated_decisions")
    if len(met) >= 2:
        return "required"
    return "advisable" if met else str(screen.get("result") or "advisable")


def dpia_problems(
    name: str, version: int, oversight: str | None, legal: Mapping[str, Any]
) -> list[str]:
    """A required DPIA with no reference and date recorded (empty: none needed or recorded)."""
    if dpia_result(oversight, legal) != "required":
        return []
    dpia = legal.get("dpia") or {}
    if str(dpia.get("reference") or "").strip() and str(dpia.get("date") or "").strip():
        return []
    return [
        "a DPIA the screening says is required, with no reference and date recorded (record "
        + _command(name, version, "--dpia-ref REF --dpia-date YYYY-MM-DD")
        + ")"
    ]


def _command(name: str, version: int, options: str) -> str:
    return f"'civicml models governance {name} {version} {options}'"


def legal_problems(
    name: str, version: int, oversight: str | None, legal: Mapping[str, Any] | None
) -> list[str]:
    """What stops a solely-automated version from serving under Art. 22B and 22C (empty: none).

    >>> legal_problems("m", 1, "advisory", {})
    []
    >>> legal_problems("m", 1, "solely-automated", {"safeguards": {
    ...     "information": "Letter", "contest": "Reply", "human_intervention": "Phone"}})
    []
    """
    if oversight != "solely-automated":
        return []
    legal = legal or {}
    problems = []
    safeguards = legal.get("safeguards") or {}
    missing = [k for k in SAFEGUARDS if not str(safeguards.get(k) or "").strip()]
    if missing:
        options = " ".join(f"{_SAFEGUARD_OPTION[k]} TEXT" for k in missing)
        problems.append(
            "no record of the Art. 22C safeguards a solely-automated decision needs: "
            + ", ".join(SAFEGUARDS[k].split(" ", 2)[2] for k in missing)
            + f" (record how each is done with {_command(name, version, options)})"
        )
    inputs = {
        col: item if isinstance(item, Mapping) else {"category": item}
        for col, item in (legal.get(_INPUTS) or {}).items()
    }
    special = legal.get("special_category") or {}
    condition = special.get("condition")
    ok = condition == "explicit-consent" or (
        condition == "substantial-public-interest" and special.get("schedule1")
    )
    if inputs and not ok:
        used = ", ".join(
            f"{col} ({SPECIAL_CATEGORIES.get(item.get('category', ''), item.get('category'))}; "
            f"{_SOURCE_WORDS.get(item.get('source', ''), _SOURCE_WORDS['detected'])})"
            for col, item in sorted(inputs.items())
        )
        if condition == "substantial-public-interest":
            needed = (
                "Art. 9(2)(g) substantial public interest without its Data Protection Act "
                "2018 Schedule 1 Part 2 condition (record it with "
                + _command(name, version, "--schedule1 PARA")
                + f", PARA from 6 to 28: {_schedule_list()})"
            )
        else:
            needed = (
                "no Art. 9(2) condition (record "
                + _command(name, version, "--art9-condition explicit-consent")
                + " or "
                + _command(
                    name, version, "--art9-condition substantial-public-interest --schedule1 PARA"
                )
                + ")"
            )
        problems.append(
            f"special-category inputs (UK GDPR Art. 9) {used} in a solely-automated decision "
            f"with {needed}"
        )
    return problems
