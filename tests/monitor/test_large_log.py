"""``monitor_decision_log`` on a log above the cap (issue 23): the period and the version read
through DuckDB, a reproducible uniform sample monitored, the true totals and a note in the
report, late labels still joined; below the cap, the same report as reading the log whole."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for monitor._served
from civicml._errors import DataError
from civicml.monitor import monitor_decision_log, monitor_model
from civicml.monitor._large_log import LOG_SAMPLE_ROWS, log_sample
from civicml.serve import read_decision_log
from monitor._served import START, make_bundle, rows

N = 1_200


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """The bundle and a log of ``N`` of its decisions over 6 days, and 300 of another version
    among them, in parts as the server writes them."""
    folder = tmp_path_factory.mktemp("large")
    bundle = make_bundle(folder / "bundle")
    log = rows(N + 300, year=2025, seed=5)
    log["notes"] = "[redacted]"
    rng = np.random.default_rng(1)
    log["score"] = rng.uniform(0, 1, len(log))
    log["decision"] = (log["score"] >= 0.5).astype(int)
    log["request_id"] = [f"r{i}" for i in range(len(log))]
    log["time"] = [START + dt.timedelta(minutes=6 * i) for i in range(len(log))]
    log["model_sha256"] = [bundle.digest if i % 5 else "other" for i in range(len(log))]
    (folder / "log" / "predictions").mkdir(parents=True)
    for k, lo in enumerate(range(0, len(log), 250)):
        log.iloc[lo : lo + 250].to_parquet(folder / "log" / "predictions" / f"part-{k:03d}.parquet")
    return bundle, folder / "log"


def test_above_the_cap_a_sample_is_monitored_and_the_report_says_so(served) -> None:
    bundle, folder = served
    labels = pd.DataFrame({"request_id": [f"r{i}" for i in range(N + 300)], "label": "yes"})
    report = monitor_decision_log(bundle, folder, max_rows=300, labels=labels)
    sample = report.sample
    assert sample["rows"] == N  # the true total of this version's decisions in the period
    assert sample["rows_in_period"] > N and sample["rows_monitored"] == 300
    assert sample["sampled"] and sample["max_rows"] == 300
    assert sample["note"] == (
        f"Drift and fairness were computed on a uniform sample of 300 of {N:,} decisions in "
        "the period (drawn by DuckDB, seed 0); so were performance and override rates, and "
        "their counts are the sample's."
    )
    assert report.drift is not None and report.drift.n_current == 300
    assert report.chunked is not None and sample["note"] in report.chunked.notes
    assert report.to_dict()["chunked"]["notes"][0] == sample["note"]
    # late labels join the sampled rows: every monitored decision has its label
    assert report.performance is not None
    assert int(report.performance["n_labelled"].sum()) == 300
    again = monitor_decision_log(bundle, folder, max_rows=300, labels=labels)
    assert again.drift.to_dict() == report.drift.to_dict()  # reproducible


def test_below_the_cap_the_report_is_the_whole_logs(served) -> None:
    bundle, folder = served
    report = monitor_decision_log(bundle, folder, since="2025-03-02")
    assert report.sample["sampled"] is False and report.sample["note"] is None
    whole = monitor_model(bundle, read_decision_log(folder), since="2025-03-02")
    assert report.sample["rows"] == report.drift.n_current == whole.drift.n_current
    assert report.drift.to_dict() == whole.drift.to_dict()
    assert report.verdict == whole.verdict
    assert whole.sample is None  # a frame read whole carries no counts


def test_no_rows_of_this_version_says_how_many_there_are(served, tmp_path: Path) -> None:
    bundle, folder = served
    other = tmp_path / "log" / "predictions"
    other.mkdir(parents=True)
    frame = pd.read_parquet(next((folder / "predictions").glob("part-*.parquet")))
    frame.assign(model_sha256="other").to_parquet(other / "part-000.parquet")
    with pytest.raises(DataError, match="has 250 predictions but none from"):
        monitor_decision_log(bundle, tmp_path / "log", max_rows=100)
    with pytest.raises(DataError, match="no predictions of .* in the period"):
        monitor_decision_log(bundle, folder, since="2030-01-01")


def test_the_default_cap_and_a_frame_without_counts() -> None:
    from civicml.monitor import MonitorSettings

    assert MonitorSettings().max_rows == LOG_SAMPLE_ROWS == 1_000_000
    assert log_sample(pd.DataFrame({"time": []})) is None
