"""The UK personal-data scan: validators for UK identifiers and a vectorised column scanner.

The ``is_*`` validators answer "is this a valid identifier of that kind?" for one value. The
scanner answers "does this column hold personal data?" and is deliberately looser where the
shape alone makes a value personal: National Insurance numbers are detected by their shape
(two letters, six digits, A-D), so the ``QQ123456A``-style numbers used in test data, which are
*invalid* by DWP's rules and rejected by :func:`is_nino`, are still found. Identifiers made of
digits only (NHS numbers, UTRs, phone numbers) are reported only when at least half of the
checked values match, because about one random 10-digit number in ten passes a check digit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from civicml._errors import PersonalDataError

__all__ = [
    "PII_KINDS",
    "PIIFinding",
    "check_personal_data",
    "is_driving_licence",
    "is_email",
    "is_nhs_number",
    "is_nino",
    "is_passport",
    "is_postcode",
    "is_uk_phone",
    "is_utr",
    "scan_personal_data",
]

#: Each kind the scanner reports and how messages describe it. A kind found inside free text
#: is reported as e.g. ``"email (in text)"``.
PII_KINDS: dict[str, str] = {
    "nino": "National Insurance numbers",
    "nhs_number": "NHS numbers",
    "postcode": "postcodes",
    "phone": "UK phone numbers",
    "utr": "Unique Taxpayer References",
    "driving_licence": "driving licence numbers",
    "passport": "passport numbers",
    "email": "email addresses",
}

_STRIP = re.compile(r"[\s\-()\[\]{}]")
_NINO_DWP = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
_NINO_SHAPE = r"^[A-Z]{2}\d{6}[A-D]$"
# Royal Mail's letters: the area never starts with Q, V or X, its second letter is never I, J
# or Z, and the inward code's letters are never C, I, K, M, O or V.
_POSTCODE = r"^(?:[A-PR-UWYZ][A-HK-Y]?[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2}|GIR0AA)$"
_PHONE = r"^(?:07\d{9}|0[1-689]\d{8,9})$"
_PHONE_PREFIX = r"^(?:\+|00)44(?:0)?"
_DRIVING = (
    r"^[A-Z9]{5}[0-9](?:0[1-9]|1[0-2]|5[1-9]|6[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]"
    r"[A-Z9]{2}[A-Z0-9][A-Z]{2}$"
)
_PASSPORT = r"^(?:\d{9}|[A-Z]{2}\d{7})$"
_EMAIL = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
_UTR = r"^(?:\d{3})?\d{10}K?$"

_NHS_WEIGHTS = np.arange(10, 1, -1)
_UTR_WEIGHTS = np.array([6, 7, 8, 9, 10, 5, 4, 3, 2])
_UTR_CHECK = np.array([int(c) for c in "21987654321"])

#: Digit-only kinds: about one random number in ten passes, so they need half the values.
_DIGIT_KINDS = ("nhs_number", "utr", "phone")
_DIGIT_FLOOR = 0.5

_IN_TEXT: dict[str, str] = {
    "email": r"([A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})",
    "nino": r"\b([A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D])\b",
    "nhs_number": r"(?<!\d)(\d{3}[\s-]?\d{3}[\s-]?\d{4})(?!\d)",
    "phone": r"(?<![\d+])((?:\+44\s?(?:\(0\)\s?)?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4})(?!\d)",
    "postcode": r"\b([A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})\b",
}


def _norm(s: object) -> str:
    return _STRIP.sub("", str(s).upper())


def is_nino(s: object) -> bool:
    """A valid National Insurance number by DWP's rules (no checksum exists).

    Examples
    --------
    >>> is_nino("AB 12 34 56 C"), is_nino("QQ123456A"), is_nino("GB123456A")
    (True, False, False)
    """
    return bool(_NINO_DWP.match(_norm(s)))


def _nhs_valid(digits: np.ndarray) -> np.ndarray:
    """Rows of an (n, 10) digit array whose mod-11 check digit is right."""
    check = 11 - (digits[:, :9] @ _NHS_WEIGHTS) % 11
    check = np.where(check == 11, 0, check)
    return (check != 10) & (check == digits[:, 9])


def _utr_valid(digits: np.ndarray) -> np.ndarray:
    """Rows of an (n, 10) digit array whose first digit is the right UTR check digit."""
    return _UTR_CHECK[(digits[:, 1:10] @ _UTR_WEIGHTS) % 11] == digits[:, 0]


def _digits(values: pd.Series | list[str], width: int) -> np.ndarray:
    """An (n, width) int array from strings of exactly ``width`` ASCII digits."""
    joined = "".join(values).encode("ascii")
    return np.frombuffer(joined, dtype=np.uint8).reshape(-1, width).astype(np.int64) - 48


def is_nhs_number(s: object) -> bool:
    """A 10-digit NHS number with the right mod-11 check digit (spaces and hyphens allowed).

    Examples
    --------
    >>> is_nhs_number("943 476 5919"), is_nhs_number("9434765918")
    (True, False)
    """
    n = _norm(s)
    return bool(re.fullmatch(r"\d{10}", n)) and bool(_nhs_valid(_digits([n], 10))[0])


def is_postcode(s: object) -> bool:
    """A UK postcode (any case; spaces optional).

    Examples
    --------
    >>> is_postcode("sw1a 1aa"), is_postcode("SW1A1AAA")
    (True, False)
    """
    return bool(re.match(_POSTCODE, _norm(s)))


def is_uk_phone(s: object) -> bool:
    """A UK phone number: ``0`` and 9-10 more digits (mobiles ``07`` and 9 more), also written
    with ``+44``/``0044`` for the ``0``.

    Examples
    --------
    >>> is_uk_phone("07700 900123"), is_uk_phone("+44 (0)1632 960001"), is_uk_phone("12345")
    (True, True, False)
    """
    n = re.sub(_PHONE_PREFIX, "0", _norm(s))
    return bool(re.match(_PHONE, n))


def is_utr(s: object) -> bool:
    """A Unique Taxpayer Reference: 10 digits (13 with a prefix; an optional trailing K)
    whose first digit is the check digit.

    Examples
    --------
    >>> is_utr("2234567890"), is_utr("1234567890"), is_utr("2234567890K")
    (True, False, True)
    """
    n = _norm(s)
    if not re.match(_UTR, n):
        return False
    core = n.rstrip("K")[-10:]
    return bool(_utr_valid(_digits([core], 10))[0])


def is_driving_licence(s: object) -> bool:
    """A DVLA driving licence number (16 characters, encoding birth date and sex).

    Examples
    --------
    >>> is_driving_licence("MORGA753116SM9IJ"), is_driving_licence("MORGA773116SM9IJ")
    (True, False)
    """
    return bool(re.match(_DRIVING, _norm(s)))


def is_passport(s: object) -> bool:
    """A UK passport number's shape: 9 digits or 2 letters and 7 digits (weak on its own).

    Examples
    --------
    >>> is_passport("123456789"), is_passport("AB1234567"), is_passport("12345678")
    (True, True, False)
    """
    return bool(re.match(_PASSPORT, _norm(s)))


def is_email(s: object) -> bool:
    """An email address's shape.

    Examples
    --------
    >>> is_email("jo.bloggs@example.com"), is_email("jo.bloggs@example")
    (True, False)
    """
    return bool(re.match(_EMAIL, str(s).strip()))


@dataclass(frozen=True)
class PIIFinding:
    """A column that looks like it holds personal data of one kind.

    Parameters
    ----------
    column : str
    kind : str
        A key of :data:`PII_KINDS`, or such a key followed by ``" (in text)"``.
    share : float
        ``n_matched / n_checked``.
    n_matched : int
        Checked values of that kind.
    n_checked : int
        Non-empty values checked (a sample of at most ``sample_rows``).
    """

    column: str
    kind: str
    share: float
    n_matched: int
    n_checked: int

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict, with the readable ``label`` too."""
        return {
            "column": self.column,
            "kind": self.kind,
            "label": self.label,
            "share": self.share,
            "n_matched": self.n_matched,
            "n_checked": self.n_checked,
        }

    @property
    def label(self) -> str:
        """How a message names the kind, e.g. ``"email addresses inside text"``."""
        base = self.kind.removesuffix(" (in text)")
        label = PII_KINDS.get(base, base)
        return f"{label} inside text" if self.kind.endswith("(in text)") else label


def scan_personal_data(
    df: pd.DataFrame,
    *,
    sample_rows: int = 10_000,
    min_share: float = 0.05,
    seed: int = 0,
) -> list[PIIFinding]:
    """Find columns that hold UK personal identifiers.

    Each column's non-empty values (a random sample of at most ``sample_rows``) are matched
    with vectorised regular expressions after normalising (upper case; spaces, hyphens and
    brackets removed). Passport numbers count only in a column whose name says ``passport``.
    Whole-number columns are checked for NHS numbers, UTRs and phone numbers (which lost their
    leading 0) when their values have the right number of digits. Text columns are also
    searched for identifiers inside the text (``"email (in text)"``).

    Parameters
    ----------
    df : pandas.DataFrame
    sample_rows : int, default 10000
        Most values checked per column.
    min_share : float, default 0.05
        Least share of checked values that must match for a finding; digit-only kinds (NHS
        number, UTR, phone) need at least 0.5 as well.
    seed : int, default 0
        Seed of the row sample.

    Returns
    -------
    list of PIIFinding
        In column order; within a column, highest share first.

    Examples
    --------
    >>> df = pd.DataFrame({"contact": ["jo@example.com", "al@example.com", None],
    ...                    "band": ["A", "B", "A"]})
    >>> scan_personal_data(df)
    [PIIFinding(column='contact', kind='email', share=1.0, n_matched=2, n_checked=2)]
    """
    findings: list[PIIFinding] = []
    for i, name in enumerate(df.columns):
        s = df.iloc[:, i]
        vals = s.dropna()
        if len(vals) > sample_rows:
            vals = vals.sample(sample_rows, random_state=seed)
        if vals.empty or pd.api.types.is_bool_dtype(s.dtype):
            continue
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            counts = _scan_numbers(vals)
        else:
            counts = _scan_strings(
                vals.astype("str"),
                passport="passport" in str(name).lower(),
                min_share=min_share,
            )
        n = len(vals)
        found = []
        digit_best = max(
            (k for k in _DIGIT_KINDS if counts.get(k, 0)), key=lambda k: counts[k], default=None
        )
        for kind, k in counts.items():
            base = kind.removesuffix(" (in text)")
            share = k / n
            floor = _DIGIT_FLOOR if base in _DIGIT_KINDS and kind == base else 0.0
            if k == 0 or share < max(min_share, floor):
                continue
            if kind in _DIGIT_KINDS and kind != digit_best:
                continue
            found.append(PIIFinding(str(name), kind, round(share, 6), int(k), n))
        findings.extend(sorted(found, key=lambda f: (f.kind.endswith("(in text)"), -f.share)))
    return findings


def _scan_numbers(vals: pd.Series) -> dict[str, int]:
    arr = vals.to_numpy(dtype="float64", na_value=np.nan)
    if not (np.isfinite(arr).all() and (np.mod(arr, 1) == 0).all()):
        return {}
    if (np.abs(arr) >= 1e13).any() or (arr <= 0).any():
        return {}
    text = pd.Series(arr.astype(np.int64).astype(str))
    ten = text[text.str.len() == 10]
    counts: dict[str, int] = {}
    if len(ten):
        digits = _digits(ten.tolist(), 10)
        counts["nhs_number"] = int(_nhs_valid(digits).sum())
        counts["utr"] = int(_utr_valid(digits).sum())
    # phone numbers stored as numbers lose their leading 0 (and may keep 44)
    counts["phone"] = int(text.str.match(r"^(?:44)?(?:7\d{9}|[123]\d{8,9})$").sum())
    return counts


def _scan_strings(raw: pd.Series, *, passport: bool, min_share: float) -> dict[str, int]:
    raw = raw.str.strip()
    norm = raw.str.upper().str.replace(_STRIP.pattern, "", regex=True)
    counts: dict[str, int] = {}
    counts["nino"] = int(norm.str.match(_NINO_SHAPE).sum())
    counts["postcode"] = int(norm.str.match(_POSTCODE).sum())
    counts["driving_licence"] = int(norm.str.match(_DRIVING).sum())
    counts["email"] = int(raw.str.match(_EMAIL).sum())
    if passport:
        counts["passport"] = int(norm.str.match(_PASSPORT).sum())
    ten = norm[norm.str.match(r"^\d{10}$")]
    if len(ten):
        counts["nhs_number"] = int(_nhs_valid(_digits(ten.tolist(), 10)).sum())
    utr = norm[norm.str.match(_UTR)].str.rstrip("K").str[-10:]
    if len(utr):
        counts["utr"] = int(_utr_valid(_digits(utr.tolist(), 10)).sum())
    phone = norm.str.replace(_PHONE_PREFIX, "0", regex=True)
    counts["phone"] = int(phone.str.match(_PHONE).sum())

    # identifiers inside free text, for kinds not already found as whole values
    spaced = raw[raw.str.contains(r"\s", regex=True)]
    if len(spaced):
        for kind, pattern in _IN_TEXT.items():
            if counts.get(kind, 0) and counts[kind] / len(raw) >= min_share:
                continue
            counts[f"{kind} (in text)"] = _count_in_text(spaced, kind, pattern)
    return counts


def _count_in_text(text: pd.Series, kind: str, pattern: str) -> int:
    hit = text.str.extract(pattern, expand=False).dropna()
    if hit.empty or kind in ("email", "nino"):
        return len(hit)
    norm = hit.str.upper().str.replace(_STRIP.pattern, "", regex=True)
    if kind == "nhs_number":
        return int(_nhs_valid(_digits(norm.tolist(), 10)).sum())
    if kind == "phone":
        return int(norm.str.replace(_PHONE_PREFIX, "0", regex=True).str.match(_PHONE).sum())
    return int(norm.str.match(_POSTCODE).sum())


def check_personal_data(
    findings: Iterable[PIIFinding],
    *,
    allowed: Iterable[str] = (),
    id_columns: Iterable[str] = (),
    drop_columns: Iterable[str] = (),
) -> None:
    """Refuse undeclared personal data: raise for the first finding in an undeclared column.

    Parameters
    ----------
    findings : iterable of PIIFinding
        From :func:`scan_personal_data`.
    allowed : iterable of str
        ``personal_data.allow``: columns kept on purpose.
    id_columns, drop_columns : iterable of str
        ``columns.id`` and ``columns.drop``: columns that never reach a model.

    Raises
    ------
    PersonalDataError
        Naming the column, the kind, the share of values and the three ways to declare it.

    Examples
    --------
    >>> f = PIIFinding("contact", "email", 1.0, 40, 40)
    >>> check_personal_data([f], allowed=["contact"])
    >>> check_personal_data([f])
    Traceback (most recent call last):
    ...
    civicml._errors.PersonalDataError: Column 'contact' holds personal data: 100% of 40 checked values look like email addresses (kind 'email'). Declare it under columns.id to drop it, under columns.drop, or under personal_data.allow to keep it.
    """
    declared = set(allowed) | set(id_columns) | set(drop_columns)
    for f in findings:
        if f.column in declared:
            continue
        pct = f"{f.share:.0%}" if f.share >= 0.1 else f"{f.share:.1%}"
        raise PersonalDataError.build(
            f"Column {f.column!r} holds personal data: {pct} of {f.n_checked:,} checked values "
            f"look like {f.label} (kind {f.kind!r})",
            fix="Declare it under columns.id to drop it, under columns.drop, or under "
            "personal_data.allow to keep it",
        )
