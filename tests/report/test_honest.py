"""Honest first: a model no better than flagging everyone is reported as such, fails
``beats_baseline`` and cannot take production without a recorded override."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

OWNER = {
    "organisation": "Example Department",
    "team": "Analytics",
    "senior_responsible_owner": "Director",
    "contact": "team@example.gov.uk",
}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _bundle(dest: Path, *, shuffled: bool) -> Path:
    """A tiny real bundle; with ``shuffled`` the model learned from a shuffled target."""
    from sklearn.linear_model import LogisticRegression

    from civicml.assess import assess_model, checks_to_dict, evaluate_checks
    from civicml.bundle import save_bundle

    rng = np.random.default_rng(7)
    n = 600
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-(1.0 + 2.5 * df["x"]))), "yes", "no")
    train, test = df.iloc[:400], df.iloc[400:].reset_index(drop=True)
    target = train["y"].sample(frac=1, random_state=1).to_numpy() if shuffled else train["y"]
    model = LogisticRegression().fit(train[["x", "z"]], target)
    # a shuffled target leaves the threshold where it flags (almost) everyone
    threshold = 0.3 if shuffled else 0.5
    a = assess_model(
        model,
        test[["x", "z"]],
        test["y"],
        task="binary",
        classes=["no", "yes"],
        threshold=threshold,
        protected={},
        frame_test=test,
        features=["x", "z"],
        n_boot=20,
        budget_seconds=2,
        metric="roc_auc",
        costs=(1.0, 1.5),
        n_boot_baseline=400,
    )
    checks = evaluate_checks(a, metric="roc_auc", limits={"max_fairness_gap": 0.2})
    info = {
        "name": "honest",
        "task": "binary",
        "target": "y",
        "metric": "roc_auc",
        "candidate": "linear",
        "features": ["x", "z"],
        "classes": ["no", "yes"],
        "positive_label": "yes",
        "threshold": threshold,
        "n_train": 400,
        "n_test": 200,
    }
    spec = {
        "name": "honest",
        "owner": OWNER,
        "intended_use": "Testing honesty.",
        "out_of_scope_uses": ["Deciding anything about a person"],
    }
    save_bundle(
        dest,
        model=model,
        documents={
            "model_info.json": info,
            "spec.json": spec,
            "assessment.json": a.to_dict(),
            "checks.json": checks_to_dict(checks),
        },
        tables={"reference.parquet": train[["x", "z"]]},
    )
    return dest


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from civicml.report import write_report

    dest = _bundle(tmp_path_factory.mktemp("honest") / "bundle", shuffled=True)
    paths = write_report(dest, tmp_path_factory.mktemp("honest-report"), pdf=False)
    return {"bundle": dest, "html": paths.html.read_text(encoding="utf-8")}


def test_shuffled_target_report_says_so_first(shuffled: dict[str, Any]) -> None:
    html = shuffled["html"]
    summary = _text(html[html.index('id="summary"') : html.index('id="checks"')])
    first = summary.index("The model flags")
    assert first < summary.index("What the model must not be used for")
    assert "NOT reliably better than flagging everyone" in summary
    assert "95% interval of the difference" in summary
    assert "How it compares with doing without the model" in summary
    for policy in ("Flag everyone", "Flag no one", "Flag a random share the size of the base rate"):
        assert policy in summary
    # the first risk is the failed comparison
    risks = summary[summary.index("Main risks") :]
    assert risks.index("Check 'beats_baseline' failed") < 40


def test_shuffled_target_fails_beats_baseline_and_min_metric_is_not_checked(
    shuffled: dict[str, Any],
) -> None:
    from civicml.bundle import load_bundle

    doc = load_bundle(shuffled["bundle"]).read_json("checks.json")
    by = {c["name"]: c for c in doc["checks"]}
    assert by["beats_baseline"]["passed"] is False and doc["passed"] is False
    assert "NOT reliably better" in by["beats_baseline"]["evidence"]
    assert by["min_roc_auc"]["status"] == "not_checked" and by["min_roc_auc"]["passed"] is None
    html = shuffled["html"]
    table = _text(html[html.index('id="checks"') : html.index('id="data"')])
    assert re.search(r"min_roc_auc Not checked", table)
    assert not re.search(r"min_roc_auc Pass", table)
    assert re.search(r"beats_baseline Fail", table)


def test_promotion_refused_without_override(shuffled: dict[str, Any], tmp_path: Path) -> None:
    from civicml._errors import GovernanceError
    from civicml.registry import open_registry
    from civicml.web import atrs_gaps

    reg = open_registry(
        f"sqlite:///{tmp_path / 'r.db'}", artifacts=str(tmp_path / "art"), project_dir=tmp_path
    )
    reg.atrs_check = atrs_gaps  # the real ATRS record of the real bundle
    try:
        v = reg.register(shuffled["bundle"], "honest", actor="ana", oversight="advisory")
        assert v.checks_passed is False
        assert "min_roc_auc" not in [c["name"] for c in v.checks]  # not checked: not counted
        reg.request_approval("honest", 1, actor="ana", reason="ready")
        reg.approve("honest", 1, by="bo", reason="looks fine")
        with pytest.raises(GovernanceError, match="beats_baseline") as refused:
            reg.promote("honest", 1, actor="bo")
        # and its ATRS record is not finished: a person has not answered what only they know
        assert "an ATRS record with" in str(refused.value)
        assert "owner.senior_responsible_owner_role" in str(refused.value) or "gaps" in str(
            refused.value
        )
        # with a recorded override (made before approval) the same bundle may go live
        reg.register(shuffled["bundle"], "honest-override", actor="ana", oversight="advisory")
        reg.override_checks(
            "honest-override", 1, by="cy", reason="Trial only; parity with flag-everyone accepted"
        )
        reg.request_approval("honest-override", 1, actor="ana", reason="ready")
        reg.approve("honest-override", 1, by="bo", reason="with the override")
        with pytest.raises(GovernanceError, match="an ATRS record with"):
            reg.promote("honest-override", 1, actor="bo")
        reg.record_atrs_exemption(
            "honest-override", 1, reason="Internal trial, not yet in use on the public", actor="cy"
        )
        assert "production" in reg.promote("honest-override", 1, actor="bo").aliases
    finally:
        reg.close()


def test_a_real_signal_passes_beats_baseline(tmp_path: Path) -> None:
    from civicml.bundle import load_bundle

    doc = load_bundle(_bundle(tmp_path / "b", shuffled=False)).read_json("checks.json")
    by = {c["name"]: c for c in doc["checks"]}
    assert by["beats_baseline"]["passed"] is True, by["beats_baseline"]["evidence"]
