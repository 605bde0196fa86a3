"""Out-of-core data through DuckDB: sampling, contract inference by SQL, streamed LightGBM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml._errors import DataError
from civicml.data import infer_contract
from civicml.data._outofcore import (
    infer_contract_duckdb,
    sample_for_search,
    scan_sql,
    train_lightgbm_stream,
    validate_source,
)


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(0)
    n = 6000
    df = pd.DataFrame(
        {
            "case_id": [f"K{i:06d}" for i in range(n)],
            "x": rng.normal(size=n),
            "count": rng.integers(0, 50, size=n),
            "region": rng.choice(["north", "south", "east", None], size=n),
            "note": rng.choice(["needs a home visit soon", "called back twice today"], size=n),
            "y": np.where(rng.random(n) < 0.05, "rare", "common"),
        }
    )
    df.loc[::17, "x"] = np.nan
    for i in range(3):
        df.iloc[i * 2000 : (i + 1) * 2000].to_parquet(root / f"p{i}.parquet")
    return root, df


def test_contract_by_sql_matches_the_in_memory_one(parts) -> None:
    root, df = parts
    by_sql = infer_contract_duckdb(root, target="y", text_columns=["note"], sample_rows=6000)
    in_memory = infer_contract(df, target="y", text_columns=["note"])
    assert by_sql.to_dict() == in_memory.to_dict()


def test_contract_from_a_small_sample_still_counts_every_row(parts) -> None:
    root, df = parts
    c = infer_contract_duckdb(str(root / "*.parquet"), target="y", sample_rows=500)
    assert c.n_rows == 6000
    assert c.column("x").null_share == round(df["x"].isna().mean(), 6)
    assert c.column("count").n_unique == df["count"].nunique()
    assert c.column("y").categories == ("common", "rare")


def test_stratified_sample_is_reproducible_and_keeps_rare_classes(parts) -> None:
    root, df = parts
    s = sample_for_search(root, "y", max_rows=400, seed=3)
    assert len(s) == 400 and list(s.columns) == list(df.columns)
    share = (s["y"] == "rare").mean()
    assert abs(share - (df["y"] == "rare").mean()) < 0.01
    assert s.equals(sample_for_search(root, "y", max_rows=400, seed=3))
    assert not s.equals(sample_for_search(root, "y", max_rows=400, seed=4))
    plain = sample_for_search(root, "x", max_rows=100, seed=1, columns=["x", "y"])
    assert plain.shape == (100, 2)
    with pytest.raises(DataError, match="target column 'nope'"):
        sample_for_search(root, "nope")


def test_lightgbm_from_an_arrow_stream(parts) -> None:
    root, df = parts
    model, info = train_lightgbm_stream(
        root,
        "count",
        ["x", "region"],
        task="regression",
        max_rows=3000,
        categorical=["region"],
        params={"n_estimators": 20},
    )
    assert info["rows"] == 3000 and info["categories"]["region"] == ["east", "north", "south"]
    assert model.predict(np.zeros((2, 2), dtype=np.float32)).shape == (2,)


def test_scan_sql_reads_folders_and_globs(parts, tmp_path: Path) -> None:
    root, _ = parts
    assert "**" in scan_sql(root) and scan_sql("a.csv").startswith("read_csv_auto")
    with pytest.raises(DataError, match="DuckDB cannot read"):
        infer_contract_duckdb(tmp_path / "missing.parquet")


def test_large_files_estimate_distinct_counts_but_keep_roles_exact(
    parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    import civicml.data._outofcore as ooc

    root, df = parts
    monkeypatch.setattr(ooc, "EXACT_DISTINCT_ROWS", 100)  # treat the 6,000 rows as "large"
    c = infer_contract_duckdb(root, target="y", id_columns=["case_id"], sample_rows=6000)
    exact = df["x"].nunique()
    assert abs(c.column("x").n_unique - exact) <= 0.05 * exact  # HyperLogLog, not exact
    assert c.column("case_id").n_unique == len(df)  # ids stay exact
    assert c.column("region").categories == ("east", "north", "south")
    assert c.column("y").categories == ("common", "rare")


# --------------------------------------------------------------------------------------------
# one contract and one verdict for a CSV, in memory or streamed through DuckDB
# --------------------------------------------------------------------------------------------


def _mixed_csv(path: Path, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "ref": [f"R{i:05d}" for i in range(n)],
            "yes_no": rng.choice(["yes", "no"], size=n),
            "y_n": rng.choice(["Y", "N"], size=n),
            "t_f": rng.choice(["t", "f"], size=n),
            "flag": rng.choice(["true", "false"], size=n),
            "flag_caps": rng.choice(["TRUE", "False"], size=n),
            "flag_gaps": rng.choice(["True", "False", ""], size=n),
            "count": rng.integers(0, 9, size=n).astype(str),
            "count_gaps": np.where(rng.random(n) < 0.1, "NA", rng.integers(0, 9, n).astype(str)),
            "amount": np.round(rng.normal(100, 20, size=n), 2).astype(str),
            "opened": [f"{1 + i % 28:02d}/0{1 + i % 9}/2024" for i in range(n)],
            "note": rng.choice(["asked for a call back later", "no answer at the door"], n),
            "band": rng.choice(["A", "B", "C"], size=n),
            "y": rng.choice(["0", "1"], size=n),
        }
    )
    df.to_csv(path, index=False)
    return df


def test_csv_contract_is_the_same_in_memory_and_through_duckdb(tmp_path: Path) -> None:
    from civicml.data import read_table, validate_data

    p = tmp_path / "mixed.csv"
    _mixed_csv(p)
    frame = read_table(p)
    in_memory = infer_contract(frame, target="y")
    by_sql = infer_contract_duckdb(p, target="y")
    assert by_sql.to_dict() == in_memory.to_dict()
    dtypes = {c.name: c.dtype for c in by_sql.columns}
    assert dtypes["yes_no"] == dtypes["y_n"] == dtypes["t_f"] == "string"  # as pandas
    assert dtypes["flag"] == dtypes["flag_caps"] == "boolean"
    assert dtypes["count"] == "integer" and dtypes["count_gaps"] == "float"
    # the file passes its own contract, whichever path learned it and whichever checks
    for contract in (in_memory, by_sql):
        assert validate_data(frame, contract).issues == ()
        assert validate_source(p, contract, batch_rows=64).issues == ()


def test_a_large_csv_samples_roles_but_types_every_row(tmp_path: Path) -> None:
    p = tmp_path / "late.csv"
    rows = ["n,flag"] + [f"{i},true" for i in range(3000)] + ["3000.5,maybe"]
    p.write_text("\n".join(rows) + "\n")
    c = infer_contract_duckdb(p, sample_rows=100)
    # the one odd value sits past DuckDB's sniffing window and outside the sample
    assert (c.column("n").dtype, c.column("flag").dtype) == ("float", "string")
    assert c.n_rows == 3001 and c.column("n").max == 3000.5


def test_streamed_validation_gives_the_in_memory_report(tmp_path: Path) -> None:
    from civicml.data import read_table, validate_data

    train = tmp_path / "train.csv"
    _mixed_csv(train)
    contract = infer_contract(read_table(train), target="y")
    new = pd.read_csv(train, dtype=str, keep_default_na=False)
    new.loc[5, "count"] = "many"  # batch 1
    new.loc[130, "count"] = "12"  # out of range, batch 3
    new.loc[131, "amount"] = ""  # empty where none were
    new.loc[[7, 200, 401, 402, 403, 404], "band"] = ["D", "E", "D", "F", "G", "H"]
    new.loc[599, "opened"] = "31/02/2024"
    new["extra"] = "x"
    bad = tmp_path / "new.csv"
    new.to_csv(bad, index=False)
    whole = validate_data(read_table(bad), contract, strict=True)
    streamed = validate_source(bad, contract, batch_rows=64, strict=True)
    assert streamed == whole
    assert {(i.column, i.rule): i.examples for i in streamed.issues}[
        ("band", "unknown_category")
    ] == (
        8,
        201,
        402,
        403,
        404,
    )
    assert not streamed.ok and streamed.n_rows == 600


def test_streamed_validation_refuses_what_read_table_refuses(tmp_path: Path) -> None:
    contract = infer_contract(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(DataError, match="does not exist"):
        validate_source(tmp_path / "none.csv", contract)
    head = tmp_path / "head.csv"
    head.write_text("a,b\n")
    with pytest.raises(DataError, match="no data rows"):
        validate_source(head, contract)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a\nCaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="cannot stream"):
        validate_source(latin, contract)


def test_a_header_duckdb_would_read_differently_is_refused(tmp_path: Path) -> None:
    contract = infer_contract(pd.DataFrame({"a": [1, 2]}))
    case = tmp_path / "case.csv"
    case.write_text("TF,tf\nTrue,1\n")
    with pytest.raises(DataError, match="differ only in case.*'TF', 'tf'"):
        validate_source(case, contract)
    twice = tmp_path / "twice.csv"
    twice.write_text("a,a\n1,2\n")
    with pytest.raises(DataError, match="duplicate column names: 'a'"):
        infer_contract_duckdb(twice)
