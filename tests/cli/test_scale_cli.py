"""``civicml contract`` and ``civicml validate`` on files larger than memory: streamed through
DuckDB, the same contract, report, messages and exit codes as the in-memory path, and the peak
memory reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from civicml.cli import app as cli

runner = CliRunner()


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    n = 500
    train = pd.DataFrame(
        {
            "age": rng.integers(18, 90, size=n),
            "paid": rng.choice(["yes", "no"], size=n),
            "urgent": rng.choice(["true", "false"], size=n),
            "region": rng.choice(["north", "south"], size=n),
            "y": rng.choice([0, 1], size=n),
        }
    )
    train.to_csv(tmp_path / "train.csv", index=False)
    new = train.astype(str)
    new.loc[3, "age"] = "old"
    new.loc[450, "region"] = "mars"
    new.loc[451, "paid"] = "maybe"
    new.to_csv(tmp_path / "new.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "new.csv"


def _contract(path: Path, out: Path, *mode: str) -> dict:
    result = runner.invoke(cli, ["contract", str(path), "-o", str(out), "--target", "y", *mode])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_contract_streamed_equals_in_memory_and_reports_memory(files, tmp_path: Path) -> None:
    train, _ = files
    streamed = runner.invoke(
        cli,
        ["contract", str(train), "-o", str(tmp_path / "s.json"), "--target", "y", "--out-of-core"],
    )
    assert streamed.exit_code == 0, streamed.output
    assert "through DuckDB; peak memory" in streamed.stderr
    in_memory = _contract(train, tmp_path / "m.json", "--in-memory")
    assert json.loads((tmp_path / "s.json").read_text()) == in_memory
    assert in_memory["columns"][1]["dtype"] == "string"  # yes/no stays text in both
    assert in_memory["columns"][2]["dtype"] == "boolean"  # true/false a boolean in both


@pytest.mark.parametrize("strict", [[], ["--strict"]])
def test_validate_streamed_gives_the_same_verdict(files, tmp_path: Path, strict) -> None:
    train, new = files
    contract = tmp_path / "c.json"
    _contract(train, contract, "--out-of-core")
    outs = {}
    for mode in ("--in-memory", "--out-of-core"):
        args = ["validate", str(new), "-c", str(contract), "--json", mode, *strict]
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, result.output
        outs[mode] = json.loads(result.stdout)
    assert outs["--in-memory"] == outs["--out-of-core"]
    rows = {(i["column"], i["rule"]): i["examples"] for i in outs["--out-of-core"]["issues"]}
    assert rows == {
        ("age", "type_mismatch"): [4],
        ("paid", "unknown_category"): [452],
        ("region", "unknown_category"): [451],
    }
    # the training file passes its own contract on either path
    for mode in ("--in-memory", "--out-of-core"):
        ok = runner.invoke(cli, ["validate", str(train), "-c", str(contract), mode])
        assert ok.exit_code == 0, ok.output
        assert "Validation passed: 500 rows" in ok.stdout


def test_streamed_bad_input_is_one_line_and_exit_2(files, tmp_path: Path) -> None:
    train, _ = files
    contract = tmp_path / "c.json"
    _contract(train, contract)
    head = tmp_path / "head.csv"
    head.write_text("age,paid\n")
    for path in (tmp_path / "missing.csv", head):
        result = runner.invoke(cli, ["validate", str(path), "-c", str(contract), "--out-of-core"])
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out.json").exists()
    bad = runner.invoke(
        cli, ["contract", str(head), "-o", str(tmp_path / "out.json"), "--out-of-core"]
    )
    assert bad.exit_code == 2 and not (tmp_path / "out.json").exists()


def test_a_folder_of_parquet_is_streamed_by_default(files, tmp_path: Path) -> None:
    train, _ = files
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = pd.read_csv(train)
    frame.iloc[:250].to_parquet(folder / "a.parquet")
    frame.iloc[250:].to_parquet(folder / "b.parquet")
    out = tmp_path / "c.json"
    result = runner.invoke(cli, ["contract", str(folder), "-o", str(out), "--target", "y"])
    assert result.exit_code == 0 and "peak memory" in result.stderr
    assert json.loads(out.read_text())["n_rows"] == 500
    checked = runner.invoke(cli, ["validate", str(folder), "-c", str(out)])
    assert checked.exit_code == 0 and "500 rows" in checked.stdout
