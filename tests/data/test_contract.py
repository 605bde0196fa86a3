from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml import ContractError, DataError
from civicml.data import ColumnContract, DataContract, infer_contract


@pytest.fixture
def table() -> pd.DataFrame:
    n = 60
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "case_id": np.arange(1000, 1000 + n),
            "ClaimRef": [f"CR-{i:05d}" for i in range(n)],
            "token": [f"t{i:04x}z" for i in range(n)],
            "age": rng.integers(18, 90, n),
            "children": rng.integers(0, 3, n),
            "income": rng.normal(30_000, 5_000, n).round(2),
            "region": rng.choice(["North", "South", "East"], n),
            "band": rng.choice([1, 2, 3], n),
            "urgent": rng.choice([True, False], n),
            "opened": pd.date_range("2024-01-01", periods=n).strftime("%d/%m/%Y"),
            "closed": pd.date_range("2024-02-01", periods=n).strftime("%Y-%m-%d"),
            "stamp": pd.date_range("2024-03-01", periods=n, freq="h"),
            "notes": [
                f"Caller number {i} said the form was hard to find and asked again"
                for i in range(n)
            ],
            "scratch": [None] * n,
            "outcome": rng.choice(["grant", "refuse"], n),
        }
    )


def test_infer_roles(table: pd.DataFrame) -> None:
    c = infer_contract(
        table, target="outcome", categorical_columns=["band"], drop_columns=["scratch"]
    )
    roles = {col.name: col.role for col in c.columns}
    assert roles == {
        "case_id": "id",  # unique whole numbers named *_id
        "ClaimRef": "id",  # name ends in Ref
        "token": "id",  # unique strings without spaces
        "age": "numeric",
        "children": "numeric",  # few distinct integers stay numeric
        "income": "numeric",
        "region": "categorical",
        "band": "categorical",  # declared numeric code
        "urgent": "categorical",
        "opened": "date",
        "closed": "date",
        "stamp": "date",
        "notes": "text",
        "outcome": "target",
    }
    assert "scratch" not in c.names and c.dropped == ("scratch",)
    assert c.target == "outcome" and c.n_rows == 60
    dtypes = {col.name: col.dtype for col in c.columns}
    assert dtypes["age"] == "integer" and dtypes["income"] == "float"
    assert dtypes["urgent"] == "boolean" and dtypes["region"] == "string"
    assert dtypes["opened"] == dtypes["stamp"] == "datetime"
    assert c.column("opened").date_format == "%d/%m/%Y"
    assert c.column("closed").date_format == "ISO8601"
    assert c.column("opened").min == "2024-01-01T00:00:00"
    assert c.column("region").categories == ("East", "North", "South")
    assert c.column("band").categories == ("1", "2", "3")
    assert c.column("urgent").categories == ("False", "True")
    assert c.column("outcome").categories == ("grant", "refuse")
    assert c.column("notes").max_length == max(map(len, table["notes"]))
    assert c.column("age").min == table["age"].min() and c.column("age").max == table["age"].max()


def test_declared_roles_win(table: pd.DataFrame) -> None:
    c = infer_contract(table, id_columns=["age"], text_columns=["region"], date_columns=["closed"])
    assert c.column("age").role == "id"
    assert c.column("region").role == "text"
    assert c.column("closed").role == "date"


def test_nullable_and_null_share() -> None:
    df = pd.DataFrame({"x": [1.0, None, 3.0, None], "y": ["a", "b", "a", "b"]})
    c = infer_contract(df)
    assert c.column("x").nullable and c.column("x").null_share == 0.5
    assert not c.column("y").nullable and c.column("y").null_share == 0.0


def test_category_cap() -> None:
    df = pd.DataFrame({"code": [f"c {i % 50}" for i in range(200)]})
    assert infer_contract(df, max_categories=10).column("code").categories is None
    assert len(infer_contract(df).column("code").categories or ()) == 50


def test_infinite_range_is_not_recorded() -> None:
    df = pd.DataFrame({"x": [1.0, np.inf, -np.inf]})
    col = infer_contract(df).column("x")
    assert col.min is None and col.max is None


def test_unknown_declared_column() -> None:
    df = pd.DataFrame({"region": ["a"], "y": [1]})
    with pytest.raises(DataError) as err:
        infer_contract(df, categorical_columns=["regoin"])
    msg = str(err.value)
    assert "'regoin'" in msg and "columns.categorical" in msg and "Did you mean 'region'" in msg
    with pytest.raises(DataError, match="target column 'outcome' is not in the data"):
        infer_contract(df, target="outcome")
    with pytest.raises(DataError, match="also listed under columns.drop"):
        infer_contract(df, target="y", drop_columns=["y"])


def test_json_round_trip(table: pd.DataFrame, tmp_path: Path) -> None:
    c = infer_contract(table, target="outcome", drop_columns=["scratch"])
    d = c.to_dict()
    json.dumps(d, allow_nan=False)
    assert DataContract.from_dict(json.loads(json.dumps(d))) == c
    path = c.save(tmp_path / "contract.json")
    assert DataContract.load(path) == c
    assert [p.name for p in tmp_path.iterdir()] == ["contract.json"]  # no temp file left


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    c = DataContract(columns=(ColumnContract("x", "integer", "numeric"),), n_rows=1)
    path = c.save(tmp_path / "c.json")
    before = path.read_text()

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        DataContract(columns=(), n_rows=0).save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"columns": [{"name": "x", "dtype": "complex", "role": "numeric"}]}', "columns.0.dtype"),
        ('{"n_rows": 3}', "'columns'"),
        ('{"columns": [], "version": 99}', "newer civicml"),
        (
            '{"columns": [{"name": "x", "dtype": "integer", "role": "id"},'
            ' {"name": "x", "dtype": "integer", "role": "id"}]}',
            "lists a column twice",
        ),
    ],
)
def test_malformed_contract_files(tmp_path: Path, content: str, pattern: str) -> None:
    p = tmp_path / "contract.json"
    p.write_text(content)
    with pytest.raises(ContractError, match=pattern) as err:
        DataContract.load(p)
    assert "\n" not in str(err.value) and str(err.value).endswith(".")


def test_missing_contract_file(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="does not exist"):
        DataContract.load(tmp_path / "nope.json")
