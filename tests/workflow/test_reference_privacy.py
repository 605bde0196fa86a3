"""Issue 19: a trained bundle keeps no raw value of a personal-data, special-category or
free-text column, and monitoring gives the same drift from its sketches as from raw rows.

One small binary model is trained on a table with free-text notes, postcodes, age, sex and a
disability flag. Every file in the bundle is searched, byte by byte, for the known raw notes and
postcodes; the reference sample must not hold the other private columns at all. The same model
is then saved again the old way (raw rows of every input in ``reference.parquet``) and both
bundles are monitored on one decision log: every drift test, score and flag must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

N = 400


def _table(seed: int = 0, n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    tenure = rng.gamma(2.0, 3.0, n)
    frame = pd.DataFrame(
        {
            "tenure": tenure,
            "region": rng.choice(["north", "south", "east"], n),
            "postcode": [f"QZ{i} 7WX" for i in rng.integers(1, 12, n)],
            "age": age,
            "sex": rng.choice(["Female", "Male"], n),
            "disability": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
            "notes": [
                f"Visit {i}: Mrs Araminta Quill{i} says the boiler at flat {i} failed again"
                for i in range(n)
            ],
        }
    )
    signal = tenure / 6 + (age > 50) + rng.normal(0, 0.7, n)
    frame["y"] = np.where(signal > np.median(signal), "yes", "no")
    return frame


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, Any]:
    from civicml.spec import spec_from_dict
    from civicml.workflow import run_training

    root = tmp_path_factory.mktemp("privacy")
    frame = _table()
    frame.to_csv(root / "train.csv", index=False)
    spec = spec_from_dict(
        {
            "name": "privacy",
            "data": {"path": "train.csv"},
            "target": "y",
            "task": "binary",
            "max_trials": 1,
            "cv_folds": 2,
            "models": ["linear"],
            "columns": {"text": ["notes"], "special_category": {"disability": "health"}},
            "personal_data": {"scan": False, "allow": ["postcode"]},
            "protected": {"age": "age", "sex": "sex"},
        },
        base_dir=root,
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CIVICML_REGISTRY", f"sqlite:///{root / 'registry.db'}")
        env.setenv("OMP_NUM_THREADS", "1")
        run_training(spec, root / "bundle", track=False)
    return root / "bundle", frame, spec


def test_the_bundle_holds_no_raw_note_or_postcode(trained: tuple[Path, pd.DataFrame, Any]) -> None:
    from civicml.bundle import load_bundle

    folder, frame, _ = trained
    blobs = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert "reference.json" in blobs and "reference.parquet" in blobs
    for value in frame["notes"]:
        found = [name for name, blob in blobs.items() if value.encode() in blob]
        assert not found, (value, found)
    for value in frame["postcode"].unique():
        found = {name for name, blob in blobs.items() if value.encode() in blob}
        # not the reference, the contract (no category list) nor the assessment (example
        # reasons name the column without its value; no partial-dependence curve of it)
        assert not found, (value, found)
    bundle = load_bundle(folder)
    reference = bundle.read_table("reference.parquet")
    features = bundle.info["features"]
    private = {"postcode", "age", "sex", "disability", "notes"} & set(features)
    assert private >= {"age", "sex", "notes"}  # the model takes them as inputs
    assert not private & set(reference.columns)
    assert set(bundle.read_json("reference.json")["private"]) == private


def _old_format_copy(folder: Path, frame: pd.DataFrame, spec: Any, dest: Path) -> Path:
    """The same model saved the way bundles were before: raw rows of every input."""
    from civicml.bundle import load_bundle, save_bundle
    from civicml.workflow._prepare import reference_rows

    bundle = load_bundle(folder)
    documents = {
        name: bundle.read_json(name)
        for name in bundle.manifest.files
        if name.endswith(".json") and name not in ("reference.json", "manifest.json")
    }
    files = {n: bundle.read_bytes(n) for n in bundle.manifest.files if n.endswith(".onnx")}
    raw = reference_rows(frame, bundle.info["features"], spec.seed)
    save_bundle(
        dest,
        model=bundle.model,
        documents=documents,
        files=files,
        tables={"reference.parquet": raw},
    )
    return dest


def test_monitoring_from_sketches_matches_the_raw_reference(
    trained: tuple[Path, pd.DataFrame, Any], tmp_path: Path
) -> None:
    from civicml.bundle import Predictor, load_bundle
    from civicml.monitor import monitor_model

    folder, frame, spec = trained
    new = load_bundle(folder)
    old = load_bundle(_old_format_copy(folder, frame, spec, tmp_path / "old"))
    assert not old.has("reference.json")
    current = _table(seed=5, n=600)
    current["age"] = current["age"] + 12  # drifted
    current = current.drop(columns="y")
    scored = Predictor(new).predict(current)
    log = current.assign(
        request_id=[f"r{i}" for i in range(len(current))],
        time=pd.Timestamp("2025-03-01", tz="UTC") + pd.to_timedelta(np.arange(600) * 600, "s"),
        score=scored["score"],
        decision=scored["decision"],
    )
    log[["notes", "postcode"]] = "[redacted]"  # as civicml serve logs them
    a = monitor_model(old, log, window="1D")
    b = monitor_model(new, log, window="1D")
    before = {c.column: c for c in a.drift.columns}
    after = {c.column: c for c in b.drift.columns}
    assert set(after) == set(before) and {"age", "sex", "score"} <= set(after)
    for name, c in before.items():
        d = after[name]
        assert (d.stattest, d.drifted, d.score, d.psi) == (c.stattest, c.drifted, c.score, c.psi)
    assert before["age"].drifted
    assert a.drift.dataset_drift == b.drift.dataset_drift
    assert a.fairness is not None and b.fairness is not None
    cols = ["characteristic", "group", "n", "selection_rate", "reference_ratio"]
    pd.testing.assert_frame_equal(a.fairness[cols], b.fairness[cols])
    assert b.chunked is not None
    assert any("distributions only" in note for note in b.chunked.notes)


def test_explanations_take_typical_values_without_raw_rows(
    trained: tuple[Path, pd.DataFrame, Any],
) -> None:
    from civicml.assess import explain_rows
    from civicml.bundle import load_bundle
    from civicml.serve import ModelRuntime

    folder, frame, _ = trained
    bundle = load_bundle(folder)
    rt = ModelRuntime(bundle, name="privacy", version="1")
    reference = rt.reference
    features = bundle.info["features"]
    assert set(features) <= set(reference.columns)  # private inputs as their typical value
    assert reference["age"].nunique() == 1
    typical = bundle.read_json("reference.json")["typical"]
    assert reference["age"].iloc[0] == typical["age"]
    assert min(frame["age"]) < typical["age"] < max(frame["age"])
    assert set(reference["notes"]) == {""}  # free text: never a person's note
    assert reference["postcode"].isna().all()  # personal data: no typical value
    rows = frame[features].head(3)
    reasons = explain_rows(
        bundle.model, rows, features=features, reference=reference, classes=bundle.info["classes"]
    )
    assert len(reasons) == 3 and all(r for r in reasons)
