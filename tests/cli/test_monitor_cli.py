"""``civicml monitor`` and ``civicml monitor labels`` through Typer's runner, on a tiny bundle."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for serve._support
from serve._support import make_bundle


def _cli() -> typer.Typer:
    from civicml.cli._monitor import monitor_app

    root = typer.Typer()

    @root.callback()
    def _main() -> None:
        """civicml."""

    root.add_typer(monitor_app, name="monitor")
    return root


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> object:
    return make_bundle(tmp_path_factory.mktemp("mon") / "bundle")


def _log(bundle: object, folder: Path, *, shift: float = 0.0, n: int = 400) -> None:
    from civicml.bundle import Predictor
    from civicml.serve import DecisionLog

    ref = bundle.read_table("reference.parquet") if bundle.has("reference.parquet") else None
    rng = np.random.default_rng(3)
    rows = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n) + shift,
            "income": rng.normal(30_000, 8_000, n).round(2),
            "region": rng.choice(["N", "S", "E", "W"], n),
            "postcode": rng.choice(["AB1 2CD", "EF3 4GH"], n),
            "member": rng.choice([True, False], n),
        }
    )
    assert ref is None or len(ref)
    out = Predictor(bundle).predict(rows)
    log = DecisionLog(folder).start()
    start = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    for i in range(n):
        log.append(
            {
                "request_id": f"r{i}",
                "time": start + dt.timedelta(hours=i * 96 / n),
                "model_version": "1",
                "model_sha256": bundle.digest,
                "input_sha256": "x",
                **rows.iloc[i].to_dict(),
                "score": float(out["score"].iloc[i]),
                "prediction": out["prediction"].iloc[i],
                "decision": int(out["decision"].iloc[i]),
                "latency_ms": 1.0,
            }
        )
    log.close()


def test_labels_are_validated_and_idempotent(tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "l.csv"
    pd.DataFrame({"request_id": ["a", "b"], "outcome": ["yes", "no"]}).to_csv(good, index=False)
    base = ["monitor", "labels", str(good), "--model", "claims", "--project-dir", str(tmp_path)]
    r = runner.invoke(_cli(), [*base, "--label-column", "outcome", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["added"] == 2
    r = runner.invoke(_cli(), [*base, "--label-column", "outcome", "--json"])
    assert json.loads(r.stdout)["total"] == 2 and json.loads(r.stdout)["replaced"] == 2
    r = runner.invoke(_cli(), base)  # no 'label' column
    assert r.exit_code == 2 and "lack the column" in r.output


def test_monitor_needs_a_model() -> None:
    r = CliRunner().invoke(_cli(), ["monitor", "run"])
    assert r.exit_code == 2 and "needs a model" in r.output


def test_bundle_mode_exit_codes(bundle: object, tmp_path: Path) -> None:
    bundle_dir = str(bundle.path)
    if not bundle.has("reference.parquet"):
        r = CliRunner().invoke(
            _cli(), ["monitor", "--bundle", bundle_dir, "--log-dir", str(tmp_path)]
        )
        assert r.exit_code == 2 and "reference sample" in r.output
        return
    _log(bundle, tmp_path / "log")
    r = CliRunner().invoke(
        _cli(), ["monitor", "--bundle", bundle_dir, "--log-dir", str(tmp_path / "log"), "--json"]
    )
    assert r.exit_code in (0, 1), r.output
    assert json.loads(r.stdout)["drift"]["n_current"] == 400


def test_missing_log_folder_is_one_line(bundle: object, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        _cli(), ["monitor", "--bundle", str(bundle.path), "--log-dir", str(tmp_path / "none")]
    )
    assert r.exit_code == 2
    assert "reference sample" in r.output or "no decision log" in r.output


def test_redaction_marker_matches_serve() -> None:
    from civicml.monitor._job import REDACTED as monitor_marker
    from civicml.serve import REDACTED

    assert monitor_marker == REDACTED


def test_summary_prints_the_verdict_and_the_columns_left_out(tmp_path: Path) -> None:
    """Issue 20: the terminal shows the verdict sentence the dashboard shows, and names the
    date and free-text columns it did not compare."""
    from civicml.serve import DecisionLog
    from monitor._served import START, make_bundle, rows

    served = make_bundle(tmp_path / "bundle")
    log = DecisionLog(tmp_path / "log").start()
    for i, row in enumerate(rows(300, year=2025, seed=4).to_dict("records")):
        row["notes"] = "[redacted]"  # as the server logs free text
        log.append(
            {
                **row,
                "request_id": f"r{i}",
                "time": START + dt.timedelta(minutes=10 * i),
                "model_sha256": served.digest,
            }
        )
    log.close()
    args = ["monitor", "--bundle", str(served.path), "--log-dir", str(tmp_path / "log")]
    text = CliRunner().invoke(_cli(), args)
    doc = json.loads(CliRunner().invoke(_cli(), [*args, "--json"]).stdout)
    assert text.exit_code == doc["exit_code"], text.output
    flat = " ".join(text.output.split())
    assert f"verdict: {doc['verdict']['state']}: {doc['verdict']['message']}" in flat
    assert "not compared: opened: a date" in flat and "not compared: notes: free text" in flat


def test_max_rows_monitors_a_sample_and_shows_the_true_total(tmp_path: Path) -> None:
    """Issue 23: above --max-rows the decisions are sampled; text and JSON say of how many."""
    from monitor._served import START, make_bundle, rows

    served = make_bundle(tmp_path / "bundle")
    log = rows(400, year=2025, seed=4).assign(notes="[redacted]", model_sha256=served.digest)
    log["request_id"] = [f"r{i}" for i in range(400)]
    log["time"] = [START + dt.timedelta(minutes=15 * i) for i in range(400)]
    (tmp_path / "log" / "predictions").mkdir(parents=True)
    log.to_parquet(tmp_path / "log" / "predictions" / "part-000.parquet")
    args = ["monitor", "--bundle", str(served.path), "--log-dir", str(tmp_path / "log")]
    r = CliRunner().invoke(_cli(), [*args, "--max-rows", "100", "--json"])
    assert r.exit_code in (0, 1), r.output
    doc = json.loads(r.stdout)
    assert doc["sample"]["rows"] == 400 and doc["sample"]["rows_monitored"] == 100
    assert doc["sample"]["sampled"] is True and doc["drift"]["n_current"] == 100
    text = CliRunner().invoke(_cli(), [*args, "--max-rows", "100"])
    flat = " ".join(text.output.split())
    assert "decisions in the period: 400" in flat
    assert "computed on a uniform sample of 100 of 400 decisions in the period" in flat
    assert "current 100 (sampled of 400)" in flat
    every = json.loads(CliRunner().invoke(_cli(), [*args, "--max-rows", "0", "--json"]).stdout)
    assert every["sample"]["sampled"] is False and every["drift"]["n_current"] == 400
    bad = CliRunner().invoke(_cli(), [*args, "--max-rows", "-1"])
    assert bad.exit_code == 2
