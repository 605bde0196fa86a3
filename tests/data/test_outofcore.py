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
