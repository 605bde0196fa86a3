"""Deciding a text file's encoding from the whole file, never from its first bytes alone.

A byte-order mark decides at once. Otherwise the file is streamed through a UTF-8 decoder in
chunks (C speed: about a second per gigabyte): a file that is UTF-8 throughout is UTF-8; one
with no UTF-8 beyond ASCII and bytes that are not UTF-8 is Windows-1252 (or Latin-1 when it
holds bytes cp1252 leaves undefined); and one that mixes real UTF-8 text with bytes that are
not UTF-8 (a cp1252 "é" pasted into a UTF-8 export) is refused, naming the line of the first
such byte, because either guess would silently garble part of it.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.csv").write_bytes("town\\nZoë\\n".encode() + b"Caf\\xe9\\n")
>>> decide_encoding(d / "a.csv")
Traceback (most recent call last):
...
civicml._errors.DataError: The file 'a.csv' is UTF-8 text except for byte 0xe9 on line 3, which is not UTF-8 (in Windows-1252 it would be 'é'), so civicml cannot tell how to read it. Save the file as UTF-8 (in Excel: Save As, 'CSV UTF-8'), or set 'data.encoding: cp1252' in civicml.yaml if the whole file is Windows-1252.
>>> _ = (d / "b.csv").write_bytes(b"town\\nCaf\\xe9\\n")
>>> decide_encoding(d / "b.csv")
'cp1252'
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from civicml._errors import DataError

__all__ = ["CHUNK_BYTES", "decide_encoding"]

#: Bytes read at a time while deciding the encoding.
CHUNK_BYTES = 4 * 1024 * 1024

# characters beyond ASCII that came from real multi-byte UTF-8
_UTF8_TEXT = re.compile("[^\x00-\x7f\udc80-\udcff]")
# bytes Windows-1252 does not define (Latin-1 reads them as C1 controls)
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


class _Scan:
    """What one pass over the file found."""

    __slots__ = ("bad_byte", "bad_line", "cp1252_undefined", "utf8_text")

    def __init__(self) -> None:
        self.bad_byte: int | None = None  # the first byte that is not UTF-8
        self.bad_line = 0  # its 1-based line
        self.utf8_text = False  # any multi-byte UTF-8 character seen
        self.cp1252_undefined = False


def _scan(p: Path) -> _Scan:
    """Stream ``p`` through a UTF-8 decoder, stopping as soon as the answer is known.

    Strict decoding runs at C speed while the bytes are UTF-8; from the first byte that is not,
    a ``surrogateescape`` decoder takes over so the rest can still be searched for UTF-8 text.
    """
    found = _Scan()
    strict = codecs.getincrementaldecoder("utf-8")()
    loose: codecs.IncrementalDecoder | None = None
    lf = cr = 0  # line breaks before the current chunk, counted until a bad byte is found
    with open(p, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK_BYTES)
            final = not chunk
            if loose is None:
                pending = strict.getstate()[0]
                try:
                    text = strict.decode(chunk, final=final)
                except UnicodeDecodeError as exc:
                    chunk = pending + chunk  # what the decoder saw; exc.start indexes it
                    before = chunk[: exc.start]
                    n_lf, n_cr = lf + before.count(b"\n"), cr + before.count(b"\r")
                    found.bad_byte = chunk[exc.start]
                    found.bad_line = (n_lf if n_lf else n_cr) + 1  # CR-only files count \r
                    loose = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
                else:
                    found.utf8_text = found.utf8_text or not text.isascii()
                    lf, cr = lf + chunk.count(b"\n"), cr + chunk.count(b"\r")
            if loose is not None:
                text = loose.decode(chunk, final=final)
                if not found.utf8_text:
                    found.utf8_text = _UTF8_TEXT.search(text) is not None
                found.cp1252_undefined = found.cp1252_undefined or any(
                    b in chunk for b in _CP1252_UNDEFINED
                )
            if final or (found.bad_byte is not None and found.utf8_text):
                return found


def decide_encoding(
    path: str | Path, *, choose: str | None = "set 'data.encoding: cp1252' in civicml.yaml"
) -> str:
    """The encoding of a text file, decided from the whole file (see the module's notes).

    Parameters
    ----------
    path : str or Path
    choose : str, optional
        How the reader of the message can name the encoding, for the message's fix (``None``
        where they cannot).

    Returns
    -------
    str
        ``utf-8-sig``, ``utf-16``, ``utf-8``, ``cp1252`` or ``latin-1``.

    Raises
    ------
    DataError
        The file mixes UTF-8 text with bytes that are not UTF-8; the message names the first
        such byte's line.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    found = _scan(p)
    if found.bad_byte is None:
        return "utf-8"
    if not found.utf8_text:
        return "latin-1" if found.cp1252_undefined else "cp1252"
    byte = found.bad_byte
    try:
        as_cp1252 = f" (in Windows-1252 it would be {bytes([byte]).decode('cp1252')!r})"
    except UnicodeDecodeError:
        as_cp1252 = ""
    raise DataError.build(
        f"The file {p.name!r} is UTF-8 text except for byte 0x{byte:02x} on line "
        f"{found.bad_line:,}, which is not UTF-8{as_cp1252}, so civicml cannot tell how to "
        "read it",
        fix="Save the file as UTF-8 (in Excel: Save As, 'CSV UTF-8')"
        + (f", or {choose} if the whole file is Windows-1252" if choose else ""),
    )
