"""Text that leaves civicml for people: safe on a terminal, safe in a spreadsheet.

Values printed from data (column names, cells, categories) pass through :func:`terminal_safe`
(one value) or :func:`terminal_text` (several lines), which escape control characters (ESC,
BEL, CR, the other C0 and C1 codes, DEL) and bidirectional overrides, and shorten long values,
so a file cannot move the cursor, rename the terminal's window, reorder what is shown or print
megabytes. CSV files written for people pass through :func:`guard_csv_cells`, which prefixes
text cells that a spreadsheet would run as a formula with a single quote (OWASP's advice
against CSV injection).

Examples
--------
>>> terminal_safe("region\\x1b]0;pwned\\x07")
'region\\\\x1b]0;pwned\\\\x07'
>>> terminal_safe("x" * 250, limit=10)
'xxxxxxxxxx… (250 characters)'
>>> guard_cell("=HYPERLINK(1)"), guard_cell("-3.5"), guard_cell(-3.5), guard_cell("Leeds")
("'=HYPERLINK(1)", '-3.5', -3.5, 'Leeds')
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "CELL_LIMIT",
    "FORMULA_PREFIXES",
    "guard_cell",
    "guard_csv_cells",
    "terminal_safe",
    "terminal_text",
]

#: The most characters of one value shown on a terminal; the rest is counted, not printed.
CELL_LIMIT = 200

#: A text cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

# C0 controls, DEL, C1 controls; the bidirectional marks, embeddings, overrides and isolates;
# zero-width characters, the line and paragraph separators and the byte-order mark.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_UNSAFE_KEEP_NEWLINE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# a plain number written as text ("-3.5", "+44", "1e-3") is not a formula
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(value: Any, *, limit: int = CELL_LIMIT) -> str:
    """One value as a terminal-safe single line: control and bidi characters escaped (``\\x1b``,
    ``\\u202e``, ``\\n``), and anything past ``limit`` characters replaced by its length.

    Parameters
    ----------
    value : Any
        Anything; it is shown with ``str``.
    limit : int, default 200
        Characters of the value kept (counted before escaping).

    Examples
    --------
    >>> terminal_safe("abc\\u202edef")
    'abc\\\\u202edef'
    >>> terminal_safe("two\\nlines")
    'two\\\\nlines'
    >>> terminal_safe(12345, limit=3)
    '123… (5 characters)'
    """
    text = value if isinstance(value, str) else str(value)
    more = ""
    if len(text) > limit:
        more = f"… ({len(text):,} characters)"
        text = text[:limit]
    return _UNSAFE.sub(_escape_char, text) + more


def terminal_text(text: str, *, line_limit: int = 2_000) -> str:
    """Several lines of text made terminal-safe: line breaks kept, every other control or bidi
    character escaped, and each line longer than ``line_limit`` shortened.

    For text that is already laid out (a report's table) but holds values from data.

    Examples
    --------
    >>> print(terminal_text("column  rule\\nage\\x1b[2J  null\\n" + "y" * 30, line_limit=13))
    column  rule
    age\\x1b[2J  null
    yyyyyyyyyyyyy… (30 characters)
    """
    lines = text.replace("\r\n", "\n").split("\n")
    out = []
    for line in lines:
        more = ""
        if len(line) > line_limit:
            more = f"… ({len(line):,} characters)"
            line = line[:line_limit]
        out.append(_UNSAFE_KEEP_NEWLINE.sub(_escape_char, line) + more)
    return "\n".join(out)


def guard_cell(value: Any) -> Any:
    """A cell made safe for a spreadsheet: text starting ``=``, ``+``, ``-``, ``@``, tab or CR
    gets a leading ``'`` (so Excel shows it as text rather than running it); numbers, and text
    that is just a number such as ``"-3.5"``, are left as they are.

    Examples
    --------
    >>> guard_cell("+44 20 7946 0000"), guard_cell("@SUM(A1)"), guard_cell("\\tx"), guard_cell(None)
    ("'+44 20 7946 0000", "'@SUM(A1)", "'\\tx", None)
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        if _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def guard_csv_cells(frame: Any) -> Any:
    """A copy of a DataFrame with every text cell and column name passed through
    :func:`guard_cell`, for writing a CSV that people open in a spreadsheet. Numeric, boolean
    and date columns are untouched (and stay numbers); the frame is returned unchanged when no
    cell needs a guard.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"name": ["=1+2", "Leeds", "-"], "score": [-3.5, 0.25, 1.0]})
    >>> guard_csv_cells(df)
        name  score
    0  '=1+2  -3.50
    1  Leeds   0.25
    2     '-   1.00
    >>> guard_csv_cells(df).dtypes["score"]
    dtype('float64')
    """
    changed: dict[Any, Any] = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype.kind not in "OSU" and str(col.dtype) not in ("string", "category"):
            continue
        values = col.astype(object) if str(col.dtype) == "category" else col
        text = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES))
        if bool(text.any()):
            changed[name] = values.map(guard_cell)
    names = [guard_cell(n) if isinstance(n, str) else n for n in frame.columns]
    if not changed and names == list(frame.columns):
        return frame
    out = frame.copy()
    for name, col in changed.items():
        out[name] = col
    out.columns = names
    return out
