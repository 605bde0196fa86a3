"""One validation for every way in: the same bad rows get the same verdict from ``civicml serve``
(HTTP 422), ``civicml predict`` (exit 2 naming the rows, file and partitioned input) and
``civicml validate --bundle`` (the same columns, rules and rows)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from civicml.cli import app as cli
from serve._support import PREDICT_TOKEN, ROW, auth, make_bundle

runner = CliRunner()

#: data row number (1-based, below the header) -> (the bad row, column, validate's rule)
BAD = {
    2: ({**ROW, "region": "Mars"}, "region", "unknown_category"),
    4: ({**ROW, "age": 130}, "age", "out_of_range"),
    5: ({**ROW, "income": "lots"}, "income", "type_mismatch"),
}
DATE_BAD = {3: ("03/13/2024", "claim_date", "type_mismatch")}


def _rows(n: int) -> list[dict[str, Any]]:
    rows = [dict(ROW, person_id=f"P{i}") for i in range(1, n + 1)]
    for k, (row, _, _) in BAD.items():
        rows[k - 1] = dict(row, person_id=f"P{k}")
    return rows


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("one") / "bundle"
    make_bundle(path)
    return path


@pytest.fixture(scope="module")
def date_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle whose contract says claim dates are written day first (%d/%m/%Y)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from civicml.bundle import save_bundle

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"age": rng.integers(18, 90, 80).astype(float)})
    df["claim_date"] = "13/03/2024"
    y = np.where(df["age"] > 50, "yes", "no")
    pipe = Pipeline(
        [
            ("prep", ColumnTransformer([("num", "passthrough", ["age"])])),
            ("model", LogisticRegression()),
        ]
    ).fit(df, y)
    contract = {
        "columns": [
            {"name": "age", "dtype": "float", "role": "numeric", "nullable": False},
            {
                "name": "claim_date",
                "dtype": "datetime",
                "role": "date",
                "nullable": False,
                "date_format": "%d/%m/%Y",
            },
        ]
    }
    path = tmp_path_factory.mktemp("dates") / "bundle"
    save_bundle(
        path,
        model=pipe,
        documents={
            "model_info.json": {
                "name": "dates",
                "task": "binary",
                "features": ["age", "claim_date"],
                "classes": ["no", "yes"],
            },
            "contract.json": contract,
        },
        overwrite=True,
    )
    return path


def _client(bundle: Path, **options: Any) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from civicml.serve import ServeOptions, StaticToken, create_app

    tokens = {PREDICT_TOKEN: StaticToken("predictor", ("predict",))}
    server = create_app(
        bundle, verifier=tokens.get, poll_seconds=0, options=ServeOptions(**options)
    )
    with TestClient(server) as c:
        yield c


def _predict(*args: str) -> Any:
    return runner.invoke(cli, ["predict", *args])


def _named_rows(text: str, column: str) -> list[int]:
    """The rows predict's one-line error gives for ``column``."""
    found = re.search(rf"'{column}': [^;]*?: rows? ([\d, ]+)\)", " ".join(text.split()))
    assert found, text
    return [int(x) for x in found.group(1).split(",")]


def test_serve_rejects_each_bad_row(bundle: Path) -> None:
    for row, column, _ in BAD.values():
        for c in _client(bundle):
            r = c.post("/predict", json=row, headers=auth())
            assert r.status_code == 422, r.text
            assert [e["field"] for e in r.json()["errors"]] == [column]
    for c in _client(bundle):
        r = c.post("/predict", json={"instances": _rows(6)}, headers=auth())
        assert r.status_code == 422
        rows = {e["field"]: e["rows"] for e in r.json()["errors"]}
        # serve counts rows from 0; the file rows below are these plus one
        assert rows == {col: [k - 1] for k, (_, col, _) in BAD.items()}


def test_predict_names_the_same_rows_and_exits_2(bundle: Path, tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    pd.DataFrame(_rows(6)).to_csv(data, index=False)
    out = tmp_path / "p.csv"
    res = _predict(str(bundle), str(data), "-o", str(out), "--batch-rows", "2")
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "unexpected" not in res.output
    for k, (_, column, rule) in BAD.items():
        assert _named_rows(res.output, column) == [k]
        assert rule in res.output
    assert not out.exists()  # nothing half-written

    # partitioned input (a folder of Parquet): the same verdict, the partition named
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = pd.DataFrame(_rows(6)).astype({"income": "str"})
    frame.to_parquet(folder / "a.parquet")
    res = _predict(str(bundle), str(folder), "-o", str(tmp_path / "scored"))
    assert res.exit_code == 2, res.output
    assert "a.parquet" in res.output
    for k, (_, column, _) in BAD.items():
        assert _named_rows(res.output, column) == [k]
    assert not list((tmp_path / "scored").glob("part-*.parquet"))


def test_policies_let_rows_through_as_serve_does(bundle: Path, tmp_path: Path) -> None:
    rows = [dict(ROW, person_id="P1"), dict(ROW, region="Mars", person_id="P2")]
    data = tmp_path / "in.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    out = tmp_path / "p.csv"
    assert _predict(str(bundle), str(data), "-o", str(out)).exit_code == 2
    res = _predict(str(bundle), str(data), "-o", str(out), "--unknown-category", "allow")
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out)) == 2
    for c in _client(bundle, unknown_category="allow"):
        assert c.post("/predict", json=rows[1], headers=auth()).status_code == 200
    # an extra column: refused by both unless allowed; --keep columns are never extra
    pd.DataFrame(rows[:1]).assign(note="x").to_csv(data, index=False)
    assert _predict(str(bundle), str(data), "-o", str(out)).exit_code == 2
    assert _predict(str(bundle), str(data), "-o", str(out), "--keep", "note").exit_code == 0
    res = _predict(str(bundle), str(data), "-o", str(out), "--extra-columns", "allow")
    assert res.exit_code == 0, res.output
    res = _predict(str(bundle), str(data), "-o", str(out), "--out-of-range", "maybe")
    assert res.exit_code == 2 and "reject" in res.output


def test_validate_bundle_finds_the_same_issues(bundle: Path, tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    pd.DataFrame(_rows(6)).to_csv(data, index=False)
    res = runner.invoke(cli, ["validate", str(data), "--bundle", str(bundle), "--json"])
    assert res.exit_code in (0, 1), res.output
    issues = {(i["column"], i["rule"]): i["examples"] for i in json.loads(res.output)["issues"]}
    for k, (_, column, rule) in BAD.items():
        assert issues[(column, rule)] == [k]


def test_a_date_in_another_format_is_refused_everywhere(date_bundle: Path, tmp_path: Path) -> None:
    rows = [
        {"age": 40.0, "claim_date": "13/03/2024"},
        {"age": 41.0, "claim_date": "2024-03-14"},  # ISO 8601: unambiguous, accepted
        {"age": 42.0, "claim_date": "03/13/2024"},  # month first: not %d/%m/%Y
    ]
    for c in _client(date_bundle):
        assert c.post("/predict", json=rows[1], headers=auth()).status_code == 200
        r = c.post("/predict", json={"instances": rows}, headers=auth())
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "claim_date"
        assert r.json()["errors"][0]["rows"] == [2]
        assert "%d/%m/%Y" in r.json()["errors"][0]["problem"]
    data = tmp_path / "d.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    res = _predict(str(date_bundle), str(data), "-o", str(tmp_path / "p.csv"))
    assert res.exit_code == 2, res.output
    assert _named_rows(res.output, "claim_date") == [3]
    res = runner.invoke(cli, ["validate", str(data), "--bundle", str(date_bundle), "--json"])
    assert res.exit_code == 1, res.output
    issues = {(i["column"], i["rule"]): i["examples"] for i in json.loads(res.output)["issues"]}
    assert issues == {("claim_date", "type_mismatch"): [3]}


@pytest.mark.parametrize(
    "text",
    [
        "13/03/2024",
        "1/3/2024",
        "03/13/2024",
        "2024-03-13",
        "2024-03-13T10:00:00",
        "2024-03-13T10:00:00Z",
        "13/03/2024 10:00",
        "31/02/2024",
        "soon",
        "",
        "13-03-2024",
    ],
)
def test_server_and_table_checks_agree_on_dates(text: str) -> None:
    """serve checks a value at a time, validate/predict a column at once: same answer."""
    from civicml.data import ColumnContract, DataContract, validate_data
    from civicml.serve._validate import is_date

    col = ColumnContract("d", "datetime", "date", date_format="%d/%m/%Y")
    report = validate_data(pd.DataFrame({"d": [text]}, dtype=object), DataContract((col,)))
    assert report.ok == is_date(text, "%d/%m/%Y"), (text, report.issues)
