"""The supervised training job: ``models:`` limits the families the search tries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def test_models_limits_the_search_to_the_listed_families(tmp_path: Path) -> None:
    from civicml.bundle import load_bundle
    from civicml.spec import spec_from_dict
    from civicml.workflow import run_training

    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["band"] = rng.choice(["low", "high"], size=240)
    frame["y"] = np.where(x[:, 0] + rng.normal(scale=0.7, size=240) > 0, "yes", "no")
    frame.to_csv(tmp_path / "train.csv", index=False)
    spec = spec_from_dict(
        {
            "name": "models-only",
            "data": {"path": "train.csv"},
            "target": "y",
            "task": "binary",
            "max_trials": 3,
            "budget_seconds": 5,
            "cv_folds": 2,
            "models": ["lightgbm"],
            "personal_data": {"scan": False},
        },
        base_dir=tmp_path,
    )
    with pytest.MonkeyPatch.context() as env:  # never leak into later tests
        env.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
        events: list[tuple[str, dict]] = []
        outcome = run_training(
            spec, tmp_path / "bundle", track=False, on_event=lambda k, **kw: events.append((k, kw))
        )
    # both set: the trials win, and the run says so instead of ignoring the budget silently
    warned = [kw["message"] for k, kw in events if k == "warning"]
    assert any("budget_seconds (5) does not limit it" in w for w in warned), warned
    board = outcome.result.leaderboard.to_frame()
    assert set(board["family"]) == {"baseline", "lightgbm"}
    assert (board["family"] == "lightgbm").sum() == 3
    assert load_bundle(tmp_path / "bundle").has("model.onnx")


def test_a_wide_table_trains_and_assesses_on_the_screened_columns(tmp_path: Path) -> None:
    """Issue 20: a table with far more columns than rows is screened before the search, and
    the bundle's inputs, contract and assessment are the columns the model kept."""
    import time

    from civicml.bundle import load_bundle
    from civicml.spec import spec_from_dict
    from civicml.workflow import run_training

    rng = np.random.default_rng(1)
    n, p = 40, 1_100
    frame = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"c{i}" for i in range(p)])
    frame["y"] = np.where(frame["c0"] + frame["c1"] > 0, "yes", "no")
    frame.to_parquet(tmp_path / "wide.parquet")
    spec = spec_from_dict(
        {
            "name": "wide",
            "data": {"path": "wide.parquet"},
            "target": "y",
            "task": "binary",
            "budget_seconds": 4,
            "cv_folds": 2,
            "personal_data": {"scan": False},
        },
        base_dir=tmp_path,
    )
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
        outcome = run_training(spec, tmp_path / "bundle", track=False)
    assert time.monotonic() - started < 90  # the search kept its budget; assessment is bounded
    screened = outcome.result.extra["screened"]
    kept = outcome.result.roles.features
    assert len(kept) < p and {"c0", "c1"} <= set(kept)
    bundle = load_bundle(tmp_path / "bundle")
    assert bundle.info["features"] == kept
    contract = bundle.read_json("contract.json")
    assert {c["name"] for c in contract["columns"]} == {*kept, "y"}
    assert set(screened["dropped"]) <= set(contract["dropped"])
