"""Clustering and anomaly bundles served, replayed clean and drifted, then ``civicml monitor``.

Each example is trained quickly on 70% of its rows (a tmp_path copy), served by the real ASGI app
with a decision log whose clock the test sets, and the held-out rows are sent through
``POST /predict`` unchanged (2025-01-01) and drifted (2025-01-11). ``civicml monitor --bundle``
must exit 0 on the clean day and 1, with an ``output_drift`` alert, on the drifted one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

os.environ.setdefault("OMP_NUM_THREADS", "1")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOKEN = "tok-unsupervised"
CLEAN = dt.datetime(2025, 1, 1, 9, tzinfo=dt.UTC)
DRIFT = dt.datetime(2025, 1, 11, 9, tzinfo=dt.UTC)

pytestmark = pytest.mark.filterwarnings("ignore")


def _cli() -> typer.Typer:
    from civicml.cli._monitor import monitor_app

    root = typer.Typer()

    @root.callback()
    def _main() -> None:
        """civicml."""

    root.add_typer(monitor_app, name="monitor")
    return root


def _drift_penguins(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.copy()
    out["flipper_length_mm"] = out["flipper_length_mm"] + 25
    out["body_mass_g"] = out["body_mass_g"] + 1500
    out["bill_depth_mm"] = out["bill_depth_mm"] - 3
    out["island"] = "Biscoe"
    return out


def _drift_cells(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.copy()
    for col in ("mean_radius", "mean_perimeter", "mean_area", "mean_concavity"):
        out[col] = out[col] * 1.8
    return out


CASES: dict[str, dict[str, Any]] = {
    "clustering": {
        "data": "penguins.csv",
        "label": "species",
        "edits": {
            "clustering": {
                "families": ["kmeans"],
                "max_clusters": 3,
                "stability_resamples": 0,
            }
        },
        "drift": _drift_penguins,
    },
    "anomaly": {
        "data": "cells.csv",
        "label": "malignant",
        "edits": {"cv_folds": 2, "anomaly": {"families": ["isolation_forest"]}},
        "drift": _drift_cells,
    },
}


def _serve_and_replay(bundle: Path, log_dir: Path, clean: pd.DataFrame, drifted: pd.DataFrame):
    from starlette.testclient import TestClient

    from civicml.serve import DecisionLog, ServeOptions, StaticToken, create_app

    class ClockedLog(DecisionLog):
        now: dt.datetime = CLEAN

        def append(self, record: dict[str, Any]) -> None:
            super().append({**record, "time": self.now})

    log = ClockedLog(log_dir, max_seconds=0.2)
    app = create_app(
        bundle,
        verifier={TOKEN: StaticToken("replayer", ("predict",))}.get,
        decision_log=log,
        poll_seconds=0,
        options=ServeOptions(out_of_range="allow", unknown_category="allow"),
    )
    sent = []
    with TestClient(app) as client:
        for when, rows in ((CLEAN, clean), (DRIFT, drifted)):
            log.now = when
            for lo in range(0, len(rows), 50):
                batch = rows.iloc[lo : lo + 50]
                body = json.loads(batch.to_json(orient="records"))
                r = client.post("/predict", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
                assert r.status_code == 200, r.text
                doc = r.json()
                sent += [
                    {"request_id": f"{doc['request_id']}:{i}", "row": batch.index[i], "when": when}
                    for i in range(len(batch))
                ]
        log.flush()
    return pd.DataFrame(sent)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    import yaml

    from civicml.spec import load_spec
    from civicml.workflow._unsupervised_job import run_unsupervised

    out: dict[str, dict[str, Any]] = {}
    for task, case in CASES.items():
        base = tmp_path_factory.mktemp(task)
        folder = base / "project"
        shutil.copytree(EXAMPLES / task, folder)
        data = pd.read_csv(folder / case["data"]).sample(frac=1.0, random_state=0)
        n_train = int(len(data) * 0.7)
        data.iloc[:n_train].to_csv(folder / case["data"], index=False)
        held = data.iloc[n_train:].reset_index(drop=True)
        doc = yaml.safe_load((folder / "civicml.yaml").read_text())
        for key, value in case["edits"].items():
            doc[key] = {**doc.get(key, {}), **value} if isinstance(value, dict) else value
        (folder / "civicml.yaml").write_text(yaml.safe_dump(doc))
        outcome = run_unsupervised(load_spec(folder / "civicml.yaml"), base / "bundle", track=False)
        inputs = held.drop(columns=[case["label"], *doc.get("columns", {}).get("drop", [])])
        log_dir = base / "log"
        sent = _serve_and_replay(outcome.bundle.path, log_dir, inputs, case["drift"](inputs))
        out[task] = {
            "bundle": outcome.bundle.path,
            "log": log_dir,
            "held": held,
            "sent": sent,
            "outcome": outcome,
        }
    yield out


def _monitor(ctx: dict[str, Any], since: str, until: str, *extra: str) -> Any:
    return CliRunner().invoke(
        _cli(),
        [
            "monitor",
            "--bundle",
            str(ctx["bundle"]),
            "--log-dir",
            str(ctx["log"]),
            "--since",
            since,
            "--until",
            until,
            "--json",
            *extra,
        ],
    )


@pytest.mark.parametrize("task", list(CASES))
def test_clean_replay_exits_0(served: dict[str, Any], task: str) -> None:
    result = _monitor(served[task], "2025-01-01", "2025-01-02")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["alerts"] == []
    out = doc["output_drift"]
    assert out["task"] == task and out["drifted"] is False
    assert out["n_current"] == len(served[task]["held"])


@pytest.mark.parametrize("task", list(CASES))
def test_drifted_replay_reports_output_drift_and_exits_1(
    served: dict[str, Any], task: str, tmp_path: Path
) -> None:
    html = tmp_path / "report.html"
    result = _monitor(served[task], "2025-01-11", "2025-01-12", "--html", str(html))
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    out = doc["output_drift"]
    assert out["drifted"] is True and out["p_value"] < 0.05
    assert "output_drift" in {a["kind"] for a in doc["alerts"]}
    assert "model outputs" in doc["retrain_recommendation"]
    text = html.read_text("utf-8")
    assert "Model outputs" in text and out["rule"].split(" when ")[0] in text
    if task == "clustering":
        assert out["psi"] >= 0.1
        shares = {r["name"]: r["current_share"] for r in out["table"]}
        assert sum(shares.values()) == pytest.approx(1.0)
    else:
        assert out["ratio"] > 1.25 and out["table"][0]["current_rate"] > 0.2


def test_bundle_keeps_output_reference_and_fairness(served: dict[str, Any]) -> None:
    from civicml.bundle import load_bundle

    cl = load_bundle(served["clustering"]["bundle"])
    ref = cl.read_json("monitoring.json")["outputs"]
    assert ref["task"] == "clustering" and sum(c["share"] for c in ref["clusters"]) == 1.0
    fair = cl.read_json("assessment.json")["fairness"]
    assert fair["characteristics"][0]["name"] == "sex"  # the example names 'protected: sex'
    names = [c["name"] for c in cl.read_json("checks.json")["checks"]]
    assert "max_fairness_gap" in names
    an = load_bundle(served["anomaly"]["bundle"])
    ref = an.read_json("monitoring.json")["outputs"]
    assert 0 < ref["flag_rate"] < 0.2 and "out of fold" in ref["source"]
    assert "flag_rate_ratio" in [c["name"] for c in an.read_json("checks.json")["checks"]]


def test_anomaly_labels_give_realised_metrics(served: dict[str, Any]) -> None:
    from sklearn.metrics import roc_auc_score

    from civicml.bundle import load_bundle
    from civicml.monitor import monitor_model
    from civicml.serve import read_decision_log

    ctx = served["anomaly"]
    log = read_decision_log(ctx["log"])
    sent = ctx["sent"][ctx["sent"]["when"] == CLEAN]
    labels = pd.DataFrame(
        {"request_id": sent["request_id"], "label": ctx["held"].loc[sent["row"], "malignant"]}
    )
    report = monitor_model(
        load_bundle(ctx["bundle"]), log, since="2025-01-01", until="2025-01-02", labels=labels
    )
    perf = report.performance
    assert perf is not None and int(perf["n_labelled"].iloc[0]) == len(labels)
    logged = log.set_index("request_id").loc[sent["request_id"]]
    y = labels["label"].to_numpy().astype(int)
    expected = roc_auc_score(y, logged["anomaly_score"].to_numpy(dtype=float))
    assert perf["roc_auc"].iloc[0] == pytest.approx(expected)
    flags = logged["is_anomaly"].to_numpy().astype(int)
    assert perf["recall"].iloc[0] == pytest.approx(((flags == 1) & (y == 1)).sum() / y.sum())


def test_report_has_fairness_and_monitoring_plan(served: dict[str, Any], tmp_path: Path) -> None:
    from civicml.report import write_report

    for task in CASES:
        paths = write_report(served[task]["bundle"], tmp_path / task, pdf=False)
        html = paths.html.read_text("utf-8")
        assert "Fairness by group" in html and "Monitoring plan" in html
        assert html.count('id="fairness"') == 0  # the supervised section is not shown
        card = paths.model_card.read_text("utf-8")
        assert "## Fairness" in card
    assert "Share of each sex group in each cluster" in (
        tmp_path / "clustering" / "report.html"
    ).read_text("utf-8")


def test_unusable_output_reference_is_one_line() -> None:
    from civicml._errors import DataError
    from civicml.monitor._outputs import cluster_share_drift, flag_rate_drift

    with pytest.raises(DataError) as err:
        flag_rate_drift(1.5, [0, 1], n_reference=10)
    assert "not a share" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError, match="not 0/1"):
        flag_rate_drift(0.1, [0, 2], n_reference=10)
    with pytest.raises(DataError, match="no reference cluster shares"):
        cluster_share_drift({}, [0], n_reference=10)
    with pytest.raises(DataError, match="not all numbers"):
        cluster_share_drift({0: 1.0}, ["a"], n_reference=10)


def test_output_drift_numbers_by_hand() -> None:
    from scipy.stats import binomtest, chisquare

    from civicml.monitor._outputs import cluster_share_drift, flag_rate_drift

    d = cluster_share_drift({0: 0.6, 1: 0.4}, [0] * 30 + [1] * 70, n_reference=1000)
    assert d.p_value == pytest.approx(chisquare([30, 70], [60, 40]).pvalue)
    psi = (0.3 - 0.6) * np.log(0.3 / 0.6) + (0.7 - 0.4) * np.log(0.7 / 0.4)
    assert d.psi == pytest.approx(psi) and d.drifted
    r = flag_rate_drift(0.05, [1] * 12 + [0] * 88, n_reference=500)
    assert r.p_value == pytest.approx(binomtest(12, 100, 0.05).pvalue)
    assert r.ratio == pytest.approx(2.4) and r.drifted
    # significant but within the band: no drift
    assert not flag_rate_drift(0.05, [1] * 560 + [0] * 9440, n_reference=500).drifted
