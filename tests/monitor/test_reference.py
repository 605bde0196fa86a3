"""Reference data without people in it: private columns kept as sketches, drift unchanged.

The frames are the ones whose Evidently 0.7.23 scores are pinned in ``test_drift.py`` (800 rows:
K-S, chi-squared and Z-test; 3,000 rows: Wasserstein and Jensen-Shannon), with a free-text and a
postcode column added. Drift computed from the sketches must give the same tests, flags and
scores as drift computed from the raw rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.monitor._frames import evidently_fixture_frame

from civicml.monitor import (
    DriftDetector,
    build_reference,
    private_sketches,
    sketch_column,
)

PRIVATE = {"age": "protected", "region": "special", "flag": "protected", "income": "personal"}


def _with_people(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(frame)
    out = frame.copy()
    out["postcode"] = [f"ZQ{i % 40} {i % 9}XJ" for i in rng.integers(0, 10_000, n)]
    out["notes"] = [f"Mrs Quintillia{i} rang about damp at flat {i}" for i in range(n)]
    return out


def _pairs(raw: DriftDetector, sketched: DriftDetector, cur: pd.DataFrame) -> list[tuple]:
    a = {c.column: c for c in raw.detect(cur).columns}
    b = {c.column: c for c in sketched.detect(cur).columns}
    assert set(b) <= set(a)
    return [(a[k], b[k]) for k in b]


@pytest.mark.parametrize("n", [800, 3000])
def test_drift_from_sketches_matches_drift_from_raw_rows(n: int) -> None:
    ref = evidently_fixture_frame(n, seed=1, shift=0)
    cur = evidently_fixture_frame(n, seed=2, shift=1)
    raw = DriftDetector().fit(ref)
    public, sketches = private_sketches(ref, PRIVATE)
    assert list(public.columns) == ["band", "hours"]
    sketched = DriftDetector(columns=list(ref.columns)).fit(public, sketches=sketches)
    pairs = _pairs(raw, sketched, cur)
    assert [p[0].column for p in pairs] == list(ref.columns)  # same columns, same order
    for before, after in pairs:
        assert after.stattest == before.stattest, before.column
        assert after.drifted == before.drifted, before.column
        if before.column == "income" and before.stattest == "ks":  # a quantile sketch
            assert abs(np.log10(after.score / before.score)) < 0.25  # p 1.5e-6 vs 2.0e-6
        elif before.column == "income":
            assert abs(after.score - before.score) < 5e-5  # equal to 4 decimals
            assert abs(after.psi - before.psi) < 1e-3
        else:  # value counts: the very same numbers
            assert after.score == before.score, before.column
            assert after.psi == before.psi, before.column
    assert raw.detect(cur).share_drifted == sketched.detect(cur).share_drifted


def test_a_saved_detector_with_sketches_loads_and_keeps_no_private_rows(tmp_path: Path) -> None:
    ref = _with_people(evidently_fixture_frame(3000, seed=1, shift=0), 3)
    cur = _with_people(evidently_fixture_frame(3000, seed=2, shift=1), 4)
    private = {**PRIVATE, "postcode": "personal", "notes": "text"}
    public, sketches = private_sketches(ref, private)
    fitted = DriftDetector().fit(public, sketches=sketches)
    fitted.save(tmp_path)
    loaded = DriftDetector.load(tmp_path)
    assert pd.read_parquet(tmp_path / "reference.parquet").columns.tolist() == ["band", "hours"]
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for value in [*ref["postcode"].unique(), *ref["notes"]]:
        assert value.encode() not in blob
    a, b = fitted.detect(cur), loaded.detect(cur)
    assert [c.to_dict() for c in a.columns] == [c.to_dict() for c in b.columns]
    # a personal-data category without its labels, and free text, are not compared
    assert loaded.profile_.skipped["postcode"].startswith("personal data")
    assert loaded.profile_.skipped["notes"].startswith("free text")
    assert {c.column for c in a.columns} == set(ref.columns) - {"postcode", "notes"}


def test_a_sketch_never_holds_a_raw_value() -> None:
    notes = pd.Series(["Called Mr Ophelius Brandt at home", None, "no answer"] * 30)
    postcodes = pd.Series(["SW1A 1AA", "M1 1AE", "B33 8TH"] * 30)
    doc = json.dumps(
        [
            sketch_column(notes, "text", "text"),
            sketch_column(notes, "categorical", "text"),  # a repeated note is still text
            sketch_column(postcodes, "categorical", "personal"),
        ]
    )
    for value in ["Ophelius", "no answer", "SW1A", "M1 1AE", "B33"]:
        assert value not in doc
    text = sketch_column(notes, "text", "text")
    assert text["n"] == 60 and sum(text["words"]["counts"]) == 60
    with pytest.raises(Exception, match="not known"):
        sketch_column(notes, "text", "secret")


def test_build_reference_scores_groups_and_typical_values() -> None:
    rng = np.random.default_rng(0)
    n = 500
    sample = pd.DataFrame(
        {
            "tenure": rng.normal(5, 2, n),
            "age": rng.integers(18, 90, n),
            "sex": rng.choice(["F", "M"], n),
            "postcode": [f"QX{i % 25} 1ZZ" for i in range(n)],
            "notes": [f"Spoke to Hephzibah{i}" for i in range(n)],
        }
    )
    outputs = pd.DataFrame({"score": rng.uniform(0, 1, n)})
    outputs["decision"] = (outputs["score"] >= 0.5).astype(int)
    public, doc = build_reference(
        sample,
        features=list(sample.columns),
        roles={"tenure": "numeric", "age": "numeric", "sex": "categorical", "notes": "text"},
        private={"age": "protected", "sex": "protected", "postcode": "personal", "notes": "text"},
        outputs=outputs,
        protected={"age": "age", "sex": "sex"},
    )
    assert list(public.columns) == ["tenure"]
    text = json.dumps(doc)
    assert "Hephzibah" not in text and "QX1 1ZZ" not in text
    assert doc["typical"]["age"] == float(sample["age"].median())
    assert doc["typical"]["postcode"] is None and doc["typical"]["notes"] == ""
    sex = doc["fairness"]["sex"]
    assert sex["groups"] == ["F", "M"] and sum(sex["n"]) == n
    chosen = outputs["decision"].to_numpy() == 1
    assert sex["selected"][0] == int(chosen[(sample["sex"] == "F").to_numpy()].sum())
    assert len(doc["fairness"]["age"]["band_edges"]) == 5
    assert doc["outputs"]["score"] == [float(v) for v in outputs["score"]]


def test_a_reference_of_private_columns_only_still_profiles() -> None:
    ref = evidently_fixture_frame(3000, seed=1, shift=0)[["age", "region"]]
    cur = evidently_fixture_frame(3000, seed=2, shift=1)[["age", "region"]]
    public, sketches = private_sketches(ref, {"age": "protected", "region": "special"})
    assert public.shape == (3000, 0)
    a = DriftDetector().fit(ref).detect(cur)
    b = DriftDetector(columns=["age", "region"]).fit(public, sketches=sketches).detect(cur)
    assert [c.to_dict() for c in a.columns] == [c.to_dict() for c in b.columns]
