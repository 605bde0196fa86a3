"""``civicml runs`` / ``data`` / ``pipeline`` through Typer's runner (apps mounted locally,
as the lead mounts them on the main app)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from civicml.cli import _data, _pipeline, _runs
from civicml.data import fingerprint
from civicml.tracking import open_runs, track_run

app = typer.Typer()
app.add_typer(_runs.app, name="runs")
app.add_typer(_data.app, name="data")
app.add_typer(_pipeline.app, name="pipeline")
runner = CliRunner()


@pytest.fixture
def two_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'r.db'}")
    ids = []
    with open_runs() as store:
        for shift, fail in ((0.0, False), (5.0, True)):
            frame = pd.DataFrame({"x": [1.0 + shift, 2.0 + shift, 3.0], "c": ["a", "b", "a"]})
            try:
                with track_run(
                    project="demo",
                    kind="train",
                    spec={},
                    store=store,
                    params={"metric": "roc_auc", "seed": int(shift)},
                ) as tracker:
                    tracker.add_data_versions([fingerprint(frame, "table")])
                    tracker.set(metrics={"test_roc_auc": 0.7 + shift / 100})
                    if fail:
                        raise ValueError("the data went away")
            except ValueError:
                pass
            ids.append(store.list_runs(limit=1)[0].id)
    return ids[0], ids[1]


def test_list_shows_the_failed_run(two_runs) -> None:
    res = runner.invoke(app, ["runs", "list", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["status"] for r in rows] == ["failed", "finished"]
    assert rows[0]["error"] == "ValueError: the data went away"
    text = runner.invoke(app, ["runs", "list"])
    assert "failed" in text.stdout and "ValueError" in text.stdout


def test_show_compare_and_data_diff(two_runs) -> None:
    a, b = two_runs
    shown = runner.invoke(app, ["runs", "show", a[:8], "--json"])
    assert json.loads(shown.stdout)["id"] == a
    cmp = runner.invoke(app, ["runs", "compare", a[:8], b[:8], "--json"])
    doc = json.loads(cmp.stdout)
    assert doc["params"]["seed"] == [0, 5]
    assert doc["metrics"]["test_roc_auc"][2] == pytest.approx(0.05)
    assert runner.invoke(app, ["runs", "compare", a[:8], b[:8]]).exit_code == 0
    diff = runner.invoke(app, ["data", "diff", a[:8], b[:8], "--json"])
    tables = json.loads(diff.stdout)["tables"]
    assert tables[0]["flagged"] == ["x"]
    text = runner.invoke(app, ["data", "diff", a[:8], b[:8]])
    assert text.exit_code == 0 and "column shifts" in text.stdout


def test_unknown_run_is_one_line_exit_2(two_runs) -> None:
    res = runner.invoke(app, ["runs", "show", "ffffffff"])
    assert res.exit_code == 2
    assert "There is no run 'ffffffff'" in res.output


def test_data_etl_and_pipeline_lock(tmp_path: Path, monkeypatch) -> None:
    from civicml.spec import load_spec
    from civicml.workflow import project_lock

    pd.DataFrame({"id": [1, 2], "y": [0, 1]}).to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "civicml.yaml").write_text(
        "name: p\nsources:\n  a: {path: a.csv}\ntransform:\n  - sql: SELECT * FROM a\ntarget: y\n"
    )
    res = runner.invoke(app, ["data", "etl", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["steps"][0]["rows_out"] == 2
    with project_lock(load_spec(tmp_path)):
        locked = runner.invoke(
            app, ["pipeline", "run", str(tmp_path), "--out", str(tmp_path / "out")]
        )
    assert locked.exit_code == 2 and "is running" in locked.output
