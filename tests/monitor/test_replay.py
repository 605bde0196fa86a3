"""Issue 7's acceptance test: replay Benefits rows through the real server, then ``civicml monitor``.

A small model is trained on 3,500 shuffled Benefits rows (2 trials, 3 folds), registered,
approved by a second person and promoted in a temporary registry, and served by the real ASGI
app over a ``RegistrySource``. The held-out rows are sent twice through ``POST /predict``:
unchanged over four days, and drifted (``age`` + 15 years, 80% of ``joblost`` set to
``slack_work``) over four later days. The server stamps "now" on each logged prediction; the
test hands it a :class:`DecisionLog` whose clock it sets per replayed day, so the Parquet log is
written by the server itself and never rewritten.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from atrs_gate import exempt

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[2]
BENEFITS = ROOT / "examples" / "benefits"
TOKEN = "tok-replay"
N_TRAIN = 3500
CLEAN_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DRIFT_START = dt.datetime(2025, 1, 11, tzinfo=dt.UTC)
DAYS = 4

pytestmark = pytest.mark.slow


def _cli() -> typer.Typer:
    from civicml.cli._monitor import monitor_app

    root = typer.Typer()

    @root.callback()
    def _main() -> None:  # a group, as in civicml's real app
        """civicml."""

    root.add_typer(monitor_app, name="monitor")
    return root


def _clocked_log(folder: Path) -> Any:
    from civicml.serve import DecisionLog

    class ClockedLog(DecisionLog):
        """The server's decision log with a clock the replay sets (one replayed day at a time)."""

        now: dt.datetime = CLEAN_START

        def append(self, record: dict[str, Any]) -> None:
            super().append({**record, "time": self.now})

    return ClockedLog(folder, max_seconds=0.2)


def _replay(client: Any, log: Any, rows: pd.DataFrame, start: dt.datetime) -> pd.DataFrame:
    """Send ``rows`` through POST /predict over DAYS days; return request ids and decisions."""
    out = []
    per_day = int(np.ceil(len(rows) / DAYS))
    for day in range(DAYS):
        part = rows.iloc[day * per_day : (day + 1) * per_day]
        for lo in range(0, len(part), 60):
            batch = part.iloc[lo : lo + 60]
            log.now = start + dt.timedelta(days=day, hours=9, minutes=lo // 60)
            body = json.loads(batch.to_json(orient="records"))
            r = client.post("/predict", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200, r.text
            doc = r.json()
            for i, pred in enumerate(doc["predictions"]):
                out.append(
                    {
                        "request_id": f"{doc['request_id']}:{i}"
                        if len(batch) > 1
                        else doc["request_id"],
                        "row": batch.index[i],
                        "day": day,
                        "decision": pred["decision"],
                    }
                )
    log.flush()
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import yaml
    from starlette.testclient import TestClient

    from civicml.registry import open_registry
    from civicml.serve import RegistrySource, ServeOptions, StaticToken, create_app
    from civicml.spec import spec_from_dict
    from civicml.workflow import run_training

    mp = pytest.MonkeyPatch()
    for var in ("CIVICML_REGISTRY", "CIVICML_ARTIFACTS", "CIVICML_DEBUG"):
        mp.delenv(var, raising=False)
    mp.setenv("COLUMNS", "160")
    base = tmp_path_factory.mktemp("replay")
    project = base / "project"
    project.mkdir()
    data = pd.read_csv(BENEFITS / "benefits.csv").sample(frac=1.0, random_state=0)
    data = data.reset_index(drop=True)
    data.iloc[:N_TRAIN].to_csv(base / "train.csv", index=False)
    held_out = data.iloc[N_TRAIN:].reset_index(drop=True)

    raw = yaml.safe_load((BENEFITS / "civicml.yaml").read_text("utf-8"))
    raw.update(max_trials=2, cv_folds=3, data={"path": str(base / "train.csv")})
    # The example declares the integer 'state' categorical: the served scores must still equal
    # the bundle's even though JSON clients and the server may carry it as 42.0 rather than 42
    # (test_served_scores_match_the_bundle).
    outcome = run_training(spec_from_dict(raw, base_dir=base), base / "bundle")

    uri = f"sqlite:///{project / '.civicml' / 'registry.db'}"
    (project / ".civicml").mkdir()
    reg = open_registry(uri, project_dir=project)
    v = reg.register(outcome.bundle.path, "benefits", actor="Ada Analyst", reason="replay test")
    reg.request_approval(
        "benefits",
        v.version,
        actor="Ada Analyst",
        reason="ready",
        oversight="advisory",
        # the screening asks for a DPIA (protected characteristics): its reference and date
        legal={"dpia": {"reference": "DPIA-REPLAY-1", "date": "2025-01-01"}},
    )
    if not v.checks_passed:  # a 2-trial model may miss a check: a named person overrides it
        reg.override_checks("benefits", v.version, by="Grace Reviewer", reason="test model")
    reg.approve("benefits", v.version, by="Grace Reviewer", reason="assessment read")
    exempt(reg, "benefits", v.version, by="Grace Reviewer")  # about replay, not the ATRS record
    reg.promote("benefits", v.version, actor="Grace Reviewer", reason="go live")

    log = _clocked_log(project / ".civicml" / "decisions" / "benefits")
    app = create_app(
        RegistrySource(reg, "benefits@production"),
        verifier={TOKEN: StaticToken("replayer", ("predict",))}.get,
        decision_log=log,
        poll_seconds=0,
        # drifted ages leave the training range; the default policy would refuse them
        options=ServeOptions(out_of_range="allow", unknown_category="allow"),
    )
    inputs = held_out.drop(columns=["ui"])
    drifted = inputs.copy()
    drifted["age"] = drifted["age"] + 15
    flip = np.random.default_rng(1).random(len(drifted)) < 0.8
    drifted.loc[flip, "joblost"] = "slack_work"
    with TestClient(app) as client:
        log.now = CLEAN_START
        clean_sent = _replay(client, log, inputs, CLEAN_START)
        drift_sent = _replay(client, log, drifted, DRIFT_START)
    reg.close()
    yield {
        "project": project,
        "uri": uri,
        "held_out": held_out,
        "clean": clean_sent,
        "drifted": drift_sent,
        "digest": outcome.bundle.digest,
        "bundle": outcome.bundle.path,
    }
    mp.undo()


def _monitor(ctx: dict[str, Any], *args: str) -> Any:
    result = CliRunner().invoke(
        _cli(),
        [
            "monitor",
            "benefits",
            "--registry",
            ctx["uri"],
            "--project-dir",
            str(ctx["project"]),
            "--window",
            "1d",
            *args,
        ],
    )
    return result


def _clean_args() -> list[str]:
    return ["--since", "2025-01-01", "--until", "2025-01-05"]


def _drift_args() -> list[str]:
    return ["--since", "2025-01-11", "--until", "2025-01-15"]


def test_server_logged_every_replayed_row(replay: dict[str, Any]) -> None:
    from civicml.serve import read_decision_log

    log = read_decision_log(replay["project"] / ".civicml" / "decisions" / "benefits")
    assert len(log) == 2 * len(replay["held_out"])
    assert set(log["model_sha256"]) == {replay["digest"]}
    days = log["time"].dt.floor("1D").value_counts()
    assert len(days) == 2 * DAYS


def test_served_scores_match_the_bundle(replay: dict[str, Any]) -> None:
    """The replay's premise: the server scores held-out rows as the bundle does."""
    from civicml.bundle import Predictor, load_bundle
    from civicml.serve import read_decision_log

    log = read_decision_log(replay["project"] / ".civicml" / "decisions" / "benefits")
    clean = log[log["time"] < pd.Timestamp(DRIFT_START)].set_index("request_id")
    sent = replay["clean"]
    bundle = load_bundle(replay["bundle"])
    expected = Predictor(bundle).predict(replay["held_out"].loc[sent["row"]])["score"]
    served = clean.loc[sent["request_id"], "score"].to_numpy()
    np.testing.assert_allclose(served, expected.to_numpy(), atol=1e-5)


def test_clean_replay_exits_0_without_drift_alert(replay: dict[str, Any]) -> None:
    result = _monitor(replay, *_clean_args(), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    kinds = [a["kind"] for a in doc["alerts"]]
    assert "dataset_drift" not in kinds and kinds == []
    assert doc["drift"]["n_current"] == len(replay["held_out"])
    assert doc["retrain_recommendation"].startswith("No retraining needed")
    assert doc["estimated_performance"] and doc["performance"] is None


def test_drifted_replay_alerts_names_columns_and_writes_html(
    replay: dict[str, Any], tmp_path: Path
) -> None:
    html = tmp_path / "drift.html"
    result = _monitor(replay, *_drift_args(), "--json", "--html", str(html))
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    drifted = {c["column"] for c in doc["drift"]["columns"] if c["drifted"]}
    assert {"age", "joblost"} <= drifted
    kinds = {a["kind"] for a in doc["alerts"]}
    assert "chunked_drift" in kinds
    chunk_alert = next(a for a in doc["alerts"] if a["kind"] == "chunked_drift")
    # chunks need rows: age is a protected characteristic, kept in the bundle as a distribution
    # only, so its drift is tested from that distribution (above) and not chunk by chunk
    assert "joblost" in {a["column"] for a in chunk_alert["evidence"]["alerts"]}
    note = next(n for n in doc["chunked"]["notes"] if n.startswith("Kept as distributions"))
    assert "age" in note and "chunked and multivariate checks skip them" in note
    advice = doc["retrain_recommendation"]
    assert "- age (numeric, feature)" in advice and "- joblost (categorical, feature)" in advice
    text = html.read_text("utf-8")
    assert "age" in text and "joblost" in text and "Chunked drift" in text


def test_drifted_summary_prints_alerts_before_the_table(replay: dict[str, Any]) -> None:
    result = _monitor(replay, *_drift_args(), "--webhook", "http://127.0.0.1:9/none")
    assert result.exit_code == 1, result.output
    out = result.output
    assert out.index("alert(s)") < out.index("Drifted columns") < out.index("Retraining")
    assert "age" in out and "joblost" in out
    assert "warning:" in out and "could not be reached" in out  # webhook failure is not fatal


def test_empty_period_exits_2_with_one_line(replay: dict[str, Any]) -> None:
    result = _monitor(replay, "--since", "2030-01-01")
    assert result.exit_code == 2
    assert "no predictions of benefits in the period" in result.output
    assert "Traceback" not in result.output


def test_late_labels_give_realised_metrics(replay: dict[str, Any], tmp_path: Path) -> None:
    ctx = replay
    sent = ctx["clean"]
    truth = ctx["held_out"]["ui"]
    day0 = sent[sent["day"] == 0]
    delivered = pd.DataFrame(
        {"request_id": day0["request_id"], "label": truth.loc[day0["row"]].to_numpy()}
    )
    first = tmp_path / "labels.csv"
    wrong = delivered.assign(label=np.where(delivered["label"] == "yes", "no", "yes"))
    wrong.iloc[:100].to_csv(first, index=False)  # a first delivery with mistakes
    runner = CliRunner()
    args = ["monitor", "labels", "--model", "benefits", "--project-dir", str(ctx["project"])]
    r1 = runner.invoke(_cli(), [*args[:2], str(first), *args[2:], "--json"])
    assert r1.exit_code == 0, r1.output
    assert json.loads(r1.stdout)["added"] == 100
    fixed = tmp_path / "labels.parquet"
    delivered.to_parquet(fixed, index=False)  # the corrected, complete delivery
    r2 = runner.invoke(_cli(), [*args[:2], str(fixed), *args[2:], "--json"])
    assert r2.exit_code == 0, r2.output
    stored = json.loads(r2.stdout)
    assert (stored["replaced"], stored["total"]) == (100, len(delivered))

    result = _monitor(ctx, *_clean_args(), "--json")
    doc = json.loads(result.stdout)
    realised = pd.DataFrame(doc["performance"])
    first_day = realised.iloc[0]
    assert first_day["n_labelled"] == len(day0) and first_day["label_coverage"] == 1.0
    assert realised["n_labelled"].iloc[1:].eq(0).all()
    # by hand: the server's decisions against the delivered truth
    y = (delivered["label"].to_numpy() == "yes").astype(int)
    d = day0["decision"].to_numpy().astype(int)
    tp, fp, fn = (
        int(((y == 1) & (d == 1)).sum()),
        int(((y == 0) & (d == 1)).sum()),
        int(((y == 1) & (d == 0)).sum()),
    )
    assert first_day["accuracy"] == pytest.approx(float((y == d).mean()))
    assert first_day["precision"] == pytest.approx(tp / (tp + fp))
    assert first_day["recall"] == pytest.approx(tp / (tp + fn))
    reconciled = pd.DataFrame(doc["reconciliation"])
    assert len(reconciled) >= 1 and "gap_accuracy" in reconciled
    assert reconciled["valid_under"].eq("covariate shift only").all()


def test_cli_and_dashboard_agree_on_the_served_log(replay: dict[str, Any]) -> None:
    """Issue 20: the dashboard's monitoring page and ``civicml monitor`` read the same log the
    same way: one verdict, the same "N of M columns drifted", the same columns."""
    from civicml.registry import open_registry
    from civicml.web import monitoring_status

    result = _monitor(replay, "--json")  # the whole log, as the dashboard reads it
    doc = json.loads(result.stdout)
    with open_registry(replay["uri"], project_dir=replay["project"]) as reg:
        version = reg.get_alias("benefits", "production")
        status = monitoring_status(
            reg, version, replay["project"] / ".civicml" / "decisions", plots=False
        )
    assert status.verdict is not None
    assert status.verdict.to_dict() == doc["verdict"]
    assert status.message == doc["verdict"]["message"]
    assert result.exit_code == (1 if doc["verdict"]["state"] == "alert" else 0)
    assert status.state == ("drift" if doc["verdict"]["state"] == "alert" else "ok")
    shown = [c["column"] for c in status.columns]
    assert shown == [c["column"] for c in doc["drift"]["columns"]]


def test_a_version_past_its_review_date_is_flagged_and_can_fail_the_run(
    replay: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21: reviews on a schedule. The clean window exits 0; past the review date the
    run says so, and ``--fail-on review`` makes it exit 1."""
    result = _monitor(replay, *_clean_args(), "--json", "--fail-on", "review")
    assert result.exit_code == 0, result.output
    review = json.loads(result.stdout)["review"]
    assert review["overdue"] is False and review["due"] > "2026-01-01"

    import civicml.registry._lifecycle as lifecycle

    monkeypatch.setattr(lifecycle, "_today", lambda: "2999-01-01")
    flagged = _monitor(replay, *_clean_args())
    assert flagged.exit_code == 0, flagged.output  # flagged, not failed, unless asked
    assert "review: OVERDUE since" in flagged.stdout
    failed = _monitor(replay, *_clean_args(), "--fail-on", "review")
    assert failed.exit_code == 1, failed.output
    assert _monitor(replay, *_clean_args(), "--fail-on", "nothing").exit_code == 2
