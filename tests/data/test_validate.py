from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from civicml.data import ValidationReport, infer_contract, validate_data


@pytest.fixture
def train() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20, 30, 40, 50, 60, 70],
            "income": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
            "region": ["N", "S", "E", "N", "S", "E"],
            "opened": [
                "01/02/2024",
                "02/02/2024",
                "03/02/2024",
                "04/02/2024",
                "05/02/2024",
                "06/02/2024",
            ],
            "flag": [True, False, True, False, True, False],
            "note": [None, "a", "b", None, "c", "d"],
            "y": [0, 1, 0, 1, 0, 1],
        }
    )


def issues(report: ValidationReport) -> dict[tuple[str, str], tuple[int, tuple[int, ...]]]:
    return {(i.column, i.rule): (i.n_rows, i.examples) for i in report.issues}


def test_clean_data_passes(train: pd.DataFrame) -> None:
    report = validate_data(train, infer_contract(train, target="y"), require_target=True)
    assert report.ok and report.issues == ()
    assert "passed" in report.render()


def test_each_rule_with_counts_and_rows(train: pd.DataFrame) -> None:
    contract = infer_contract(train, target="y")
    new = pd.DataFrame(
        {
            "age": [25, "n/a", 35, None, 99, 12.5, 45],
            "income": [2.0, 3.0, 100.0, 0.1, 2.0, 3.0, 2.0],
            "region": ["N", "W", "S", "X", "N", "N", "W"],
            "opened": ["01/03/2024", "2024-03-02", "soon", None, "05/03/2024", "06/03/2024", "x"],
            "flag": ["yes", "no", "True", "maybe", "0", "1", "f"],
            "extra": [1, 2, 3, 4, 5, 6, 7],
        }
    )
    report = validate_data(new, contract)
    got = issues(report)
    assert got[("age", "unexpected_null")] == (1, (4,))
    assert got[("age", "type_mismatch")] == (2, (2, 6))  # "n/a" and 12.5 in an integer column
    assert got[("age", "out_of_range")] == (1, (5,))  # 99 > 70; 12.5 is already a mismatch
    assert got[("income", "out_of_range")] == (2, (3, 4))
    assert got[("region", "unknown_category")] == (3, (2, 4, 7))
    assert got[("opened", "unexpected_null")] == (1, (4,))
    assert got[("opened", "type_mismatch")] == (2, (3, 7))  # ISO date is accepted
    assert got[("flag", "type_mismatch")] == (1, (4,))
    assert got[("note", "missing_column")] == (7, ())
    assert got[("extra", "extra_column")] == (7, ())
    assert ("y", "missing_column") not in got  # target may be absent from scoring data
    assert not report.ok
    severities = {(i.column, i.rule): i.severity for i in report.issues}
    assert severities[("region", "unknown_category")] == "warning"
    assert severities[("age", "type_mismatch")] == "error"
    assert "'W'" in next(i.message for i in report.issues if i.rule == "unknown_category")


def test_require_target_and_strict(train: pd.DataFrame) -> None:
    contract = infer_contract(train, target="y")
    scoring = train.drop(columns="y")
    assert validate_data(scoring, contract).ok
    report = validate_data(scoring, contract, require_target=True)
    assert issues(report)[("y", "missing_column")] == (6, ())
    extra = train.assign(more=1)
    assert validate_data(extra, contract).ok  # an extra column is a warning
    assert not validate_data(extra, contract, strict=True).ok


def test_dropped_columns_are_not_extra(train: pd.DataFrame) -> None:
    contract = infer_contract(train, drop_columns=["note"])
    assert validate_data(train, contract).issues == ()


def test_unknown_target_label(train: pd.DataFrame) -> None:
    contract = infer_contract(train, target="y")
    report = validate_data(train.assign(y=[0, 1, 2, 1, 0, 1]), contract, require_target=True)
    assert issues(report)[("y", "unknown_category")] == (1, (3,))


def test_report_to_dict_and_render(train: pd.DataFrame) -> None:
    contract = infer_contract(train)
    report = validate_data(
        train.assign(age=[20, 30, None, 40, 50, 60]).drop(columns="flag"), contract
    )
    d = report.to_dict()
    json.dumps(d)
    assert d["ok"] is False and d["n_errors"] == 2 and d["n_rows"] == 6
    assert d["issues"][0]["examples"] == [3]
    text = report.render()
    lines = text.splitlines()
    assert lines[0].startswith("Validation failed: 6 rows x 6 columns, 2 errors")
    assert lines[1].split()[:4] == ["severity", "column", "rule", "rows"]
    assert any("unexpected_null" in line and " 3 " in line + " " for line in lines)


def test_fast_on_many_rows() -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 100, n),
            "cat": pd.Series(rng.choice(["alpha", "beta", "gamma"], n), dtype="str"),
        }
    )
    contract = infer_contract(df.head(10_000))
    df.loc[5, "cat"] = "delta"
    start = time.perf_counter()
    report = validate_data(df, contract)
    elapsed = time.perf_counter() - start
    assert issues(report)[("cat", "unknown_category")] == (1, (6,))
    assert elapsed < 10, elapsed


def test_scoring_policies_inputs_and_row_offset(train: pd.DataFrame) -> None:
    """As the server checks a request: only the model's inputs, reject makes a rule an error,
    allow a warning, ids/target/passthrough are not extra, rows count from ``first_row``."""
    contract = infer_contract(train, target="y", id_columns=["note"])
    new = pd.DataFrame(
        {"age": [25, 99], "region": ["N", "W"], "note": ["a", "b"], "keep": [1, 2], "zz": [0, 0]}
    )
    kw = {"inputs": ["age", "region"], "passthrough": ["keep"], "first_row": 51}
    got = validate_data(new, contract, unknown_category="reject", out_of_range="allow", **kw)
    sev = {(i.column, i.rule): (i.severity, i.examples) for i in got.issues}
    assert sev == {
        ("region", "unknown_category"): ("error", (52,)),
        ("age", "out_of_range"): ("warning", (52,)),
        ("zz", "extra_column"): ("warning", ()),  # no policy given: the default severity
    }
    per_column = validate_data(new, contract, unknown_category={"age": "allow"}, **kw)
    assert not per_column.ok  # a mapping rejects the columns it does not name
    assert validate_data(new, contract, extra_columns="reject", **kw).errors[-1].column == "zz"
    # "opened", "flag" are not inputs here: neither required nor checked
    assert {i.column for i in got.issues} <= {"age", "region", "zz"}


def test_dates_are_never_guessed_and_infinity_is_not_a_number(train: pd.DataFrame) -> None:
    contract = infer_contract(train)
    assert contract.column("opened").date_format == "%d/%m/%Y"
    new = train.assign(
        opened=["13/03/2024", "03/13/2024", "2024-03-13", "1/3/2024", None, "06/02/2024"],
        income=[1.5, float("inf"), 2.0, 2.0, 2.0, 2.0],
    )
    got = issues(validate_data(new, contract))
    assert got[("opened", "type_mismatch")] == (1, (2,))  # month first: not this contract's
    assert got[("income", "type_mismatch")] == (1, (2,))
    report = validate_data(new, contract)
    message = next(
        i.message for i in report.issues if i.column == "opened" and i.rule != "unexpected_null"
    )
    assert "%d/%m/%Y" in message and "'03/13/2024'" in message


@pytest.mark.parametrize("size", [1, 2, 3, 5, 1000])
def test_batches_merge_into_the_whole_table_report(train: pd.DataFrame, size: int) -> None:
    from civicml.data._validate import validate_chunks

    contract = infer_contract(train)
    new = train.assign(
        age=[35, "old", None, 99, "young", 41],
        region=["N", "W", "S", "E", "Q", "Z"],
        zz=1,
    )
    kw = [
        {},
        {"strict": True},
        {"inputs": ["age", "region"], "passthrough": ["keep"], "unknown_category": "reject"},
        {"inputs": ["region", "age"], "extra_columns": "reject", "out_of_range": "allow"},
    ]
    for options in kw:
        whole = validate_data(new, contract, first_row=11, **options)
        batches = (new.iloc[i : i + size] for i in range(0, len(new), size))
        assert validate_chunks(batches, contract, first_row=11, **options) == whole
    # the first three offending values in table order, "..." after them, as for one table
    many = train.assign(region=["A", "B", "A", "C", "D", "B"])
    whole = validate_data(many, contract)
    merged = validate_chunks((many.iloc[i : i + size] for i in range(0, 6, size)), contract)
    assert merged == whole and "('A', 'B', 'C', ...)" in merged.issues[-1].message
