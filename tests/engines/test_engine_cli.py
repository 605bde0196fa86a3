"""`civicml train --engine …` runs the search's folds on the engine with identical results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from civicml.cli import app


def _project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=300),
            "region": rng.choice(["n", "s", "e"], size=300),
            "y": np.where(x + rng.normal(scale=0.7, size=300) > 0, "yes", "no"),
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    spec = {
        "name": "eng",
        "data": {"path": "data.csv"},
        "target": "y",
        "max_trials": 3,
        "cv_folds": 3,
        "seed": 1,
    }
    (tmp_path / "civicml.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "civicml.yaml"


def _scores(out: Path) -> list[tuple[str, float]]:
    board = json.loads((out / "leaderboard.json").read_text())
    return [(e["name"], round(e["cv_mean"]["roc_auc"], 10)) for e in board["entries"]]


def test_train_on_the_engine_matches_local(tmp_path: Path, engine_spec: str) -> None:
    # 'local:N' and 'dask://…' run the engine search (seeds per trial and fold), so any engine
    # and any worker count give the same leaderboard; plain 'local' is the in-process search.
    engine_spec = "local:2" if engine_spec == "local" else engine_spec
    spec = _project(tmp_path)
    runner = CliRunner()
    local = runner.invoke(
        app, ["train", str(spec), "-o", str(tmp_path / "local"), "--engine", "local:1", "--json"]
    )
    assert local.exit_code == 0, local.output
    other = runner.invoke(
        app, ["train", str(spec), "-o", str(tmp_path / "other"), "--engine", engine_spec, "--json"]
    )
    assert other.exit_code == 0, other.output
    assert _scores(tmp_path / "local") == _scores(tmp_path / "other")


def test_engine_needs_max_trials(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    raw = yaml.safe_load(spec.read_text())
    raw.pop("max_trials")
    spec.write_text(yaml.safe_dump(raw))
    res = CliRunner().invoke(
        app, ["train", str(spec), "-o", str(tmp_path / "b"), "--engine", "local:2"]
    )
    assert res.exit_code == 2 and "max_trials" in res.stderr


def test_bad_engine_address_is_one_clear_line(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    res = CliRunner().invoke(
        app, ["train", str(spec), "-o", str(tmp_path / "b"), "--engine", "ray://x"]
    )
    assert res.exit_code == 2 and "dask://HOST:PORT" in res.stderr


def test_train_resume_continues_a_killed_search(tmp_path: Path, monkeypatch) -> None:
    import civicml.learn._engine_search as engine_search

    spec = _project(tmp_path)
    raw = yaml.safe_load(spec.read_text())
    spec.write_text(yaml.safe_dump({**raw, "engine": "local:1", "models": ["linear"]}))
    real, fits = engine_search.run_fold, []

    def counted(job, data):
        fits.append(job[2])
        if len(fits) == 7:  # the baseline's 3 folds and trial 0's are done: a kill
            raise KeyboardInterrupt
        return real(job, data)

    monkeypatch.setattr(engine_search, "run_fold", counted)
    runner, out = CliRunner(), tmp_path / "out" / "bundle"
    killed = runner.invoke(app, ["train", str(spec), "-o", str(out), "--json"])
    assert killed.exit_code == 130, killed.output
    checkpoint = tmp_path / "out" / ".civicml-checkpoint"
    assert len(list(checkpoint.glob("trial-*.json"))) == 2 and not out.exists()

    # resuming on other data is refused in one line, nothing is touched
    original = (tmp_path / "data.csv").read_bytes()
    data = pd.read_csv(tmp_path / "data.csv")
    data.loc[0, "z"] += 1
    data.to_csv(tmp_path / "data.csv", index=False)
    fits.clear()
    other = runner.invoke(app, ["train", str(spec), "-o", str(out), "--resume"])
    assert other.exit_code == 2 and "other data" in other.stderr and fits == []
    assert len(other.stderr.strip().splitlines()) == 1
    assert len(list(checkpoint.glob("trial-*.json"))) == 2

    (tmp_path / "data.csv").write_bytes(original)
    fits.clear()
    resumed = runner.invoke(app, ["train", str(spec), "-o", str(out), "--resume", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert sorted(set(fits)) == [1, 2] and len(fits) == 6  # trial 0 was not repeated
    assert not checkpoint.exists()  # the search is in the bundle now
    # (that the resumed leaderboard is the uninterrupted one: tests/learn/test_checkpoint.py)
    board = json.loads((out / "leaderboard.json").read_text())
    assert {None, 0, 1, 2} <= {e["extra"].get("trial") for e in board["entries"]}


def test_resume_continues_the_default_in_process_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import civicml.learn._search as search

    spec = _project(tmp_path)  # engine: local (the in-process search), max_trials: 3
    raw = yaml.safe_load(spec.read_text())
    spec.write_text(yaml.safe_dump({**raw, "models": ["linear"]}))
    real, fits = search.cross_validate, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        fits.append(1)
        if len(fits) == 3:  # the baseline and trial 0 are done: a kill
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "cross_validate", counted)
    runner, out = CliRunner(), tmp_path / "out" / "bundle"
    killed = runner.invoke(app, ["train", str(spec), "-o", str(out), "--json"])
    assert killed.exit_code == 130, killed.output
    checkpoint = tmp_path / "out" / ".civicml-checkpoint"
    assert len(list(checkpoint.glob("trial-*.json"))) == 2 and not out.exists()
    fits.clear()
    resumed = runner.invoke(app, ["train", str(spec), "-o", str(out), "--resume", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert len(fits) == 2  # trials 1 and 2; the baseline and trial 0 were not refitted
    assert not checkpoint.exists()  # the search is in the bundle now
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["extra"]["resume"]["replayed_trials"] == 2
