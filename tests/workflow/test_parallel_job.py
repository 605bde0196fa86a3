"""``data_parallel: true``: a full bundle from LightGBM trained on a real Dask cluster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from civicml._errors import SpecError
from civicml.spec import load_spec


def _project(folder: Path, address: str, n: int = 6_000, **overrides: object) -> Path:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 2))
    band = rng.choice(["a", "b", "c"], size=n)
    df = pd.DataFrame({"case_id": [f"C{i:06d}" for i in range(n)], "x0": x[:, 0], "x1": x[:, 1]})
    df["band"] = band
    df["paid"] = rng.choice(["yes", "no"], size=n)
    df["y"] = ((x[:, 0] + (band == "c") + rng.logistic(size=n)) > 0).astype(int)
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "cases.csv", index=False)
    spec = {
        "name": "parallel",
        "data": {"path": "cases.csv"},
        "target": "y",
        "task": "binary",
        "max_trials": 2,
        "cv_folds": 2,
        "columns": {"id": ["case_id"]},
        "personal_data": {"scan": False},
        "engine": "dask://" + address.split("://", 1)[-1],
        "data_parallel": True,
        **overrides,
    }
    (folder / "civicml.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return folder / "civicml.yaml"


def test_a_full_bundle_trained_on_the_cluster(
    tmp_path: Path, dask_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import civicml.workflow._prepare as prepare
    from civicml.bundle import load_bundle, verify_bundle
    from civicml.workflow import run_training

    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setattr(prepare, "SAMPLE_ROWS", 2_000)  # the driver's sample < the table
    spec = load_spec(_project(tmp_path / "p", dask_address, models=["lightgbm"]))
    events: list[tuple[str, dict]] = []
    outcome = run_training(
        spec, tmp_path / "bundle", on_event=lambda k, **kw: events.append((k, kw))
    )
    verify_bundle(tmp_path / "bundle")
    bundle = load_bundle(tmp_path / "bundle")
    record = json.loads((tmp_path / "bundle" / "selection.json").read_text())["data_parallel"]
    # every row of the table was trained on or held out, though the driver sampled 2,000
    assert record["n_train"] + record["n_holdout"] == 6_000
    assert record["search_rows"] < 2_000 and record["workers"] == 2
    assert outcome.result.n_train == record["n_train"]
    assert record["assessed_rows"] + record["threshold_rows"] == record["holdout_sampled"]
    assert bundle.info["candidate"].startswith("lightgbm") and record["family"] == "lightgbm"
    assert (tmp_path / "bundle" / "model.onnx").is_file()  # exported, parity checked
    assert outcome.assessment.to_dict()["n_test"] == record["assessed_rows"]
    assert outcome.result.test_metrics["roc_auc"] > 0.7
    assert any(k == "stage" and kw.get("name") == "data_parallel" for k, kw in events)
    # the report says what each figure rests on
    from civicml.report._summary import search_evidence_lines

    lines = search_evidence_lines(outcome.result.leaderboard.extra)
    assert "trained data-parallel on all" in lines[0] and "Dask worker" in lines[0]
    assert "read all of them" in outcome.warnings[0]


@pytest.mark.parametrize(
    ("overrides", "needs"),
    [
        ({"engine": "local"}, "engine: dask://"),
        ({"task": "clustering"}, "supervised task"),
        ({"models": ["knn"]}, "including lightgbm or linear"),
        ({"columns": {"group": "band"}}, "columns.group"),
    ],
)
def test_data_parallel_refuses_what_it_cannot_do(
    tmp_path: Path, overrides: dict, needs: str
) -> None:
    path = _project(tmp_path, "tcp://127.0.0.1:8786", n=10, **overrides)
    with pytest.raises(SpecError, match="data_parallel: true needs") as err:
        load_spec(path)
    assert needs in str(err.value)


def test_the_cli_flag_needs_a_dask_engine(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from civicml.cli import app as cli

    path = _project(tmp_path, "tcp://127.0.0.1:8786", n=10, data_parallel=False, engine="local")
    result = CliRunner().invoke(cli, ["train", str(path), "--data-parallel"])
    assert result.exit_code == 2
    out = result.output.strip()
    assert len(out.splitlines()) <= 2 and "engine: dask://" in out, out


def test_data_the_workers_cannot_stream_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml._errors import DataError
    from civicml.workflow import run_training

    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
    path = _project(
        tmp_path, "tcp://127.0.0.1:9", n=50, data={"path": "cases.csv", "encoding": "cp1252"}
    )
    with pytest.raises(DataError, match="data_parallel: true needs the spec's data"):
        run_training(load_spec(path), tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()
