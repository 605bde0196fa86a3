"""Recording runs, comparing their data, and the MLflow export (against a real file store)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd
import pytest

from civicml.data import fingerprint
from civicml.tracking import diff_data, export_to_mlflow, open_runs, track_run


def _record(store, frame: pd.DataFrame, auc: float, fail: bool = False) -> str:
    try:
        with track_run(
            project="demo", kind="run", spec={"name": "demo"}, store=store, params={"seed": 0}
        ) as tracker:
            tracker.add_data_versions(
                [fingerprint(frame, "claims", role="source"), fingerprint(frame, "table")]
            )
            tracker.stage("train")
            tracker.set(
                metrics={"test_roc_auc": auc},
                leaderboard={"metric": "roc_auc"},
                artifacts={"bundle": "/nowhere"},
            )
            if fail:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    return store.list_runs(limit=1)[0].id


def test_runs_record_and_diff(tmp_path: Path) -> None:
    a = pd.DataFrame({"x": [1.0, 2, 3, 4], "c": list("aabb")})
    b = pd.DataFrame({"x": [3.0, 4, 5, 6, 7], "c": list("bbbbb"), "new": range(5)})
    with open_runs(f"sqlite:///{tmp_path / 'r.db'}") as store:
        ra = _record(store, a, 0.7)
        rb = _record(store, b, 0.8, fail=True)
        run_a, run_b = store.get_run(ra), store.get_run(rb)
    assert run_a.status == "finished" and "train" in run_a.timings
    assert run_b.status == "failed" and run_b.error == "Interrupted"
    doc = diff_data(run_a, run_b)
    table = doc["tables"][-1]
    assert table["role"] == "table" and table["rows"] == [4, 5, 1]
    assert table["schema"]["added"] == ["new"]
    assert table["flagged"] == ["c", "x"]


@pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is None,
    reason="mlflow is not installed (pip install mlflow-skinny; it is in the test extra)",
)
def test_mlflow_export_to_a_file_store(tmp_path: Path, monkeypatch) -> None:
    # MLflow 3 refuses a file store unless MLFLOW_ALLOW_FILE_STORE=true: the export sets it
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    from mlflow.tracking import MlflowClient

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with open_runs(f"sqlite:///{tmp_path / 'r.db'}") as store:
        rid = _record(store, frame, 0.75)
        runs = store.list_runs()
    uri = (tmp_path / "mlruns").as_uri()
    done = export_to_mlflow(runs, uri)
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ  # restored after the export
    assert list(done.exported) == [rid] and done.skipped == {}
    again = export_to_mlflow(runs, uri)  # exporting again adds nothing, and says so
    assert again.exported == {} and again.skipped == done.exported
    assert "skipped 1 already there" in again.summary()
    first = done.run_ids()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("civicml/demo")
    found = client.search_runs([exp.experiment_id])
    assert len(found) == 1
    got = client.get_run(first[rid])
    assert got.data.metrics["test_roc_auc"] == 0.75
    assert got.data.params["params.seed"] == "0"
    assert got.data.params["data.table.table.rows"] == "2"
    assert got.data.tags["civicml.run_id"] == rid
    assert got.info.status == "FINISHED"
    names = {a.path for a in client.list_artifacts(first[rid])}
    assert {"run.json", "leaderboard.json", "data_versions.json", "spec.json"} <= names


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed")
def test_mlflow_refusal_is_one_civicml_error(tmp_path: Path) -> None:
    from civicml._errors import SpecError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")  # a file where the store's folder should be
    with open_runs(f"sqlite:///{tmp_path / 'r.db'}") as store:
        _record(store, pd.DataFrame({"x": [1.0]}), 0.5)
        runs = store.list_runs()
    with pytest.raises(SpecError, match="MLflow refused the export"):
        export_to_mlflow(runs, (blocker / "mlruns").as_uri())


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed")
def test_a_run_exported_while_running_is_replaced_once_it_ends(tmp_path: Path) -> None:
    from civicml.tracking import Run

    uri = (tmp_path / "mlruns").as_uri()
    with open_runs(f"sqlite:///{tmp_path / 'r.db'}") as store:
        with track_run(project="demo", kind="run", spec={}, store=store) as tracker:
            tracker.set(metrics={"test_roc_auc": 0.6})
            running = store.list_runs()
            assert [r.status for r in running] == ["running"]
            first = export_to_mlflow(running, uri)
            assert export_to_mlflow(running, uri).skipped == first.exported
        ended: list[Run] = store.list_runs()
    again = export_to_mlflow(ended, uri)
    assert again.replaced == first.exported and list(again.exported) == [tracker.id]
    assert "replacing the export of a run that has ended since" in again.summary()
    assert export_to_mlflow(ended, uri).skipped == again.exported
