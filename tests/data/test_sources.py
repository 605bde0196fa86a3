from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from civicml import DataError
from civicml.data import _sources, load_data, read_sql, read_table
from civicml.spec import ProjectSpec

REPO = Path(__file__).resolve().parents[2]


def one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.endswith(".")
    return msg


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- problems with the file itself ----------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        read_table(tmp_path / "nope.csv")
    msg = one_line(err)
    assert "nope.csv" in msg and "does not exist" in msg
    assert "data.path" in msg


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder") as err:
        read_table(tmp_path)
    one_line(err)


def test_zero_byte_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"empty \(0 bytes\)") as err:
        read_table(write(tmp_path / "e.csv", ""))
    assert "e.csv" in one_line(err)


def test_blank_lines_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        read_table(write(tmp_path / "b.csv", "\n\n  \n"))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        read_table(write(tmp_path / "h.csv", "age,region\n"))
    msg = one_line(err)
    assert "header but no data rows" in msg and "'age'" in msg


def test_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        read_table(write(tmp_path / "data.dat", "a,b\n1,2\n"))
    msg = one_line(err)
    assert "'.dat'" in msg and "data.format" in msg


def test_old_xls_is_explained(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"\.xls"):
        read_table(write(tmp_path / "old.xls", "x"))


def test_format_override(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "data.dat", "a,b\n1,2\n"), format="csv")
    assert df.to_dict("list") == {"a": [1], "b": [2]}
    with pytest.raises(DataError, match="data.format"):
        read_table(tmp_path / "data.dat", format="xml")  # type: ignore[arg-type]


def test_binary_file_as_csv(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_bytes(b"\x00\x01\x02binary\x00")
    with pytest.raises(DataError, match="not a text file") as err:
        read_table(p)
    one_line(err)


def test_parquet_named_csv(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    pd.DataFrame({"a": [1]}).to_parquet(p)
    with pytest.raises(DataError, match="looks like a Parquet file"):
        read_table(p)


def test_corrupt_files(tmp_path: Path) -> None:
    for name, pattern in [
        ("bad.parquet", "not a readable Parquet"),
        ("bad.xlsx", "not a readable Excel"),
        ("bad.jsonl", "not valid JSON lines"),
    ]:
        with pytest.raises(DataError, match=pattern) as err:
            read_table(write(tmp_path / name, "{not really"))
        one_line(err)


def test_ragged_csv(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="could not be parsed as CSV") as err:
        read_table(write(tmp_path / "r.csv", "a,b\n1,2\n3,4,5,6\n"))
    assert "line 3" in one_line(err)


def test_duplicate_columns_csv(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        read_table(write(tmp_path / "d.csv", "id,age,region,age\n1,30,N,31\n"))
    msg = one_line(err)
    assert "duplicate column names: 'age'" in msg


def test_duplicate_columns_xlsx(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["x", "y", "x"])
    ws.append([1, 2, 3])
    p = tmp_path / "d.xlsx"
    wb.save(p)
    with pytest.raises(DataError, match="duplicate column names: 'x'"):
        read_table(p)


def test_duplicate_columns_parquet(tmp_path: Path) -> None:
    p = tmp_path / "d.parquet"
    pq.write_table(pa.table([pa.array([1]), pa.array([2])], names=["a", "a"]), p)
    with pytest.raises(DataError, match="duplicate column names: 'a'"):
        read_table(p)


# --- encodings and delimiters ----------------------------------------------------------------


def test_cp1252_pound_and_accent(tmp_path: Path) -> None:
    p = write(tmp_path / "w.csv", "name,fee\ncafé,£12\nnaïve,£3\n", encoding="cp1252")
    df = read_table(p)
    assert df["name"].tolist() == ["café", "naïve"]
    assert df["fee"].tolist() == ["£12", "£3"]


def test_cp1252_byte_after_the_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sources, "_SAMPLE_BYTES", 16)
    p = write(tmp_path / "w.csv", "name,fee\n" + "plain,1\n" * 5 + "café,£2\n", encoding="cp1252")
    assert read_table(p)["name"].iloc[-1] == "café"


def test_explicit_wrong_encoding(tmp_path: Path) -> None:
    p = write(tmp_path / "w.csv", "name\ncafé\n", encoding="cp1252")
    with pytest.raises(DataError, match="cannot be decoded as utf-8"):
        read_table(p, encoding="utf-8")
    with pytest.raises(DataError, match="not a known text encoding"):
        read_table(p, encoding="klingon")


def test_utf8_bom(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "b.csv", "\ufeffage,sex\n30,F\n"))
    assert list(df.columns) == ["age", "sex"]


def test_semicolon_with_decimal_comma(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "s.csv", "region;rate;n\nNorth;1,5;3\nSouth;2,25;4\n"))
    assert list(df.columns) == ["region", "rate", "n"]
    assert df["rate"].tolist() == [1.5, 2.25]


def test_semicolon_with_commas_in_text(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "s.csv", "a;note\n1;yes, late\n2;no, early\n"))
    assert df["note"].tolist() == ["yes, late", "no, early"]


def test_tab_delimiter(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "t.tsv", "a\tb\tc\n1\tx,y\t2\n3\tz\t4\n"))
    assert list(df.columns) == ["a", "b", "c"]
    assert df["b"].tolist() == ["x,y", "z"]


def test_pipe_and_explicit_delimiter(tmp_path: Path) -> None:
    p = write(tmp_path / "p.txt", "a|b\n1|2\n")
    assert list(read_table(p).columns) == ["a", "b"]
    assert list(read_table(p, delimiter=",").columns) == ["a|b"]


def test_large_csv_goes_through_duckdb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path / "big.csv", "id;flag;x\n1;yes;0.5\n2;no;1.5\n")
    small = read_table(p)
    called = []
    real = _sources._read_csv_duckdb

    def spy(path: Path, delimiter: str) -> pd.DataFrame | None:
        called.append(delimiter)
        return real(path, delimiter)

    monkeypatch.setattr(_sources, "LARGE_FILE_BYTES", 0)
    monkeypatch.setattr(_sources, "_read_csv_duckdb", spy)
    big = read_table(p)
    assert called == [";"]
    pd.testing.assert_frame_equal(big, small, check_dtype=False)
    assert not pd.api.types.is_bool_dtype(big["flag"].dtype)  # yes/no stays text, as in pandas


# --- other formats ---------------------------------------------------------------------------


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "code": ["007", "010", "x"],
            "rate": [0.5, None, 2.0],
            "ok": [True, False, True],
        }
    )


def test_parquet_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    p = tmp_path / "f.parquet"
    frame.to_parquet(p)
    pd.testing.assert_frame_equal(read_table(p), frame)


def test_xlsx_round_trip_and_sheets(tmp_path: Path, frame: pd.DataFrame) -> None:
    p = tmp_path / "f.xlsx"
    with pd.ExcelWriter(p, engine="openpyxl") as xw:
        frame.to_excel(xw, sheet_name="first", index=False)
        frame.head(1).to_excel(xw, sheet_name="second", index=False)
    df = read_table(p)
    assert df["id"].tolist() == [1, 2, 3] and df["code"].tolist() == ["007", "010", "x"]
    assert len(read_table(p, sheet="second")) == 1
    assert len(read_table(p, sheet=1)) == 1
    with pytest.raises(DataError, match="no sheet named 'third'") as err:
        read_table(p, sheet="third")
    assert "['first', 'second']" in one_line(err)
    with pytest.raises(DataError, match="no sheet number 5"):
        read_table(p, sheet=5)


def test_jsonl_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    for name in ("f.jsonl", "f.ndjson"):
        p = tmp_path / name
        frame.to_json(p, orient="records", lines=True)
        df = read_table(p)
        assert df["code"].tolist() == ["007", "010", "x"]  # no string-to-number guessing
        assert df["id"].tolist() == [1, 2, 3]


# --- SQL -------------------------------------------------------------------------------------


def test_duckdb_query_over_parquet_glob(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "data" / "p1.parquet")
    pd.DataFrame({"a": [3]}).to_parquet(tmp_path / "data" / "p2.parquet")
    q = "SELECT * FROM 'data/*.parquet' ORDER BY a"
    assert read_sql(q, base_dir=tmp_path)["a"].tolist() == [1, 2, 3]
    full = f"SELECT count(*) AS n FROM '{tmp_path}/data/*.parquet'"
    assert read_sql(full, base_dir=tmp_path)["n"].tolist() == [3]


def test_duckdb_bad_sql() -> None:
    with pytest.raises(DataError) as err:
        read_sql("SELEC 1")
    msg = one_line(err)
    assert "syntax error" in msg and "SELEC" in msg and "data.query" in msg


def test_sql_no_rows_and_empty_query() -> None:
    with pytest.raises(DataError, match="returned no rows"):
        read_sql("SELECT 1 AS a WHERE false")
    with pytest.raises(DataError, match="query is empty"):
        read_sql("  ")


def test_sqlalchemy_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "claims.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE claims (id INTEGER, region TEXT)")
        con.executemany("INSERT INTO claims VALUES (?, ?)", [(1, "N"), (2, "S")])
    df = read_sql("SELECT * FROM claims ORDER BY id", url=f"sqlite:///{db}")
    assert df.to_dict("list") == {"id": [1, 2], "region": ["N", "S"]}
    with pytest.raises(DataError) as err:
        read_sql("SELECT * FROM nope", url=f"sqlite:///{db}")
    assert "no such table: nope" in one_line(err)


def test_sqlalchemy_bad_url_and_driver() -> None:
    with pytest.raises(DataError, match="not a valid database URL"):
        read_sql("SELECT 1", url="not a url")
    with pytest.raises(DataError) as err:
        read_sql("SELECT 1", url="postgresql+nodriver://me:secret@db/x")
    msg = one_line(err)
    assert "not installed" in msg and "secret" not in msg


# --- load_data -------------------------------------------------------------------------------


def test_load_data_relative_path(tmp_path: Path) -> None:
    write(tmp_path / "d.csv", "x,y\n1,0\n2,1\n")
    spec = ProjectSpec(name="t", data={"path": "d.csv"}, target="y", base_dir=tmp_path)
    assert load_data(spec).shape == (2, 2)


def test_load_data_query_relative_to_spec(tmp_path: Path) -> None:
    write(tmp_path / "d.csv", "x,y\n1,0\n2,1\n")
    spec = ProjectSpec(
        name="t", data={"query": "SELECT * FROM 'd.csv' WHERE x > 1"}, target="y", base_dir=tmp_path
    )
    assert load_data(spec).to_dict("list") == {"x": [2], "y": [1]}


def test_load_data_relative_sqlite(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "local.db") as con:
        con.execute("CREATE TABLE t (y INTEGER)")
        con.execute("INSERT INTO t VALUES (1)")
    spec = ProjectSpec(
        name="t",
        data={"query": "SELECT * FROM t", "url": "sqlite:///local.db"},
        target="y",
        base_dir=tmp_path,
    )
    assert load_data(spec)["y"].tolist() == [1]


def test_load_benefits_example() -> None:
    from civicml.spec import load_spec

    df = load_data(load_spec(REPO / "examples" / "benefits" / "civicml.yaml"))
    assert df.shape == (4877, 18)
