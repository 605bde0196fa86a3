from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml import DataError
from civicml.data import check_training_table, detect_task, read_table

REPO = Path(__file__).resolve().parents[2]


def one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith(".")
    return msg


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(30, 5, n),
            "region": rng.choice(["N", "S", "E", "W"], n),
            "outcome": rng.choice(["grant", "refuse"], n),
        }
    )


# --- detect_task -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["yes", "no", "yes"], "binary"),
        ([True, False, True], "binary"),
        (["a", "b", "c"], "multiclass"),
        ([0, 1, 1, 0], "binary"),
        ([1, 2, 3, 4, 5], "multiclass"),
        (list(range(25)), "regression"),
        ([0.0, 1.0, 1.0, None], "binary"),
        ([1.0, 2.0, 3.0], "regression"),
        ([0.5, 1.25, 3.0], "regression"),
    ],
)
def test_detect_task(values: list[object], task: str) -> None:
    assert detect_task(pd.Series(values)) == task


def test_detect_task_empty() -> None:
    with pytest.raises(DataError, match="no values"):
        detect_task(pd.Series([None, None], dtype="float64"))


# --- errors ----------------------------------------------------------------------------------


def test_clean_table_passes(table: pd.DataFrame) -> None:
    assert check_training_table(table, target="outcome") == []


def test_target_not_a_column(table: pd.DataFrame) -> None:
    with pytest.raises(DataError) as err:
        check_training_table(table, target="outcom")
    msg = one_line(err)
    assert "'outcom' is not in the data" in msg
    assert "Did you mean 'outcome'?" in msg
    assert "['age', 'income', 'region', 'outcome']" in msg
    assert msg.endswith("Set 'target' in civicml.yaml to one of them.")


def test_declared_column_missing(table: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="'case_id' named under columns.id"):
        check_training_table(table, target="outcome", id_columns=["case_id"])
    with pytest.raises(DataError, match="columns.group"):
        check_training_table(table, target="outcome", group="household")


def test_constant_target(table: pd.DataFrame) -> None:
    with pytest.raises(DataError) as err:
        check_training_table(table.assign(outcome="grant"), target="outcome")
    msg = one_line(err)
    assert "same value in every row" in msg and "'grant' in all 300 rows" in msg


def test_empty_target(table: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="empty in every row"):
        check_training_table(table.assign(outcome=np.nan), target="outcome")


def test_class_with_one_row(table: pd.DataFrame) -> None:
    df = table.copy()
    df.loc[7, "outcome"] = "appeal"
    with pytest.raises(DataError) as err:
        check_training_table(df, target="outcome")
    msg = one_line(err)
    assert "class with only one row: 'appeal' (1 row)" in msg
    assert "Merge the rare class" in msg


def test_task_mismatch(table: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="cannot be used for regression"):
        check_training_table(table, target="outcome", task="regression")
    df = table.assign(outcome=np.resize(["a", "b", "c"], len(table)))
    with pytest.raises(DataError, match="3 classes, but task is 'binary'"):
        check_training_table(df, target="outcome", task="binary")


def test_all_nan_column(table: pd.DataFrame) -> None:
    with pytest.raises(DataError) as err:
        check_training_table(table.assign(spare=np.nan), target="outcome")
    msg = one_line(err)
    assert "Column 'spare' is empty in every row" in msg and "columns.drop" in msg
    assert (
        check_training_table(table.assign(spare=np.nan), target="outcome", drop_columns=["spare"])
        == []
    )


def test_inf_values(table: pd.DataFrame) -> None:
    df = table.copy()
    df.loc[[3, 10], "income"] = np.inf
    df.loc[20, "income"] = -np.inf
    with pytest.raises(DataError) as err:
        check_training_table(df, target="outcome")
    msg = one_line(err)
    assert "Column 'income' has 3 infinite values" in msg and "[4, 11, 21]" in msg


def test_mixed_type_column(table: pd.DataFrame) -> None:
    amount = table["age"].astype(str).to_numpy(dtype=object)
    amount[[5, 50]] = "n/a?"
    amount[60] = "unknown"
    df = table.assign(amount=pd.Series(amount, dtype="str"))
    with pytest.raises(DataError) as err:
        check_training_table(df, target="outcome")
    msg = one_line(err)
    assert "Column 'amount' is mostly numbers (99.0%)" in msg
    assert "3 text values such as ['n/a?', 'unknown']" in msg
    assert "rows [6, 51, 61]" in msg
    assert "columns.categorical" in msg
    assert check_training_table(df, target="outcome", categorical_columns=["amount"]) == []


def test_nested_values(table: pd.DataFrame) -> None:
    from civicml.data import infer_contract

    df = table.assign(tags=[["a", "b"] if i % 2 else None for i in range(len(table))])
    with pytest.raises(DataError, match="'tags' holds nested values"):
        check_training_table(df, target="outcome")
    assert infer_contract(df).column("tags").dtype == "string"


def test_huge_number_of_categories() -> None:
    n = 100_000
    rng = np.random.default_rng(0)
    codes = np.char.add("code-", np.arange(n).astype(str))
    df = pd.DataFrame(
        {"code": pd.Series(codes, dtype="str"), "y": rng.integers(0, 2, n), "x": rng.normal(size=n)}
    )
    with pytest.raises(DataError) as err:
        check_training_table(df, target="y")
    msg = one_line(err)
    assert "Column 'code' has 100,000 distinct values" in msg and "columns.id" in msg
    assert check_training_table(df, target="y", id_columns=["code"]) == []
    assert check_training_table(df, target="y", text_columns=["code"]) == []


# --- warnings --------------------------------------------------------------------------------


def test_sorted_id_leaks_target(table: pd.DataFrame) -> None:
    df = table.sort_values("outcome").reset_index(drop=True)
    df["case_number"] = np.arange(1, len(df) + 1)
    warnings = check_training_table(df, target="outcome")
    assert len(warnings) == 1
    assert warnings[0].startswith("Column 'case_number' alone predicts the target 'outcome'")
    assert "rank AUC 1.000" in warnings[0] and "columns.drop" in warnings[0]
    assert check_training_table(df, target="outcome", id_columns=["case_number"]) == []


def test_text_id_and_category_leaks(table: pd.DataFrame) -> None:
    df = table.sort_values("outcome").reset_index(drop=True)
    df["ref"] = [f"R{i:05d}" for i in range(len(df))]
    df["decision"] = df["outcome"].map({"grant": "approved", "refuse": "declined"})
    warned = {w.split("'")[1] for w in check_training_table(df, target="outcome")}
    assert warned == {"ref", "decision"}


def test_regression_leak_and_missing_target(table: pd.DataFrame) -> None:
    df = table.assign(y=table["income"] * 3 + 1, income_pence=table["income"] * 100)
    df = df.drop(columns="outcome")
    df.loc[[0, 1], "y"] = np.nan
    warnings = check_training_table(df, target="y")
    assert warnings[0].startswith("2 rows (0.7%) have no value in the target 'y'")
    joined = " ".join(warnings)
    assert "'income'" in joined and "'income_pence'" in joined and "Spearman" in joined
    assert "'age'" not in joined


def test_benefits_example_is_clean() -> None:
    df = read_table(REPO / "examples" / "benefits" / "benefits.csv")
    assert check_training_table(df, target="ui", task="binary", categorical_columns=["state"]) == []
