"""``civicml validate --spec`` on a training table larger than memory (issue 23): the checks run
on a DuckDB sample (forced with a small file by lowering the size threshold and the sample),
and text and --json say so with the table's true row count; the verdict is the in-memory one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from civicml.cli import app

runner = CliRunner()
N = 2_000


@pytest.fixture()
def spec(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "age": rng.integers(18, 90, N),
            "postcode": rng.choice(["SW1A 1AA", "M1 1AE", "B33 8TH", "LS1 4AP"], N),
            "y": rng.choice(["yes", "no"], N),
        }
    ).to_csv(tmp_path / "t.csv", index=False)
    path = tmp_path / "civicml.yaml"
    path.write_text("name: t\ndata:\n  path: t.csv\ntarget: y\ntask: binary\n", encoding="utf-8")
    return path


def test_a_large_table_is_checked_on_a_sample_and_says_so(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("civicml.data._outofcore.STREAM_BYTES", 1_000)
    monkeypatch.setattr("civicml.data._spec_check.SAMPLE_ROWS", 300)
    sampled = runner.invoke(app, ["validate", "--spec", str(spec), "--json"])
    whole = runner.invoke(app, ["validate", "--spec", str(spec), "--json", "--in-memory"])
    assert sampled.exit_code == whole.exit_code == 1, sampled.output  # undeclared postcodes
    s, w = json.loads(sampled.stdout), json.loads(whole.stdout)
    assert s["rows"] == w["rows"] == N and s["columns"] == w["columns"] == 3
    assert s["checked"]["rows"] == 300 and s["checked"]["sampled"] is True
    assert s["checked"]["method"] == "class-stratified reservoir sample"
    assert w["checked"] == {
        "rows": N,
        "of_rows": N,
        "method": "every row",
        "seed": 0,
        "sampled": False,
        "note": None,
    }
    assert [(f["column"], f["kind"]) for f in s["personal_data"]] == [("postcode", "postcode")]
    assert [(f["column"], f["kind"]) for f in w["personal_data"]] == [("postcode", "postcode")]
    assert "through DuckDB; peak memory" in sampled.stderr
    text = runner.invoke(app, ["validate", "--spec", str(spec)])
    flat = " ".join(text.output.split())
    assert f"{N:,} rows × 3 columns; spec is valid." in flat
    assert (
        f"note: The checks ran on a class-stratified reservoir sample of 300 of {N:,} rows" in flat
    )
    assert "'postcode' holds postcode" in flat


def test_out_of_core_forces_the_sample_and_refuses_what_cannot_stream(spec: Path) -> None:
    r = runner.invoke(app, ["validate", "--spec", str(spec), "--json", "--out-of-core"])
    doc = json.loads(r.stdout)
    assert doc["checked"]["sampled"] is False  # 2,000 rows fit in the 200,000-row sample
    assert doc["checked"]["method"] == "every row" and doc["rows"] == N
    query = spec.parent / "q.yaml"
    query.write_text("name: t\ndata:\n  query: SELECT 1 AS y\ntarget: y\n", encoding="utf-8")
    bad = runner.invoke(app, ["validate", "--spec", str(query), "--out-of-core"])
    assert bad.exit_code == 2 and "--out-of-core needs" in bad.output
