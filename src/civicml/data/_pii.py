"""The UK personal-data scan: validators for UK identifiers and a vectorised column scanner.

The ``is_*`` validators answer "is this a valid identifier of that kind?" for one value. The
scanner answers "does this column hold personal data, and in how many rows?", reading every
row. It sorts what it looks for in two:

* **Strong** evidence is reported at *any* share of rows, in structured and free-text columns
  alike: a value that passes a checksum (NHS number mod 11, UTR, VAT mod 97), a National
  Insurance number with an allocated prefix, a full UK postcode, a UK phone number written as
  one (leading ``0`` or ``+44``), an email address, a driving licence number, and a sort code
  with its context ("sort code", or beside an 8-digit account number).
* **Weak** evidence counts only above ``min_share`` of the rows: the NI-number *shape* with an
  unallocated prefix (``QQ123456A``, the prefix used in test data), passport-shaped values in a
  column named ``passport``, and ``NN-NN-NN`` values without sort-code context (dates look the
  same).

Numbers with a check digit need one more step, because about one random 10-digit number in
eleven passes any one check: NHS numbers and UTRs count when at least half of the column's
10-digit candidates pass (random reference numbers do not), or when the column name or the
words just before the number say what it is ("NHS", "UTR").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
    "is_sort_code",
    "is_uk_phone",
    "is_utr",
    "is_vat_number",
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
    "vat": "UK VAT numbers",
    "sort_code": "bank sort codes",
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
_VAT = r"^GB(?:\d{9}|\d{12}|GD[0-4]\d{2}|HA[5-9]\d{2})$"
_SORT_CODE = r"^\d{2}-?\d{2}-?\d{2}$"

_NHS_WEIGHTS = np.arange(10, 1, -1)
_UTR_WEIGHTS = np.array([6, 7, 8, 9, 10, 5, 4, 3, 2])
_UTR_CHECK = np.array([int(c) for c in "21987654321"])
_VAT_WEIGHTS = np.array([8, 7, 6, 5, 4, 3, 2])


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


def _vat_valid(digits: np.ndarray) -> np.ndarray:
    """Rows of an (n, 9) digit array that pass HMRC's mod-97 check (the old or the 9755 rule)."""
    total = digits[:, :7] @ _VAT_WEIGHTS + digits[:, 7] * 10 + digits[:, 8]
    return (digits[:, :7].sum(axis=1) > 0) & ((total % 97 == 0) | ((total + 55) % 97 == 0))


def is_vat_number(s: object) -> bool:
    """A UK VAT registration number: ``GB`` and 9 digits passing the mod-97 check (12 with a
    branch suffix), or ``GBGD`` + 000-499 (government departments) / ``GBHA`` + 500-999
    (health authorities). The ``GB`` may be left off the digit forms.

    Examples
    --------
    >>> is_vat_number("GB 980 7806 84"), is_vat_number("980780684001"), is_vat_number("GBGD001")
    (True, True, True)
    >>> is_vat_number("GB 980 7806 85"), is_vat_number("GBHA001")
    (False, False)
    """
    n = _norm(s)
    n = n if n.startswith("GB") else "GB" + n
    if not re.match(_VAT, n):
        return False
    if n[2:4] in ("GD", "HA"):
        return True
    return bool(_vat_valid(_digits([n[2:11]], 9))[0])


def is_sort_code(s: object) -> bool:
    """A bank sort code's shape, ``NN-NN-NN`` (hyphens or spaces optional). Dates can look the
    same, so the scanner needs context too (see :func:`scan_personal_data`).

    Examples
    --------
    >>> is_sort_code("20-00-00"), is_sort_code("20 00 00"), is_sort_code("20-00-0")
    (True, True, False)
    """
    return bool(re.match(_SORT_CODE, _norm(s)))


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
        Non-empty values checked (every one, unless ``sample_rows`` was given).
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
    def summary(self) -> str:
        """How many values matched, e.g. ``"1 of 2,000 checked values (0.05%)"``.

        >>> PIIFinding("notes", "nhs_number (in text)", 0.0005, 1, 2000).summary
        '1 of 2,000 checked values (0.05%)'
        """
        pct = f"{self.share:.0%}" if self.share >= 0.1 else f"{self.share * 100:.2g}%"
        return f"{self.n_matched:,} of {self.n_checked:,} checked values ({pct})"

    @property
    def label(self) -> str:
        """How a message names the kind, e.g. ``"email addresses inside text"``."""
        base = self.kind.removesuffix(" (in text)")
        label = PII_KINDS.get(base, base)
        return f"{label} inside text" if self.kind.endswith("(in text)") else label


@dataclass(frozen=True)
class _Count:
    """Rows with strong evidence, rows with weak evidence (strong included), and the least
    share weak evidence needs on top of ``min_share``."""

    strong: int
    weak: int = 0
    floor: float = 0.0


def _line(pattern: str) -> re.Pattern[str]:
    """A whole-value pattern (``^...$``) that matches whole lines of a newline-joined string
    that starts with a newline (a literal first character lets the regex engine skip ahead)."""
    return re.compile("\n(?:" + pattern.removeprefix("^").removesuffix("$") + ")(?=\n|\\Z)")


_WHOLE = {
    "nino_shape": _line(_NINO_SHAPE),
    "nino": _line(_NINO_DWP.pattern),
    "postcode": _line(_POSTCODE),
    "driving_licence": _line(_DRIVING),
    "passport": _line(_PASSPORT),
    "ten": _line(r"\d{10}"),
    "utr": _line(_UTR),
    "phone_shape": _line(r"(?:\+|00)?\d{10,13}"),
    "vat": _line(_VAT),
    "six": _line(r"\d{6}"),
}
_WHOLE_RAW = {"email": _line(_EMAIL), "sort_code": _line(r"\d{2}[- ]\d{2}[- ]\d{2}")}
# Inside free text (searched as UTF-8 bytes). Every kind but email has digits, so only the
# stretches around digits are searched; what comes before a find is checked afterwards.
_TEXT: dict[str, re.Pattern[bytes]] = {
    "nino": re.compile(rb"\d{2} ?\d{2} ?\d{2} ?[A-Da-d](?![A-Za-z0-9])"),
    "postcode": re.compile(rb"\d[A-Z\d]? ?\d[A-Z]{2}(?![A-Za-z0-9])"),
    "phone": re.compile(
        rb"[+0(](?:44 ?(?:\(0\) ?)?|044 ?|0?)\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}(?!\d)"
    ),
    "digits10": re.compile(rb"\d(?:\d{2}[ -]?\d{3}[ -]?\d{4}|\d{4}[ -]\d{5})(?!\d)"),
    "vat": re.compile(rb"[Gg][Bb] ?(?:\d{3} ?\d{4} ?\d{2}(?: ?\d{3})?|[GgHh][DdAa] ?\d{3})(?!\d)"),
    "sort_code": re.compile(rb"\d{2}[- ]\d{2}[- ]\d{2}(?![\d-])"),
}
_EMAIL_AT = re.compile(rb"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_LOCAL_PART = re.compile(rb"[A-Za-z0-9._%+'-]{1,64}\Z")  # an email's part before the @
# bytes that may not come just before a find
_BEFORE = {"phone": b"0123456789+", "digits10": b"0123456789+", "sort_code": b"0123456789-"}
_DIGITS_NEEDED = {"postcode": 2, "vat": 3, "nino": 6, "sort_code": 6, "phone": 10, "digits10": 10}
_MARGIN = 4  # bytes kept before and after each stretch of digits ("GBGD", "AB ", "(")
_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DELETE = b" \t\r-()[]{}"  # removed (as bytes: fast) before matching whole values
_SHORT = 40  # longer values are only searched as text
_ACCOUNT = re.compile(rb"(?<!\d)\d{8}(?!\d)")
_CONTEXT = 30  # characters looked at before a find for words such as "NHS" or "sort code"
_RATIO = 0.5  # share of check-digit candidates that must pass without context


def scan_personal_data(
    df: pd.DataFrame,
    *,
    sample_rows: int | None = None,
    min_share: float = 0.05,
    seed: int = 0,
) -> list[PIIFinding]:
    """Find columns that hold UK personal identifiers, with how many rows hold them.

    Every non-empty value is read (each distinct value once). A value is matched whole after
    normalising (upper case; spaces, hyphens and brackets removed); what is not an identifier
    as a whole is searched as free text, where a find is reported as e.g.
    ``"email (in text)"``. Strong evidence (see the module's notes) is reported at any share
    of rows; weak evidence only above ``min_share``. Whole-number columns are checked for NHS
    numbers, UTRs and phone numbers that lost their leading 0.

    Parameters
    ----------
    df : pandas.DataFrame
    sample_rows : int, optional
        Check only a random sample of this many values per column (faster, but a rare
        identifier can be missed). By default every value is checked.
    min_share : float, default 0.05
        Least share of checked values weak evidence needs (phone numbers stored as whole
        numbers need at least 0.5 as well).
    seed : int, default 0
        Seed of the sample.

    Returns
    -------
    list of PIIFinding
        In column order; within a column, whole values first, then highest share first.

    Examples
    --------
    >>> notes = ["no answer"] * 1999 + ["NHS no 943 476 5919, call 07700 900123"]
    >>> df = pd.DataFrame({"contact": ["jo@example.com", "al@example.com", None] + [None] * 1997,
    ...                    "notes": notes})
    >>> for f in scan_personal_data(df):
    ...     print(f.column, f.kind, f.n_matched, f.n_checked)
    contact email 2 2
    notes nhs_number (in text) 1 2000
    notes phone (in text) 1 2000
    """
    findings: list[PIIFinding] = []
    for i, name in enumerate(df.columns):
        s = df.iloc[:, i]
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
            continue
        vals = s.dropna()
        if sample_rows is not None and len(vals) > sample_rows:
            vals = vals.sample(sample_rows, random_state=seed)
        if vals.empty:
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            counts = _scan_numbers(vals, str(name).lower())
        else:
            counts = _scan_strings(vals.astype("str"), str(name).lower())
        found = []
        for kind, c in counts.items():
            k = c.weak if c.weak and c.weak / len(vals) >= max(min_share, c.floor) else c.strong
            if k:
                found.append(PIIFinding(str(name), kind, round(k / len(vals), 6), k, len(vals)))
        findings.extend(sorted(found, key=lambda f: ("(in text)" in f.kind, -f.share, f.kind)))
    return findings


def _ratio_rule(ok: int, candidates: int, context: bool) -> int:
    """Check-digit finds count when most candidates pass, or when context names the kind."""
    return ok if ok and (context or ok >= _RATIO * candidates) else 0


def _best_digit_kind(counts: dict[str, _Count]) -> dict[str, _Count]:
    """A whole-value column is one kind of number: keep the digit kind with the most rows."""
    digit = [k for k in ("nhs_number", "utr", "phone") if k in counts and counts[k].strong]
    best = max(digit, key=lambda k: counts[k].strong, default=None)
    for k in digit:
        if k != best:
            counts[k] = _Count(0, counts[k].weak, counts[k].floor)
    return counts


def _scan_numbers(vals: pd.Series, name: str) -> dict[str, _Count]:
    arr = vals.to_numpy(dtype="float64", na_value=np.nan)
    if not (np.isfinite(arr).all() and (np.mod(arr, 1) == 0).all()):
        return {}
    if (np.abs(arr) >= 1e13).any() or (arr <= 0).any():
        return {}
    ints = arr.astype(np.int64)
    counts: dict[str, _Count] = {}
    ten = ints[(ints >= 10**9) & (ints < 10**10)]
    if len(ten):
        digits = _digits(ten.astype(str).tolist(), 10)
        nhs, utr = int(_nhs_valid(digits).sum()), int(_utr_valid(digits).sum())
        counts["nhs_number"] = _Count(_ratio_rule(nhs, len(ten), "nhs" in name))
        counts["utr"] = _Count(_ratio_rule(utr, len(ten), "utr" in name))
    # phone numbers stored as numbers lose their leading 0 (and may keep 44): weak
    text = pd.Series(ints.astype(str))
    phone = int(text.str.match(r"^(?:44)?(?:7\d{9}|[123]\d{8,9})$").sum())
    counts["phone"] = _Count(0, phone, 0.5)
    return _best_digit_kind(counts)


def _joined(values: list[str]) -> tuple[str, np.ndarray]:
    """The values joined by newlines (a newline inside a value becomes a space), and the
    offset of each value's end."""
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1:
        values = [v.replace("\n", " ") for v in values]
        joined = "\n".join(values)
    return joined, np.cumsum(np.fromiter(map(len, values), np.int64, len(values)) + 1) - 1


def _lines(pattern: re.Pattern[str], joined: str, ends: np.ndarray) -> np.ndarray:
    """Which lines (values) of a joined string match a whole-line pattern."""
    mask = np.zeros(len(ends), dtype=bool)
    starts = [m.start() for m in pattern.finditer("\n" + joined)]
    if starts:
        mask[np.searchsorted(ends, starts, side="left")] = True
    return mask


def _has_digit_or_at(values: list[str]) -> np.ndarray:
    """Which values hold a digit or an ``@``."""
    joined, _ = _joined(values)
    codes = np.frombuffer(joined.encode("utf-8", errors="replace"), dtype=np.uint8)
    mark = np.r_[((codes >= 48) & (codes <= 57)) | (codes == 64), False].astype(np.int64)
    starts = np.r_[0, np.flatnonzero(codes == 10) + 1]
    return np.add.reduceat(mark, starts) > 0


def _scan_strings(vals: pd.Series, name: str) -> dict[str, _Count]:
    freq = vals.value_counts(sort=False)
    raw = [v.strip() for v in map(str, freq.index.tolist())]
    weight = freq.to_numpy(dtype=np.int64)
    maybe = _has_digit_or_at(raw)  # every identifier has a digit, or an @
    short = maybe & np.fromiter((len(v) <= _SHORT for v in raw), bool, len(raw))
    rest = maybe & ~short
    counts: dict[str, _Count] = {}
    if short.any():
        few = [v for v, keep in zip(raw, short, strict=True) if keep]
        joined_raw, ends_raw = _joined(few)
        norm = joined_raw.upper().encode().translate(None, _DELETE).decode().split("\n")
        joined, ends = _joined(norm)
        whole = {k: _lines(p, joined, ends) for k, p in _WHOLE.items()}
        whole.update({k: _lines(p, joined_raw, ends_raw) for k, p in _WHOLE_RAW.items()})
        counts = _whole_values(whole, norm, weight[short], name)
        shaped = np.logical_or.reduce(
            [m for k, m in whole.items() if k != "passport" or "passport" in name]
        )
        rest[np.flatnonzero(short)[~shaped]] = True
    if rest.any():
        texts = [v for v, keep in zip(raw, rest, strict=True) if keep]
        counts.update(_in_text(texts, weight[rest]))
    return counts


def _whole_values(
    whole: dict[str, np.ndarray], norm: list[str], weight: np.ndarray, name: str
) -> dict[str, _Count]:
    """Counts of rows whose value is an identifier as a whole."""

    def rows(mask: np.ndarray) -> int:
        return int(weight[mask].sum())

    def picked(mask: np.ndarray, start: int = 0, stop: int = 10) -> list[str]:
        return [norm[i][start:stop] for i in np.flatnonzero(mask)]

    counts = {
        "nino": _Count(rows(whole["nino"]), rows(whole["nino_shape"])),
        "postcode": _Count(rows(whole["postcode"])),
        "driving_licence": _Count(rows(whole["driving_licence"])),
        "email": _Count(rows(whole["email"])),
    }
    if "passport" in name:
        counts["passport"] = _Count(0, rows(whole["passport"]))
    nhs = whole["ten"].copy()
    if nhs.any():
        nhs[nhs] = _nhs_valid(_digits(picked(nhs), 10))
    counts["nhs_number"] = _Count(_ratio_rule(rows(nhs), rows(whole["ten"]), "nhs" in name))
    utr = whole["utr"].copy()
    if utr.any():
        utr[utr] = _utr_valid(_digits([v.rstrip("K")[-10:] for v in picked(utr, 0, 14)], 10))
    counts["utr"] = _Count(_ratio_rule(rows(utr), rows(whole["utr"]), "utr" in name))
    phone = whole["phone_shape"].copy()
    if phone.any():
        phone[phone] = [is_uk_phone(v) for v in picked(phone, 0, 16)]
    context = any(w in name for w in ("phone", "mobile", "tel"))
    counts["phone"] = _Count(_ratio_rule(rows(phone), rows(whole["phone_shape"]), context))
    vat = whole["vat"].copy()
    if "vat" in name:  # the GB may be left off in a column named for VAT numbers
        vat[[i for i, v in enumerate(norm) if len(v) in (9, 12) and v.isdigit()]] = True
    if vat.any():
        vat[vat] = [is_vat_number(v) for v in picked(vat, 0, 16)]
    counts["vat"] = _Count(rows(vat))
    if "sort" in name:
        counts["sort_code"] = _Count(rows(whole["six"]))
    else:  # only NN-NN-NN that cannot be a date, and weak
        sort = whole["sort_code"].copy()
        if sort.any():
            sort[sort] = [not _date_like(v) for v in picked(sort, 0, 6)]
        counts["sort_code"] = _Count(0, rows(sort))
    return _best_digit_kind(counts)


def _date_like(six: str) -> bool:
    """Six digits that read as a date, dd-mm-yy or yy-mm-dd."""
    a, m, c = int(six[:2]), int(six[2:4]), int(six[4:])
    return 1 <= m <= 12 and (1 <= a <= 31 or 1 <= c <= 31)


class _Text:
    """Free-text values joined into one byte string. The digit patterns read only the
    stretches around enough digits for their kind, cut out and joined."""

    def __init__(self, texts: list[str]) -> None:
        joined, _ = _joined(texts)
        self.data = joined.encode("utf-8", errors="replace")
        codes = np.frombuffer(self.data, dtype=np.uint8)
        self.ends = np.append(np.flatnonzero(codes == 10), len(codes))
        digit = np.flatnonzero((codes >= 48) & (codes <= 57))
        line = np.cumsum(codes == 10)[digit]  # stretches never span two values
        cut = np.flatnonzero((np.diff(digit) > _MARGIN) | (np.diff(line) != 0)) + 1
        first = digit[np.r_[0, cut]] if len(digit) else digit
        last = digit[np.r_[cut - 1, len(digit) - 1]] if len(digit) else digit
        self._count = (np.r_[cut, len(digit)] - np.r_[0, cut]) if len(digit) else digit
        value = np.searchsorted(self.ends, first, side="left")  # margins stay in the value
        self._lo = np.maximum(first - _MARGIN, np.r_[0, self.ends + 1][value])
        self._hi = np.minimum(last + 1 + _MARGIN, self.ends[value])
        self._cut: dict[int, tuple[bytes, np.ndarray, np.ndarray]] = {}

    def stretches(self, least: int) -> tuple[bytes, np.ndarray, np.ndarray]:
        """The stretches with at least ``least`` digits joined by newlines; where each starts
        in ``data``; and where each starts in the joined stretches."""
        if least not in self._cut:
            keep = self._count >= least
            lo, hi = self._lo[keep], self._hi[keep]
            text = b"\n".join(self.data[i:j] for i, j in zip(lo.tolist(), hi.tolist(), strict=True))
            self._cut[least] = (text, lo, np.r_[0, np.cumsum(hi - lo + 1)[:-1]].astype(np.int64))
        return self._cut[least]

    def rows(self, starts: list[int]) -> np.ndarray:
        return np.searchsorted(self.ends, starts, side="left")

    def before(self, p: int, n: int = _CONTEXT) -> bytes:
        """Up to ``n`` bytes before offset ``p`` within the same value, lower case."""
        return self.data[max(0, p - n) : p].rsplit(b"\n", 1)[-1].lower()

    def finds(self, kind: str) -> tuple[np.ndarray, list[str], list[int]]:
        """Each find of a kind: its value's index, its text, its offset in ``data``."""
        if kind == "email":
            found = [self._email(m.start(), m.group()) for m in _EMAIL_AT.finditer(self.data)]
        else:
            text, origin, offset = self.stretches(_DIGITS_NEEDED[kind])
            hits = [(m.start(), m.group()) for m in _TEXT[kind].finditer(text)]
            at = np.array([h[0] for h in hits], dtype=np.int64)
            k = np.searchsorted(offset, at, side="right") - 1
            where = (origin[k] + at - offset[k]).tolist() if len(hits) else []
            found = [self._lead(kind, p, t) for p, (_, t) in zip(where, hits, strict=True)]
        spans = [f for f in found if f is not None]
        starts = [p for p, _ in spans]
        return self.rows(starts), [t.decode("ascii", "replace") for _, t in spans], starts

    def _email(self, p: int, text: bytes) -> tuple[int, bytes] | None:
        local = _LOCAL_PART.search(self.data, max(0, p - 64), p)
        return None if local is None else (local.start(), local.group() + text)

    def _lead(self, kind: str, p: int, text: bytes) -> tuple[int, bytes] | None:
        """Add what must come first (letters for NI numbers and postcodes); refuse a find
        glued to what comes before it."""
        prev = self.data[p - 1 : p]
        if kind == "nino":  # two letters, maybe a space
            lead = self.before(p, 4).rstrip(b" ")[-3:]
            ok = len(lead) >= 2 and lead[-2:].isalpha() and not lead[:-2][-1:].isalnum()
            return (
                (p - 2 - (prev == b" "), self.data[p - 2 - (prev == b" ") : p] + text)
                if ok
                else None
            )
        if kind == "postcode":  # one or two capital letters
            lead = self.data[max(0, p - 3) : p]
            n = len(lead) - len(lead.rstrip(_UPPER))
            if not 1 <= n <= 2 or lead[: len(lead) - n][-1:].isalnum():
                return None
            return p - n, lead[-n:] + text
        if kind == "vat" and prev.isalnum():
            return None
        return None if prev and prev in _BEFORE.get(kind, b"") else (p, text)


def _in_text(texts: list[str], weight: np.ndarray) -> dict[str, _Count]:
    """Identifiers inside free text: every value is searched."""
    text = _Text(texts)

    def rows(which: np.ndarray) -> int:
        return int(weight[np.unique(which)].sum()) if len(which) else 0

    def near(starts: list[int], words: tuple[bytes, ...]) -> np.ndarray:
        return np.array([any(w in text.before(p) for w in words) for p in starts], dtype=bool)

    def checked(kind: str, check: Callable[[str], bool]) -> _Count:
        row, found, _ = text.finds(kind)
        ok = np.array([check(t) for t in found], dtype=bool)
        return _Count(rows(row[ok]) if len(row) else 0)

    counts = {
        "email (in text)": _Count(rows(text.finds("email")[0])),
        "postcode (in text)": checked("postcode", is_postcode),
        "phone (in text)": checked("phone", is_uk_phone),
        "vat (in text)": checked("vat", is_vat_number),
    }
    row, found, _ = text.finds("nino")
    ok = np.array([is_nino(t) for t in found], dtype=bool)
    counts["nino (in text)"] = _Count(rows(row[ok]) if len(row) else 0, rows(row))
    row, found, starts = text.finds("digits10")
    if len(row):
        digits = _digits([re.sub(r"\D", "", t) for t in found], 10)
        for kind, valid, words in (
            ("nhs_number (in text)", _nhs_valid(digits), (b"nhs",)),
            ("utr (in text)", _utr_valid(digits), (b"utr", b"tax ref", b"taxpayer")),
        ):
            if valid.sum() < _RATIO * len(valid):
                valid = valid & near(starts, words)
            counts[kind] = _Count(rows(row[valid]))
    row, found, starts = text.finds("sort_code")
    if len(row):
        data = text.data
        account = [
            bool(_ACCOUNT.search(data, max(0, p - _CONTEXT), p + 8 + _CONTEXT)) for p in starts
        ]
        context = near(starts, (b"sort",)) | np.array(account, dtype=bool)
        counts["sort_code (in text)"] = _Count(rows(row[context]))
    return counts


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
    civicml._errors.PersonalDataError: Column 'contact' holds personal data: 40 of 40 checked values (100%) look like email addresses (kind 'email'). Declare it under columns.id to drop it, under columns.drop, or under personal_data.allow to keep it.
    """
    declared = set(allowed) | set(id_columns) | set(drop_columns)
    for f in findings:
        if f.column in declared:
            continue
        raise PersonalDataError.build(
            f"Column {f.column!r} holds personal data: {f.summary} look like {f.label} "
            f"(kind {f.kind!r})",
            fix="Declare it under columns.id to drop it, under columns.drop, or under "
            "personal_data.allow to keep it",
        )
