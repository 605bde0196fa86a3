"""``check_spec_data``: ``validate --spec``'s checks on a DuckDB sample of a table larger than
memory (forced here with a small file by lowering the size threshold), the same findings as
the in-memory path, the true row total and a note that says it was a sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml._errors import DataError
from civicml.data import SpecCheck, check_spec_data
from civicml.data._spec_check import large_spec_source
from civicml.spec import ProjectSpec

N = 3_000


def _table(n: int = N, *, rare: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = np.array(["no"] * (n - 300 - rare) + ["yes"] * 300 + ["appeal"] * rare, dtype=object)
    rng.shuffle(y)
    areas = ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "LS1 4AP"]
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(30_000, 8_000, n).round(2),
            "postcode": rng.choice(areas, n),
            "region": rng.choice(["north", "south", "east"], n),
            "y": y,
        }
    )


def _spec(folder: Path, data: str = "t.csv", **extra: object) -> ProjectSpec:
    return ProjectSpec(name="demo", data={"path": data}, target="y", base_dir=folder, **extra)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    _table().to_csv(tmp_path / "t.csv", index=False)
    return tmp_path


def test_a_large_table_is_checked_on_a_sample_with_the_same_findings(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("civicml.data._outofcore.STREAM_BYTES", 1_000)  # the file is "large"
    spec = _spec(folder)
    sampled = check_spec_data(spec, sample_rows=400)
    whole = check_spec_data(spec, out_of_core=False)
    assert whole.method == "every row" and whole.note is None and not whole.sampled
    assert whole.rows_checked == whole.rows_total == N
    assert sampled.sampled and sampled.method == "class-stratified reservoir sample"
    assert sampled.rows_total == N  # the file's rows, not the sample's
    assert 400 <= sampled.rows_checked <= 402  # the rare class kept twice
    assert sampled.columns == whole.columns == 5
    assert sampled.note == (
        f"The checks ran on a class-stratified reservoir sample of {sampled.rows_checked:,} "
        f"of {N:,} rows, drawn by DuckDB (seed 0)."
    )
    pairs = [(f.column, f.kind) for f in sampled.findings]
    assert pairs == [(f.column, f.kind) for f in whole.findings] == [("postcode", "postcode")]
    assert sampled.findings[0].n_checked == sampled.rows_checked
    assert sampled.warnings == whole.warnings
    again = check_spec_data(spec, sample_rows=400)  # reproducible: the spec's seed
    assert again == sampled
    d = sampled.to_dict()
    assert d["rows"] == N and d["checked"]["rows"] == sampled.rows_checked
    assert d["checked"]["sampled"] is True and d["personal_data"][0]["column"] == "postcode"


def test_a_class_with_few_rows_is_not_refused_on_the_sample(folder: Path) -> None:
    # the 3-row class gets one row in proportion; the file has three, so no "only one row"
    found = check_spec_data(_spec(folder), out_of_core=True, sample_rows=200)
    assert found.sampled
    assert found.rows_checked in (200, 201, 202)


def test_a_class_with_one_row_in_the_file_is_refused_and_the_message_says_sample(
    tmp_path: Path,
) -> None:
    _table(rare=1).to_csv(tmp_path / "t.csv", index=False)
    spec = _spec(tmp_path)
    with pytest.raises(DataError, match="only one row") as whole:
        check_spec_data(spec, out_of_core=False)
    assert "sample" not in str(whole.value)
    with pytest.raises(DataError, match="only one row") as sampled:
        check_spec_data(spec, out_of_core=True, sample_rows=200)
    assert f"of 200 of {N:,} rows drawn by DuckDB" in str(sampled.value)


def test_a_missing_target_gives_the_in_memory_message(folder: Path) -> None:
    spec = ProjectSpec(name="demo", data={"path": "t.csv"}, target="outcome", base_dir=folder)
    with pytest.raises(DataError, match="The target column 'outcome' is not in the data"):
        check_spec_data(spec, out_of_core=True, sample_rows=100)


def test_regression_uses_a_plain_reservoir(folder: Path) -> None:
    df = _table().assign(y=lambda d: d["income"] * 2 + 1)
    df.to_parquet(folder / "r.parquet")
    spec = _spec(folder, "r.parquet", task="regression")
    found = check_spec_data(spec, out_of_core=True, sample_rows=250)
    assert (found.method, found.rows_checked, found.rows_total) == ("reservoir sample", 250, N)
    assert any("income" in w and "leak" in w for w in found.warnings)


def test_a_folder_is_sampled_and_a_small_file_is_not(folder: Path) -> None:
    parts = folder / "parts"
    parts.mkdir()
    table = _table()
    table.iloc[:1500].to_parquet(parts / "a.parquet")
    table.iloc[1500:].to_parquet(parts / "b.parquet")
    spec = _spec(folder, "parts")
    assert large_spec_source(spec) is not None  # a folder is always streamed
    found = check_spec_data(spec, sample_rows=500)
    assert found.sampled and found.rows_total == N
    small = check_spec_data(_spec(folder))
    assert isinstance(small, SpecCheck) and not small.sampled


def test_out_of_core_refuses_a_spec_it_cannot_stream(folder: Path) -> None:
    spec = ProjectSpec(name="demo", data={"query": "SELECT 1 AS y"}, target="y", base_dir=folder)
    assert large_spec_source(spec) is None
    with pytest.raises(DataError, match="--out-of-core needs"):
        check_spec_data(spec, out_of_core=True)
    encoded = ProjectSpec(
        name="demo", data={"path": "t.csv", "encoding": "latin-1"}, target="y", base_dir=folder
    )
    assert large_spec_source(encoded, out_of_core=False) is None
    with pytest.raises(DataError, match="without encoding or delimiter"):
        large_spec_source(encoded, out_of_core=True)
    pd.DataFrame({"y": [0, 1]}).to_excel(folder / "t.xlsx", index=False)
    with pytest.raises(DataError, match="one CSV or Parquet file"):
        check_spec_data(_spec(folder, "t.xlsx"), out_of_core=True)
