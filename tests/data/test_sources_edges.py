"""Reading text files at the edges: CR-only line endings, and the encoding decided from the
whole file (a UTF-8 file with one Windows-1252 byte after the first 64 KB is refused, naming
its line, never silently read as cp1252)."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicml._errors import DataError
from civicml.data import read_table, sniff_csv
from civicml.data._encoding import decide_encoding

_ROWS = 12_000  # "Zoë,1\n" × 12,000 is about 84 KB: past the 64 KB sample


def _utf8_then_cp1252(path: Path) -> Path:
    text = "name,v\n" + "Zoë,1\n" * _ROWS
    path.write_bytes(text.encode("utf-8") + "Café,2\n".encode("cp1252"))
    return path


def test_cr_only_csv_is_read_by_lines(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"age;region;y\r41;north;1\r37;south;0\r52;north;1\r")
    df = read_table(path)
    assert list(df.columns) == ["age", "region", "y"]
    assert df["age"].tolist() == [41, 37, 52]
    assert sniff_csv(path) == ("utf-8", ";")


def test_cr_only_csv_longer_than_the_sample(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"a,b,note\r" + b"1,2,some text here\r" * 6_000)
    df = read_table(path)
    assert df.shape == (6_000, 3)
    assert df["note"].iloc[-1] == "some text here"


def test_cr_only_csv_with_quoted_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b'id,text\r1,"two\rlines"\r2,plain\r')
    df = read_table(path)
    assert df["id"].tolist() == [1, 2]
    assert df["text"].iloc[1] == "plain"


def test_utf8_with_one_cp1252_byte_after_64kb_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _utf8_then_cp1252(tmp_path / "mixed.csv")
    with pytest.raises(DataError) as info:
        read_table(path)
    message = str(info.value)
    assert f"line {_ROWS + 2:,}" in message and "0xe9" in message
    assert "Save the file as UTF-8" in message and "data.encoding: cp1252" in message
    assert "\n" not in message


def test_the_streaming_sniffer_refuses_the_same_file(tmp_path: Path) -> None:
    path = _utf8_then_cp1252(tmp_path / "mixed.csv")
    with pytest.raises(DataError, match=f"line {_ROWS + 2:,}"):
        sniff_csv(path)


def test_naming_the_encoding_reads_the_mixed_file_as_told(tmp_path: Path) -> None:
    path = _utf8_then_cp1252(tmp_path / "mixed.csv")
    df = read_table(path, encoding="cp1252")
    assert df["name"].iloc[-1] == "Café"


def test_cp1252_file_with_its_first_accent_after_64kb(tmp_path: Path) -> None:
    """Only ASCII in the sample, Windows-1252 later: decided cp1252, the accent read right."""
    path = tmp_path / "cp.csv"
    path.write_bytes(("name,v\n" + "Zoe,1\n" * _ROWS + "Café £,2\n").encode("cp1252"))
    assert decide_encoding(path) == "cp1252"
    assert read_table(path)["name"].iloc[-1] == "Café £"


def test_utf8_file_with_its_first_accent_after_64kb(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(("name,v\n" + "Zoe,1\n" * _ROWS + "Zoë ✓,2\n").encode("utf-8"))
    assert decide_encoding(path) == "utf-8"
    assert read_table(path)["name"].iloc[-1] == "Zoë ✓"


def test_bytes_cp1252_leaves_undefined_mean_latin1(tmp_path: Path) -> None:
    path = tmp_path / "l1.csv"
    path.write_bytes(b"name,v\nA\x81B,1\n")
    assert decide_encoding(path) == "latin-1"


def test_the_line_is_counted_in_cr_only_files(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes("name\rZoë\rx\r".encode() + b"Caf\xe9\r")
    with pytest.raises(DataError, match="on line 4"):
        decide_encoding(path)


def test_a_multibyte_character_split_across_chunks_is_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import civicml.data._encoding as enc

    monkeypatch.setattr(enc, "CHUNK_BYTES", 7)
    path = tmp_path / "u.csv"
    path.write_bytes("name\nZoë Brontë ✓ 😀\n".encode() * 5)
    assert decide_encoding(path) == "utf-8"
    path.write_bytes("name\nZoë\n".encode() * 5 + b"Caf\xe9\n")
    with pytest.raises(DataError, match="on line 11"):
        decide_encoding(path)


def test_jsonl_with_a_stray_byte_after_64kb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    body = '{"name": "Zoë"}\n' * 5_000
    path.write_bytes(body.encode() + '{"name": "Café"}\n'.encode("cp1252"))
    with pytest.raises(DataError, match="line 5,001"):
        read_table(path)
