"""The data profile through DuckDB: right counts, no raw free text or personal data out, the
target against each feature, the dataset card, and ``civicml data profile``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml._errors import DataError
from civicml.data import _profile as profile_module
from civicml.data import dataset_card, profile_data
from civicml.data._profile_card import NEEDS_PERSON

N = 120
SECRET = "zebra-crossing-7731"  # a phrase only free text holds


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 90, N).astype(float),
            "region": rng.choice(["North", "South", "East"], N),
            "notes": [
                f"Caller {i} rang about the claim and mentioned {SECRET}{i} twice today"
                for i in range(N)
            ],
            "contact": [f"person{i}@example.com" for i in range(N)],
            "opened": pd.date_range("2024-01-01", periods=N, freq="D").strftime("%Y-%m-%d"),
            "approved": rng.integers(0, 2, N),
        }
    )
    df.loc[[1, 5, 9, 30], "age"] = np.nan
    df.loc[[2, 3], "region"] = None
    df.loc[7, "region"] = "Rare"  # one row: never named
    df.loc[[0, 40], "notes"] = None
    return pd.concat([df, df.iloc[[10, 11, 12]]], ignore_index=True)  # 3 duplicate rows


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("profile")
    df = _frame()
    df.to_csv(folder / "cases.csv", index=False)
    return folder / "cases.csv", df


@pytest.fixture(scope="module")
def profiled(small: tuple[Path, pd.DataFrame]) -> dict:
    return profile_data(small[0], target="approved")


def _col(p: dict, name: str) -> dict:
    return next(c for c in p["columns"] if c["name"] == name)


def test_counts_match_pandas(profiled: dict, small: tuple[Path, pd.DataFrame]) -> None:
    _, df = small
    assert profiled["rows"] == len(df) == N + 3
    assert profiled["duplicate_rows"] == int(df.duplicated().sum()) == 3
    assert profiled["rows_with_missing"] == int(df.isna().any(axis=1).sum())
    for name in df.columns:
        col = _col(profiled, name)
        assert col["missing"] == int(df[name].isna().sum()), name
        assert col["count"] == int(df[name].notna().sum()), name
    age = _col(profiled, "age")["numeric"]
    assert age["mean"] == pytest.approx(df["age"].mean())
    assert age["sd"] == pytest.approx(df["age"].std())
    assert age["quantiles"]["p50"] == pytest.approx(df["age"].median())
    assert (age["min"], age["max"]) == (df["age"].min(), df["age"].max())
    assert sum(b["count"] for b in age["histogram"]) == df["age"].notna().sum()
    assert _col(profiled, "region")["distinct"] == 4


def test_roles_and_dates(profiled: dict) -> None:
    roles = {c["name"]: c["role"] for c in profiled["columns"]}
    assert roles["age"] == "numeric" and roles["region"] == "categorical"
    assert roles["notes"] == "text" and roles["opened"] == "date"
    assert _col(profiled, "opened")["date"] == {"min": "2024-01-01", "max": "2024-04-29"}
    notes = _col(profiled, "notes")
    assert notes["values_hidden"] and notes["length"]["min"] > 40


def test_no_free_text_or_personal_value_in_any_output(
    profiled: dict, small: tuple[Path, pd.DataFrame]
) -> None:
    _, df = small
    text = json.dumps(profiled) + dataset_card(profiled)
    assert SECRET not in text
    assert "@example.com" not in text
    assert not any(v in text for v in df["notes"].dropna())
    assert "Rare" not in text  # a category of one row is not named
    contact = _col(profiled, "contact")
    assert contact["values_hidden"] and "email" in contact["hidden_reason"]
    assert [f["column"] for f in profiled["personal_data"]] == ["contact"]


def test_region_top_categories_share_and_other(profiled: dict) -> None:
    cats = _col(profiled, "region")["categories"]
    assert {t["value"] for t in cats["top"]} == {"North", "South", "East"}
    assert cats["other_count"] == 1  # "Rare" counted, not named
    assert sum(t["count"] for t in cats["top"]) + cats["other_count"] == N + 3 - 2


def test_target_rate_by_category_matches_pandas(
    profiled: dict, small: tuple[Path, pd.DataFrame]
) -> None:
    _, df = small
    target = profiled["target"]
    assert target["classes"] == ["0", "1"]
    groups = {g["group"]: g for g in target["by_feature"]["region"]["groups"]}
    want = df.groupby("region")["approved"].mean()
    for name in ("North", "South", "East"):
        assert groups[name]["shares"]["1"] == pytest.approx(want[name], abs=1e-6)
        assert groups[name]["count"] == int((df["region"] == name).sum())
    assert "Rare" not in groups
    assert "skipped" in target["by_feature"]["notes"]
    age = target["by_feature"]["age"]["groups"]
    assert sum(g["count"] for g in age) <= len(df)
    assert any(g["group"] == "(missing)" for g in age) is False  # 4 rows < min_cell


def test_regression_target_means(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"g": rng.choice(["a", "b"], 400), "y": rng.normal(0, 1, 400)})
    df.loc[df["g"] == "b", "y"] += 5
    df.to_parquet(tmp_path / "r.parquet")
    p = profile_data(tmp_path / "r.parquet", target="y")
    assert p["target"]["kind"] == "regression"
    groups = {g["group"]: g["mean"] for g in p["target"]["by_feature"]["g"]["groups"]}
    want = df.groupby("g")["y"].mean()
    assert groups["b"] == pytest.approx(want["b"]) and groups["a"] == pytest.approx(want["a"])


def test_identifier_missed_by_the_sample_is_still_withheld(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the scan reads a sample of 10 rows; the email sits in 6 of 400 rows and is frequent
    # enough to be a top category, so only the value check can stop it
    monkeypatch.setattr(profile_module, "_SAMPLE_ROWS", 10)
    values = ["none"] * 394 + ["jo.bloggs@example.com"] * 6
    pd.DataFrame({"contact_kind": values}).to_parquet(tmp_path / "c.parquet")
    p = profile_data(tmp_path / "c.parquet")
    assert "jo.bloggs" not in json.dumps(p)
    cats = _col(p, "contact_kind")["categories"]
    assert cats.get("withheld_personal") == 1 and cats["other_count"] == 6


def test_folder_and_glob_of_parquet(tmp_path: Path) -> None:
    for i in range(3):
        pd.DataFrame({"x": range(i * 10, i * 10 + 10)}).to_parquet(tmp_path / f"p{i}.parquet")
    assert profile_data(tmp_path)["rows"] == 30
    assert profile_data(tmp_path / "p*.parquet")["rows"] == 30


def test_bad_inputs_are_one_line_errors(tmp_path: Path, small: tuple[Path, pd.DataFrame]) -> None:
    with pytest.raises(DataError, match="does not exist"):
        profile_data(tmp_path / "missing.csv")
    (tmp_path / "a.xlsx").write_bytes(b"x")
    with pytest.raises(DataError, match="cannot profile"):
        profile_data(tmp_path / "a.xlsx")
    with pytest.raises(DataError, match="target column 'nope'"):
        profile_data(small[0], target="nope")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="DuckDB cannot read") as err:
        profile_data(tmp_path / "bad.parquet")
    assert "\n" not in str(err.value)


def test_dataset_card_fields(profiled: dict) -> None:
    card = dataset_card(profiled)
    for field in (
        "Source data name",
        "Data description",
        "Data modality",
        "Data quantities",
        "Sensitive attributes",
        "Data completeness and representativeness",
        "Source data URL and licence",
        "Data collection",
        "Data cleaning",
        "Data sharing agreements",
        "Data access and storage",
    ):
        assert f"| {field} |" in card, field
    assert f"| Data quantities | {N + 3} rows × 6 columns" in card
    assert "| Data description | " + NEEDS_PERSON in card
    assert "contact: email addresses" in card
    assert "3 duplicate rows" in card


def test_group_representation_for_special_category(tmp_path: Path) -> None:
    eth = ["White"] * 50 + ["Asian"] * 30 + ["Black"] * 20
    pd.DataFrame({"ethnicity": eth, "x": range(100)}).to_csv(tmp_path / "e.csv", index=False)
    card = dataset_card(profile_data(tmp_path / "e.csv"))
    assert "## Group representation" in card and "| White | 50 | 50.0% | – | – |" in card
    assert "Reference shares of the population served: TO BE COMPLETED BY A PERSON" in card


def test_cli_writes_three_files(tmp_path: Path, small: tuple[Path, pd.DataFrame]) -> None:
    from typer.testing import CliRunner

    from civicml.cli._data import app

    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["profile", str(small[0]), "-o", str(out), "--target", "approved"]
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [
        "dataset_card.json",
        "dataset_card.md",
        "profile.html",
        "profile.json",
    ]
    doc = json.loads((out / "profile.json").read_text())
    assert doc["rows"] == N + 3 and doc["target"]["column"] == "approved"
    for f in out.iterdir():
        body = f.read_text()
        assert SECRET not in body and "@example.com" not in body, f.name
    bad = CliRunner().invoke(app, ["profile", str(tmp_path / "none.csv"), "-o", str(out)])
    assert bad.exit_code == 2 and "does not exist" in bad.output


def test_cli_minimal_protected_and_reference(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from civicml.cli._data import app

    data = tmp_path / "people.csv"
    pd.DataFrame({"gender": ["f", "m", "f", "f"] * 10, "x": range(40)}).to_csv(data, index=False)
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps({"gender": {"f": 0.5, "m": 0.5}}))
    out = tmp_path / "out"
    args = ["profile", str(data), "-o", str(out), "--minimal", "--protected", "sex=gender"]
    res = CliRunner().invoke(app, [*args, "--reference", str(ref)])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "profile.json").read_text())
    assert doc["mode"] == "minimal"
    card = json.loads((out / "dataset_card.json").read_text())
    shares = json.dumps(card["representation"])
    assert "gender" in shares and "0.75" in shares and "0.5" in shares
    for bad_args, message in (
        (["--protected", "sex"], "not CHARACTERISTIC=COLUMN"),
        (["--reference", str(tmp_path / "nope.json")], "cannot be read as JSON"),
    ):
        bad = CliRunner().invoke(app, ["profile", str(data), "-o", str(out), *bad_args])
        assert bad.exit_code == 2 and message in bad.output, bad.output


@pytest.mark.skipif(
    not os.environ.get("CIVICML_BENCH"), reason="1M-row timing: set CIVICML_BENCH=1 to run"
)
def test_million_rows_in_seconds(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(10)})
    for i in range(9):
        df[f"c{i}"] = rng.choice([f"v{j}" for j in range(8)], n)
    df["y"] = rng.random(n) < 0.3
    df.to_parquet(tmp_path / "big.parquet")
    start = time.perf_counter()
    p = profile_data(tmp_path / "big.parquet")
    took = time.perf_counter() - start
    assert p["rows"] == n
    assert took < 30, took


def test_a_large_table_gets_estimated_quantiles_within_the_memory_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the exact-statistics size the quantiles are t-digest estimates (exact ones hold
    every value in memory, which DuckDB cannot spill), and the profile says which it used."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=20_000), "g": rng.choice(["a", "b"], 20_000)})
    frame.to_parquet(tmp_path / "t.parquet")
    monkeypatch.setattr(profile_module, "_EXACT_DISTINCT_ROWS", 1_000)
    found = profile_data(tmp_path / "t.parquet", minimal=True)
    assert found["quantile_method"] == "approximate (t-digest)"
    q = next(c for c in found["columns"] if c["name"] == "x")["numeric"]["quantiles"]
    assert abs(q["p50"] - float(frame["x"].median())) < 0.05
    assert abs(q["p25"] - float(frame["x"].quantile(0.25))) < 0.05


def test_a_query_that_cannot_finish_is_one_data_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    pd.DataFrame({"x": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "t.parquet")

    def out_of_memory(*args: object, **kwargs: object) -> int:
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate 16.0 MiB")

    monkeypatch.setattr(profile_module, "_duplicates", out_of_memory)
    with pytest.raises(DataError, match="could not be computed") as err:
        profile_data(tmp_path / "t.parquet")
    assert "Out of Memory" in str(err.value) and "\n" not in str(err.value)
