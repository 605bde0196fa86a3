"""The command line, end to end: the main job, and one test per kind of bad input.

Each bad input must give exactly one line on stderr, exit code 2, no traceback, and leave
nothing half-written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from civicml.cli import app

runner = CliRunner()


def _project(tmp_path: Path, frame: pd.DataFrame | None = None, **spec: object) -> Path:
    if frame is None:
        frame = _frame()
    data = tmp_path / "data.csv"
    if not data.exists():
        frame.to_csv(data, index=False)
    doc = {
        "name": "t",
        "data": {"path": "data.csv"},
        "target": "y",
        "max_trials": 2,
        "cv_folds": 3,
        **spec,
    }
    path = tmp_path / "civicml.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=n),
            "region": rng.choice(["north", "south"], size=n),
            "y": np.where(x + rng.normal(scale=0.5, size=n) > 0, "yes", "no"),
        }
    )


def _run_bad(tmp_path: Path, spec: Path, pattern: str) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(spec), "--out", str(out)])
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in result.output
    assert err.startswith("error: ")
    assert pytest.importorskip("re").search(pattern, err), err
    assert not out.exists() or not any(out.iterdir())


def test_run_trains_and_saves_a_verified_bundle(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    out = tmp_path / "out"
    registry = f"sqlite:///{tmp_path / 'registry.db'}"
    result = runner.invoke(app, ["run", str(spec), "--out", str(out), "--registry", registry])
    assert result.exit_code == 0, result.output
    assert "Leaderboard" in result.stdout and "Chosen:" in result.stdout
    # the terminal shows the checks that failed or were not made, not only the good numbers
    import json
    import re

    checks = json.loads((out / "bundle" / "checks.json").read_text())["checks"]
    failed = sum(1 for c in checks if c.get("passed") is False)
    unchecked = sum(1 for c in checks if c.get("passed") is None)
    line = re.search(r"Checks before promotion: (\d+) failed, (\d+) not checked", result.stdout)
    assert line and (int(line.group(1)), int(line.group(2))) == (failed, unchecked), result.stdout
    for c in checks:
        if c.get("passed") is not True:
            assert c["name"] in result.stdout
    assert (out / "bundle" / "manifest.json").is_file()
    assert (out / "leaderboard.csv").is_file() and (out / "contract.json").is_file()
    # each file source gets a dataset card and an offline profile beside the report
    card = out / "report" / "data" / "data" / "dataset_card.md"
    assert card.is_file() and (card.parent / "profile.html").is_file()
    card_json = json.loads((card.parent / "dataset_card.json").read_text())
    assert card_json["rows"] > 0 and card_json["needs_person"]
    html = (out / "report" / "report.html").read_text()
    assert 'href="data/data/dataset_card.md"' in html and 'href="data/data/profile.html"' in html
    assert "data_data" in result.stdout or str(card.parent) in result.stdout
    # not a terminal (cron, CI): one plain line per stage and per finished candidate
    assert "civicml: stage load" in result.stdout and "civicml: stage train" in result.stdout
    assert re.search(r"civicml: candidate \S+ ok: \S+ [0-9.]+ ± [0-9.]+", result.stdout)
    assert not result.stderr.strip() or "civicml: stage" not in result.stderr
    verify = runner.invoke(app, ["verify", str(out / "bundle")])
    assert verify.exit_code == 0 and "verified" in verify.stdout

    # predict: CSV and Parquet, batched
    scored = tmp_path / "scored.parquet"
    pred = runner.invoke(
        app,
        [
            "predict",
            str(out / "bundle"),
            str(tmp_path / "data.csv"),
            "-o",
            str(scored),
            "--batch-rows",
            "50",
        ],
    )
    assert pred.exit_code == 0, pred.output
    frame = pd.read_parquet(scored)
    assert len(frame) == 240
    assert {"prediction", "score", "decision", "probability"} <= set(frame.columns)
    assert set(frame["prediction"]) <= {"yes", "no"}

    # predict with the registered version, fetched from the registry and verified
    where = ["--registry", registry, "--project-dir", str(tmp_path)]
    by_ref = tmp_path / "by-ref.parquet"
    args = ["predict", "t/1", str(tmp_path / "data.csv"), "-o", str(by_ref), *where]
    pred = runner.invoke(app, args)
    assert pred.exit_code == 0, pred.output
    assert "sha256" in pred.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(by_ref), frame)
    missing = runner.invoke(app, ["predict", "t/9", str(tmp_path / "data.csv"), *where])
    assert missing.exit_code == 2 and len(missing.output.strip().splitlines()) == 1, missing.output

    # --json for scripts
    js = runner.invoke(app, ["train", str(spec), "--out", str(tmp_path / "b2"), "--json"])
    assert js.exit_code == 0, js.output
    doc = json.loads(js.stdout)
    assert doc["task"] == "binary" and len(doc["bundle_sha256"]) == 64


def test_validate_against_a_contract(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    _frame().to_csv(data, index=False)
    contract = tmp_path / "contract.json"
    assert (
        runner.invoke(app, ["contract", str(data), "-o", str(contract), "--target", "y"]).exit_code
        == 0
    )
    clean = runner.invoke(app, ["validate", str(data), "--contract", str(contract)])
    assert clean.exit_code == 0, clean.output
    bad = _frame().astype({"x": object})
    bad.loc[3, "x"] = "oops"
    bad = bad.drop(columns=["z"])
    bad_path = tmp_path / "bad.csv"
    bad.to_csv(bad_path, index=False)
    found = runner.invoke(app, ["validate", str(bad_path), "--contract", str(contract)])
    assert found.exit_code == 1
    assert "z" in found.stdout and "x" in found.stdout
    as_json = runner.invoke(app, ["validate", str(bad_path), "--contract", str(contract), "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["ok"] is False
    unusable = runner.invoke(
        app, ["validate", str(tmp_path / "nope.csv"), "--contract", str(contract)]
    )
    assert unusable.exit_code == 2


def test_init_writes_a_spec_that_validates(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0
    again = runner.invoke(app, ["init", str(tmp_path)])
    assert again.exit_code == 2 and "--force" in again.stderr


# --- bad input: one clear line, exit 2 ---------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    (tmp_path / "data.csv").unlink()
    _run_bad(tmp_path, spec, r"data\.csv")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("")
    _run_bad(tmp_path, _project(tmp_path), r"empty")


def test_target_not_a_column(tmp_path: Path) -> None:
    _run_bad(tmp_path, _project(tmp_path, target="outcome"), r"'outcome'.*not")


def test_constant_target(tmp_path: Path) -> None:
    frame = _frame()
    frame["y"] = "yes"
    _run_bad(tmp_path, _project(tmp_path, frame), r"'y' has the same value in every row")


def test_class_with_one_row(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[0, "y"] = "maybe"
    _run_bad(tmp_path, _project(tmp_path, frame), r"'maybe'")


def test_all_nan_column(tmp_path: Path) -> None:
    frame = _frame()
    frame["empty"] = np.nan
    _run_bad(tmp_path, _project(tmp_path, frame), r"'empty'")


def test_inf_values(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[5, "x"] = np.inf
    _run_bad(tmp_path, _project(tmp_path, frame), r"'x'.*inf")


def test_duplicate_column_names(tmp_path: Path) -> None:
    csv = _frame().to_csv(index=False).replace("x,z,", "x,x,", 1)
    (tmp_path / "data.csv").write_text(csv)
    _run_bad(tmp_path, _project(tmp_path), r"'x'")


def test_mixed_type_column(tmp_path: Path) -> None:
    frame = _frame().astype({"x": object})
    frame.loc[[3, 9], "x"] = "unknown"
    _run_bad(tmp_path, _project(tmp_path, frame), r"'x'")


def test_huge_category_column(tmp_path: Path) -> None:
    n = 100_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "code": [f"C{i:06d}x{j}" for i, j in zip(range(n), rng.integers(0, 9, n), strict=True)],
            "x": rng.normal(size=n),
        }
    )
    frame["y"] = np.where(frame["x"] > 0, "a", "b")
    frame["code"] = frame["code"].where(np.arange(n) % 7 != 0, "shared")
    _run_bad(tmp_path, _project(tmp_path, frame), r"'code'")


def test_unknown_spec_key(tmp_path: Path) -> None:
    _run_bad(tmp_path, _project(tmp_path, budget=5), r"Unknown key 'budget'")


def test_budget_seconds_zero(tmp_path: Path) -> None:
    _run_bad(tmp_path, _project(tmp_path, budget_seconds=0), r"budget_seconds")


# --- inputs that must work -----------------------------------------------------------------------


def test_cp1252_semicolon_csv_trains(tmp_path: Path) -> None:
    frame = _frame(120)
    frame["region"] = frame["region"].map({"north": "Café £", "south": "Zoë"})
    (tmp_path / "data.csv").write_bytes(frame.to_csv(index=False, sep=";").encode("cp1252"))
    result = runner.invoke(app, ["run", str(_project(tmp_path)), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    contract = (tmp_path / "o" / "contract.json").read_text(encoding="utf-8")
    assert "Café £" in str(json.loads(contract))


def test_id_column_leaking_the_target_warns(tmp_path: Path) -> None:
    frame = _frame()
    frame["case_ref"] = [f"{'A' if v == 'yes' else 'B'}{i:05d}" for i, v in enumerate(frame["y"])]
    frame["leak"] = (frame["y"] == "yes").astype(int)
    result = runner.invoke(
        app, ["run", str(_project(tmp_path, frame)), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert "leak" in result.stderr.lower()


def test_debug_shows_a_traceback(tmp_path: Path) -> None:
    spec = _project(tmp_path, target="outcome")
    result = runner.invoke(app, ["--debug", "run", str(spec), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and result.exception is not None


def test_help_is_fast_and_imports_no_ml_library() -> None:
    code = (
        "import sys; from civicml.cli import app\n"
        "heavy = [m for m in ('sklearn', 'lightgbm', 'pandas', 'numpy', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr
    done = subprocess.run(
        [sys.executable, "-m", "civicml", "--help"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0 and "civicml" in done.stdout
