"""Declarative ETL: named sources, SQL and cleaning steps, row guards, data versions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from civicml._errors import DataError, SpecError
from civicml.data import fingerprint, load_data, run_etl
from civicml.spec import spec_from_dict


def _spec(folder: Path, transform: list, **extra) -> object:
    raw = {
        "name": "etl",
        "sources": {"people": {"path": "people.csv"}, "jobs": {"path": "jobs.csv"}},
        "transform": transform,
        "target": "y",
        **extra,
    }
    return spec_from_dict(raw, base_dir=folder)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pd.DataFrame(
        {
            "pid": [1, 2, 3, 4, 4],
            "dob": ["01/02/1980", "15/06/1990", "31/12/2000", "29/02/1984", "29/02/1984"],
            "sex": ["  MALE ", "female", "Female", "male", "male"],
            "income": ["1,000", "2000", "3000", "1000000", "1000000"],
        }
    ).to_csv(tmp_path / "people.csv", index=False)
    pd.DataFrame({"pid": [1, 2, 3, 4], "y": [0, 1, 0, 1]}).to_csv(
        tmp_path / "jobs.csv", index=False
    )
    return tmp_path


def test_two_sources_joined_and_cleaned_with_a_step_log(folder: Path) -> None:
    spec = _spec(
        folder,
        [
            {
                "drop_duplicates": {"key": ["pid"]},
                "input": "people",
                "name": "p1",
                "max_drop_share": 0.5,
            },
            {"trim_text": ["sex"]},
            {"map_categories": {"sex": {"MALE": "male", "Female": "female"}}},
            {"coerce": {"income": "float"}},
            {"cap_outliers": {"income": {"upper_quantile": 0.75}}},
            {"age_from_dob": {"column": "dob", "format": "%d/%m/%Y", "as_of": "2024-02-28"}},
            {"sql": "SELECT * FROM jobs JOIN step_6 USING (pid) ORDER BY pid", "name": "joined"},
        ],
    )
    result = run_etl(spec)
    df = result.frame
    assert list(df["sex"]) == ["male", "female", "female", "male"]
    assert list(df["age"]) == [44, 33, 23, 39]  # 29 Feb 1984 has not had its 2024 birthday
    assert "dob" not in df.columns
    assert df["income"].max() < 1_000_000
    assert [(s.kind, s.rows_in, s.rows_out) for s in result.steps][:1] == [
        ("drop_duplicates", 5, 4)
    ]
    assert result.steps[-1].inputs == ("jobs", "step_6")
    assert [v.name for v in result.data_versions()] == ["people", "jobs", "table"]
    assert result.sources[0].file_sha256 is not None
    # pure: the same inputs give the same table, and load_data goes through the same path
    assert run_etl(spec).table.sha256 == result.table.sha256
    assert fingerprint(load_data(spec), "t").sha256 == result.table.sha256


def test_fan_out_is_an_error(folder: Path) -> None:
    spec = _spec(folder, [{"sql": "SELECT * FROM jobs JOIN people USING (pid)"}])
    with pytest.raises(DataError, match=r"step 1 \(sql\) multiplied the rows.*max_fanout"):
        run_etl(spec)
    relaxed = _spec(
        folder, [{"sql": "SELECT * FROM jobs JOIN people USING (pid)", "max_fanout": 1.25}]
    )
    assert len(run_etl(relaxed).frame) == 5


def test_dropping_too_many_rows_is_an_error(folder: Path) -> None:
    spec = _spec(folder, [{"sql": "SELECT * FROM jobs WHERE y = 1"}])
    with pytest.raises(DataError, match=r"dropped 50.0% of the rows.*max_drop_share"):
        run_etl(spec)
    ok = _spec(
        folder,
        [{"sql": "SELECT * FROM jobs WHERE y = 1"}],
        transform_guards={"max_drop_share": 0.5},
    )
    assert len(run_etl(ok).frame) == 2


def test_failing_sql_names_the_step_and_shows_duckdb(folder: Path) -> None:
    spec = _spec(
        folder,
        [
            {"sql": "SELECT * FROM jobs", "name": "ok"},
            {"sql": "SELECT nope FROM jobs", "name": "broken"},
        ],
    )
    with pytest.raises(DataError) as info:
        run_etl(spec)
    msg = str(info.value)
    assert "Transform step 2 (sql 'broken') failed in DuckDB" in msg
    assert "nope" in msg and "\n" not in msg


def test_bad_values_name_the_column(folder: Path) -> None:
    spec = _spec(folder, [{"coerce": {"sex": "float"}, "input": "people"}])
    with pytest.raises(DataError, match=r"column 'sex': 5 values are not numbers"):
        run_etl(spec)
    dates = _spec(folder, [{"parse_dates": {"dob": "%Y-%m-%d"}, "input": "people"}])
    with pytest.raises(DataError, match=r"not dates in the format"):
        run_etl(dates)


def test_several_sources_need_a_step(folder: Path) -> None:
    with pytest.raises(SpecError, match="no 'transform' step"):
        run_etl(_spec(folder, []))
    with pytest.raises(SpecError, match="does not say which table"):
        run_etl(_spec(folder, [{"trim_text": ["sex"]}]))


def test_spec_errors_are_friendly(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"Did you mean 'drop_duplicates'"):
        _spec(tmp_path, [{"drop_duplicate": {"key": ["pid"]}}])
    with pytest.raises(SpecError, match="set only one of 'data' and 'sources'"):
        _spec(tmp_path, [], data={"path": "x.csv"})


def test_glob_source_reads_files_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    for i in (2, 1):
        pd.DataFrame({"a": [i], "y": [i]}).to_csv(tmp_path / "parts" / f"p{i}.csv", index=False)
    spec = spec_from_dict(
        {"name": "g", "sources": {"parts": {"path": "parts/*.csv"}}, "target": "y"},
        base_dir=tmp_path,
    )
    assert run_etl(spec).frame["a"].tolist() == [1, 2]
