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


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("mlflow") is None, reason="mlflow is not installed"
)
def test_documented_mlflow_export_completes_and_reports_skips(
    two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # a fresh shell: not set
    uri = (tmp_path / "mlruns").as_uri()  # the documented form: file:///path/mlruns
    first = runner.invoke(app, ["runs", "export", "--mlflow", uri])
    assert first.exit_code == 0, first.output
    assert f"Exported 2 run(s) to {uri}." in first.stdout
    assert "skipped" not in first.stdout.split("\n")[0]
    one = runner.invoke(app, ["runs", "export", "--mlflow", uri, two_runs[0][:8], "--json"])
    doc = json.loads(one.stdout)
    assert doc["exported"] == {} and list(doc["skipped"]) == [two_runs[0]]
    again = runner.invoke(app, ["runs", "export", "--mlflow", uri])
    assert again.exit_code == 0, again.output
    assert "Exported 0 run(s)" in again.stdout and "skipped 2 already there" in again.stdout
    assert f"{two_runs[1][:8]} -> MLflow run" in again.stdout


def test_a_run_whose_process_died_is_listed_failed(two_runs) -> None:
    from civicml.tracking import Run

    with open_runs() as store:
        store.create_run(
            Run(
                id="de" * 16,
                project="demo",
                kind="run",
                status="running",
                started_at="2026-01-01T00:00:00.000000Z",
                heartbeat_at="2026-01-01T00:05:00.000000Z",
                host="gone-machine.invalid",
                pid=4242,
            )
        )
    rows = json.loads(runner.invoke(app, ["runs", "list", "--json"]).stdout)
    dead = next(r for r in rows if r["id"] == "de" * 16)
    assert dead["status"] == "failed" and "no heartbeat since 2026-01-01T00:05:00Z" in dead["error"]
    shown = runner.invoke(app, ["runs", "show", "dededede"])
    assert shown.exit_code == 0 and "): failed" in shown.stdout
    assert "pid 4242 on gone-machine.invalid" in shown.stdout
    failed = runner.invoke(app, ["runs", "list", "--status", "failed", "--json"])
    assert "de" * 16 in [r["id"] for r in json.loads(failed.stdout)]
