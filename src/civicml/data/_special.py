"""Special-category inputs (UK GDPR Art. 9(1)): found by column name and by values, or declared.

A model that takes racial or ethnic origin, religion, health, sexual orientation, political
opinions, trade-union membership, genetic or biometric data as an input may make a
solely-automated significant decision only under explicit consent or substantial public
interest (Art. 22B, Art. 9(2)); the registry checks that (``civicml.registry``). This module
finds such inputs so the check has something to bite on:

* **by name**: ``ethnicity``, ``EthnicGroup``, ``race``, ``nwhite``, ``bame``, ``religion``,
  ``faith``, ``disability``, ``diagnosis``, ``mental_health``, ``sexual_orientation``,
  ``trade_union``, ``union_member``, ``political_party``, ``genotype``, ``fingerprint``, ...
  A place or organisation named after health (``health_board_code``, ``nhs_trust``, ...) is
  not health data about the person, and is not reported.
* **by values**: a text column whose categories are mostly ethnic groups (White, Black,
  Asian, Mixed, ...), religions (Christian, Muslim, No religion, ...), sexual orientations
  (Heterosexual, Gay, Lesbian, Bisexual), political parties, health conditions or disability
  status. At least two different listed values must cover most rows, so a colour column that
  happens to hold ``white`` and ``black`` among many others is not reported.
* **declared** in civicml.yaml: ``columns.special_category: {column: category}`` wins over
  detection; ``{column: none}`` marks a false positive. A column named under ``protected:``
  for race, religion or belief, sexual orientation or disability counts as declared too.

Examples
--------
>>> special_category_by_name("EthnicGroup"), special_category_by_name("health_board_code")
('racial-or-ethnic-origin', None)
>>> import pandas as pd
>>> df = pd.DataFrame({"faith_code": [1, 2], "grp": ["Muslim", "Christian"], "age": [30, 41]})
>>> {f.column: (f.category, f.source) for f in find_special_categories(df)}
{'faith_code': ('religious-or-philosophical-beliefs', 'detected'), 'grp': ('religious-or-philosophical-beliefs', 'detected')}
>>> find_special_categories(df, declared={"grp": "none", "age": None}, columns=["grp", "age"])
[]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from civicml._errors import DataError

__all__ = [
    "SPECIAL_CATEGORIES",
    "SpecialFinding",
    "find_special_categories",
    "special_category_by_name",
    "special_category_by_values",
    "special_category_record",
]

#: UK GDPR Art. 9(1) special categories, id -> plain English (the same ids as
#: ``civicml.registry.SPECIAL_CATEGORIES`` and the spec's ``columns.special_category``)
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
_RACE, _POLITICS, _RELIGION, _UNION, _GENETIC, _BIOMETRIC, _HEALTH, _SEXUAL = SPECIAL_CATEGORIES

# -- by name ------------------------------------------------------------------------------
# (category, whole tokens, stems found anywhere in the joined name, pairs of tokens, and
# tokens that make the name about something else)
_Rule = tuple[str, frozenset[str], tuple[str, ...], tuple[tuple[str, ...], ...], frozenset[str]]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NAME_RULES: tuple[_Rule, ...] = (
    (
        _RACE,
        _words(
            "race races racial eth ethn ethgrp ethnic ethnicity ethnicities bame bme nwhite "
            "nonwhite white black caste"
        ),
        ("ethnic", "racial", "nonwhite"),
        (("skin", "colour"), ("skin", "color"), ("skin", "tone"), ("non", "white")),
        _words(
            "list board space paper goods collar box noise point balance hole horse car track "
            "friday"
        ),
    ),
    (
        _RELIGION,
        _words(
            "relig religion religions religious faith faiths belief beliefs muslim christian "
            "hindu sikh jewish buddhist atheist"
        ),
        ("religio",),
        (("religious", "belief"), ("philosophical", "belief"), ("philosophical", "beliefs")),
        _words("good bad"),
    ),
    (
        _SEXUAL,
        _words(
            "sexuality sexor sexorient lgb lgbt lgbtq lgbtqia lgbtq+ gay lesbian bisexual "
            "heterosexual homosexual"
        ),
        ("sexualorient", "sexorientation", "sexuality", "sexlife"),
        (
            ("sexual", "orientation"),
            ("sexual", "identity"),
            ("sexual", "life"),
            ("sexual", "partner"),
            ("sexual", "partners"),
            ("sexual", "preference"),
            ("sexual", "activity"),
            ("sexual", "behaviour"),
            ("sexual", "behavior"),
            ("sex", "life"),
        ),
        frozenset(),
    ),
    (
        _HEALTH,
        _words(
            "health disability disabilities disabled disab diagnosis diagnoses diagnosed diag "
            "dx icd icd10 icd9 medical medication medications illness illnesses impairment "
            "sickness disease diseases comorbidity comorbidities symptom symptoms clinical "
            "prescription prescriptions pregnancy pregnant bmi hiv cancer diabetes diabetic "
            "asthma dementia depression"
        ),
        ("health", "disabilit", "diagnos", "medical", "illness", "impairment", "comorbid"),
        (("mental", "health"), ("long", "term", "condition"), ("learning", "difficulty")),
        _words(
            "board trust authority area region hb lhb ccg icb org organisation organization "
            "provider centre center service services district visitor insurance safety "
            "account feature button login option setting"
        ),
    ),
    (
        _POLITICS,
        _words(
            "political politics polit party referendum brexit voted votingintention voteintention"
        ),
        ("political", "votingintention", "voteintention"),
        (
            ("voting", "intention"),
            ("vote", "intention"),
            ("vote", "choice"),
            ("party", "affiliation"),
        ),
        _words("third 3rd counter working responsible paying injured other size"),
    ),
    (
        _UNION,
        _words("unionised unionized"),
        ("tradeunion", "unionmember", "unionised", "unionized", "unionrep"),
        (
            ("trade", "union"),
            ("union", "member"),
            ("union", "membership"),
            ("union", "rep"),
            ("tu", "member"),
            ("tu", "membership"),
        ),
        _words("credit european eu"),
    ),
    (
        _GENETIC,
        _words(
            "genetic genetics genotype genotypes genome genomic dna snp gene genes allele "
            "alleles brca brca1 brca2"
        ),
        ("genetic", "genotype", "genome", "genomic", "allele"),
        (),
        frozenset(),
    ),
    (
        _BIOMETRIC,
        _words(
            "biometric biometrics fingerprint fingerprints faceprint voiceprint iris retina "
            "retinal facial gait"
        ),
        ("biometric", "faceprint", "voiceprint"),
        (
            ("face", "embedding"),
            ("face", "template"),
            ("face", "encoding"),
            ("face", "vector"),
            ("face", "match"),
            ("face", "geometry"),
        ),
        _words("hash sha md5 digest row data file dataset etl model schema"),
    ),
)


def _tokens(name: str) -> list[str]:
    """``'EthnicGroup_2'`` -> ``['ethnic', 'group']``: camelCase and separators split, a
    trailing number dropped."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    words = re.split(r"[^A-Za-z0-9+]+", spaced.casefold())
    out = []
    for w in words:
        w = re.sub(r"(?<=[a-z])\d+$", "", w) if not re.fullmatch(r"(icd|brca)\d+", w) else w
        if w:
            out.append(w)
    return out


def special_category_by_name(column: str) -> str | None:
    """The Art. 9(1) category a column's name points to, or ``None``.

    >>> [special_category_by_name(c) for c in ("nwhite", "Religion", "union_member", "sex")]
    ['racial-or-ethnic-origin', 'religious-or-philosophical-beliefs', 'trade-union-membership', None]
    """
    tokens = _tokens(column)
    if not tokens:
        return None
    joined = "".join(tokens)
    present = set(tokens)
    for category, words, stems, pairs, unless in _NAME_RULES:
        if present & unless:
            continue
        if (
            present & words
            or any(s in joined for s in stems)
            or any(all(t in present for t in group) for group in pairs)
        ):
            return category
    return None


# -- by values ----------------------------------------------------------------------------
def _vocab(text: str) -> frozenset[str]:
    return frozenset(v.strip() for v in text.split(";") if v.strip())


_VALUE_VOCAB: tuple[tuple[str, frozenset[str]], ...] = (
    (
        _RACE,
        _vocab(
            "white; white british; white irish; white english; white other; any other white "
            "background; black; black british; black african; black caribbean; african; "
            "caribbean; asian; asian british; indian; pakistani; bangladeshi; chinese; mixed; "
            "mixed race; mixed white and black caribbean; mixed white and black african; "
            "mixed white and asian; multiple ethnic groups; arab; gypsy or irish traveller; "
            "irish traveller; roma; bame; bme; non white; nonwhite; ethnic minority; "
            "caucasian; hispanic; latino; latina; african american; other ethnic group; "
            "any other ethnic group"
        ),
    ),
    (
        _RELIGION,
        _vocab(
            "christian; christianity; church of england; church of scotland; anglican; "
            "catholic; roman catholic; protestant; methodist; baptist; presbyterian; orthodox; "
            "muslim; islam; islamic; hindu; hinduism; jewish; judaism; jew; sikh; sikhism; "
            "buddhist; buddhism; no religion; atheist; agnostic; humanist; other religion; "
            "any other religion; jain; bahai; pagan; rastafarian; zoroastrian"
        ),
    ),
    (
        _SEXUAL,
        _vocab(
            "heterosexual; straight; heterosexual or straight; straight or heterosexual; gay; "
            "lesbian; gay or lesbian; gay man; gay woman; bisexual; bi; pansexual; asexual; "
            "queer; homosexual; other sexual orientation; all other sexual orientations"
        ),
    ),
    (
        _POLITICS,
        _vocab(
            "labour; conservative; conservatives; tory; liberal democrat; liberal democrats; "
            "lib dem; snp; scottish national party; plaid cymru; green; green party; reform; "
            "reform uk; ukip; brexit party; dup; sinn fein; sdlp; uup; alliance; remain; leave"
        ),
    ),
    (
        _HEALTH,
        _vocab(
            "diabetes; type 1 diabetes; type 2 diabetes; asthma; depression; anxiety; cancer; "
            "hypertension; copd; dementia; schizophrenia; bipolar; hiv; epilepsy; stroke; "
            "arthritis; obesity; autism; adhd; heart disease; chronic kidney disease; ckd; "
            "mental health; learning disability; physical disability; visual impairment; "
            "hearing impairment; disabled; not disabled; no disability; has a disability; "
            "limited a lot; limited a little; not limited"
        ),
    ),
    (
        _UNION,
        _vocab("trade union member; member of a trade union; union member; not a union member"),
    ),
)
_IGNORED = _vocab(
    "other; unknown; not known; not stated; prefer not to say; refused; declined; missing; n/a; "
    "na; none; not recorded; not given; blank; any other; null"
)
_SEPARATORS = (" ", ":", ",", "(", "/")
#: a value column is read when it has at most this many distinct values
_MAX_DISTINCT = 60


def _norm(value: object) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", str(value)).casefold().split())


def _matches(value: str, vocab: frozenset[str]) -> bool:
    if value in vocab:
        return True
    return any(value.startswith(term + sep) for term in vocab for sep in _SEPARATORS)


def special_category_by_values(values: pd.Series) -> tuple[str, str] | None:
    """``(category, evidence)`` when a text column's values are mostly one category's, else
    ``None``. Numbers, dates and columns with many distinct values are not read.

    >>> s = pd.Series(["White British", "Asian", "Black", "White British", "Prefer not to say"])
    >>> special_category_by_values(s)
    ('racial-or-ethnic-origin', "values 'white british', 'asian', 'black' (100% of stated rows)")
    >>> special_category_by_values(pd.Series(["white", "black", "silver", "red", "blue"]))
    """
    if not (
        pd.api.types.is_object_dtype(values)
        or isinstance(values.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(values)
    ):
        return None
    raw = values.value_counts(dropna=True)
    raw = raw[raw > 0]
    if len(raw) > 2 * _MAX_DISTINCT:  # counted before normalising: cheap on big frames
        return None
    counts = raw.groupby([_norm(v) for v in raw.index]).sum().sort_values(ascending=False)
    if len(counts) > _MAX_DISTINCT:
        return None
    counts = counts[[v not in _IGNORED and v != "" for v in counts.index]]
    total = int(counts.sum())
    if total == 0:
        return None
    for category, vocab in _VALUE_VOCAB:
        matched = sorted(
            (v for v in counts.index if _matches(v, vocab)), key=lambda v: (-counts[v], v)
        )
        share = float(counts[matched].sum()) / total
        if len(matched) >= 2 and share >= 0.6 and len(matched) / len(counts) >= 0.5:
            shown = ", ".join(repr(v) for v in matched[:3])
            return category, f"values {shown} ({share:.0%} of stated rows)"
    return None


# -- findings -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SpecialFinding:
    """A column holding (or declared to hold) one Art. 9(1) special category.

    ``source`` is ``"declared"`` (civicml.yaml) or ``"detected"``; ``evidence`` says why.
    """

    column: str
    category: str
    source: str
    evidence: str

    @property
    def label(self) -> str:
        """The category in plain English."""
        return SPECIAL_CATEGORIES[self.category]

    def to_dict(self) -> dict[str, str]:
        """``{"category", "source", "evidence"}`` for ``model_info.json``."""
        return {"category": self.category, "source": self.source, "evidence": self.evidence}


#: Equality Act 2010 characteristics (``protected:`` in civicml.yaml) that are Art. 9(1) data
_FROM_PROTECTED = {
    "race": _RACE,
    "religion_or_belief": _RELIGION,
    "sexual_orientation": _SEXUAL,
    "disability": _HEALTH,
}


def _declared_category(column: str, value: object) -> str | None:
    if value is None or (isinstance(value, str) and _norm(value) in ("none", "no", "")):
        return None
    key = re.sub(r"[\s_]+", "-", str(value).strip().casefold())
    if key not in SPECIAL_CATEGORIES:
        raise DataError.build(
            f"columns.special_category declares {column!r} as {value!r}, which is not an "
            "Art. 9(1) special category",
            expected=f"one of {list(SPECIAL_CATEGORIES)} or 'none'",
            got=value,
            fix="Fix columns.special_category in civicml.yaml",
        )
    return key


def find_special_categories(
    data: pd.DataFrame | Iterable[str],
    *,
    declared: Mapping[str, str | None] | None = None,
    columns: Iterable[str] | None = None,
    protected: Mapping[str, str] | None = None,
) -> list[SpecialFinding]:
    """Special-category columns among ``columns`` (default: all of ``data``).

    ``data`` is a DataFrame (names and values are read) or column names (names only).
    ``declared`` maps a column to its category id, or to ``None``/``"none"`` for a column that
    detection reports wrongly; a declaration always wins. ``protected`` is the spec's
    Equality Act mapping (characteristic -> column): race, religion or belief, sexual
    orientation and disability columns count as declared, unless ``declared`` names them.
    """
    frame = data if isinstance(data, pd.DataFrame) else None
    names = [str(c) for c in (columns if columns is not None else data)]
    declared = dict(declared or {})
    as_protected = {
        str(col): (_FROM_PROTECTED[char], char)
        for char, col in (protected or {}).items()
        if char in _FROM_PROTECTED
    }
    found = []
    for name in names:
        if name in as_protected and name not in declared:
            category, char = as_protected[name]
            evidence = f"declared in civicml.yaml as the protected characteristic {char!r}"
            found.append(SpecialFinding(name, category, "declared", evidence))
            continue
        if name in declared:
            said = _declared_category(name, declared[name])
            if said is not None:
                found.append(SpecialFinding(name, said, "declared", "declared in civicml.yaml"))
            continue
        by_name = special_category_by_name(name)
        if by_name is not None:
            found.append(SpecialFinding(name, by_name, "detected", f"its name {name!r}"))
            continue
        if frame is not None and name in frame.columns:
            by_values = special_category_by_values(frame[name])
            if by_values is not None:
                found.append(SpecialFinding(name, by_values[0], "detected", by_values[1]))
    return found


def special_category_record(
    data: pd.DataFrame | Iterable[str],
    features: Iterable[str],
    declared: Mapping[str, str | None] | None = None,
    protected: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The record a bundle keeps in ``model_info.json`` under ``special_category``: each
    special-category *input* of the model, ``{column: {"category", "source", "evidence"}}``
    (``declared`` and ``protected`` as in :func:`find_special_categories`).

    >>> special_category_record(["race", "sex", "age"], ["race", "sex"])
    {'race': {'category': 'racial-or-ethnic-origin', 'source': 'detected', 'evidence': "its name 'race'"}}
    """
    found = find_special_categories(
        data, declared=declared, columns=list(features), protected=protected
    )
    return {f.column: f.to_dict() for f in found}
