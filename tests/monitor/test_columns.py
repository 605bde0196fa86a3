"""Issue 20: missing values count on both sides; dates, free text, ids and masked columns are
left out of drift with the reason, never compared as categories or against ``[redacted]``.

Bundles are made by hand (a reference and a contract, no model: a regression bundle needs no
scoring) and the log is a frame shaped as ``civicml serve`` writes it. Each test also runs the
naive comparison the issue describes, to show the case would have drifted without the rule.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from civicml.monitor import DriftDetector, monitor_model

BANDS = ["A", "B", "C"]


def _band(n: int, missing: Any, *, share_missing: float = 0.1, seed: int = 0) -> np.ndarray:
    """``n`` bands at 40/30/20% plus ``share_missing`` of ``missing``, in shuffled order."""
    counts = np.round(np.array([0.4, 0.3, 0.2]) / 0.9 * (1 - share_missing) * n).astype(int)
    values = [v for b, c in zip(BANDS, counts, strict=True) for v in [b] * c]
    values += [missing] * (n - len(values))
    out = np.array(values, dtype=object)
    np.random.default_rng(seed).shuffle(out)
    return out


def _bundle(dest: Path, table: pd.DataFrame, roles: dict[str, str], **docs: Any) -> Any:
    from civicml.bundle import save_bundle

    documents: dict[str, Any] = {
        "model_info.json": {"name": "m", "task": "regression", "features": list(roles)},
        "contract.json": {"columns": [{"name": c, "role": r} for c, r in roles.items()]},
        **{f"{k}.json": v for k, v in docs.items()},
    }
    return save_bundle(dest, documents=documents, tables={"reference.parquet": table})


def _log(frame: pd.DataFrame) -> pd.DataFrame:
    start = pd.Timestamp("2025-03-01", tz="UTC")
    times = start + pd.to_timedelta(np.arange(len(frame)) * 600, unit="s")
    return frame.assign(request_id=[f"r{i}" for i in range(len(frame))], time=times)


def test_missing_values_count_on_both_sides(tmp_path: Path) -> None:
    """The issue's case: the reference keeps missing as the string pandas writes ('<NA>'),
    the log as null; the shares are the same, so the column has not drifted."""
    ref = pd.DataFrame({"band": _band(2000, "<NA>"), "x": np.linspace(0, 1, 2000)})
    cur = pd.DataFrame({"band": _band(401, None, seed=1), "x": np.linspace(0, 1, 401)})
    bundle = _bundle(tmp_path / "b", ref, {"band": "categorical", "x": "numeric"})

    # the attack: counted in the reference, dropped from current traffic
    naive = DriftDetector().fit(ref[["band"]]).detect(cur[["band"]])["band"]
    assert naive.stattest == "jensenshannon" and naive.drifted and naive.score > 0.1

    band = monitor_model(bundle, _log(cur)).drift["band"]  # type: ignore[union-attr]
    assert band.stattest == "jensenshannon" and not band.drifted
    assert band.score < 0.01
    shares = dict(zip(band.distribution["labels"], band.distribution["current"], strict=True))
    assert shares["(missing)"] == pytest.approx(0.1, abs=0.005)


def test_a_change_in_the_missing_share_is_drift(tmp_path: Path) -> None:
    ref = pd.DataFrame({"band": _band(2000, None), "x": np.linspace(0, 1, 2000)})
    cur = pd.DataFrame(
        {"band": _band(401, None, share_missing=0.5, seed=1), "x": np.linspace(0, 1, 401)}
    )
    bundle = _bundle(tmp_path / "b", ref, {"band": "categorical", "x": "numeric"})
    # dropping missing values on both sides hides it: the other shares are unchanged
    assert not DriftDetector().fit(ref[["band"]]).detect(cur[["band"]])["band"].drifted
    assert monitor_model(bundle, _log(cur)).drift["band"].drifted  # type: ignore[union-attr]


def test_a_private_sketch_counts_missing_values_too(tmp_path: Path) -> None:
    """A protected characteristic kept as category shares (reference.json) with missing ones."""
    from civicml.monitor import build_reference

    sample = pd.DataFrame({"sex": _band(1500, None), "x": np.linspace(0, 1, 1500)})
    roles = {"sex": "categorical", "x": "numeric"}
    public, doc = build_reference(
        sample, features=list(roles), roles=roles, private={"sex": "protected"}
    )
    assert doc["columns"]["sex"]["n_missing"] == 150
    bundle = _bundle(tmp_path / "b", public, roles, reference=doc)
    same = pd.DataFrame({"sex": _band(401, None, seed=2), "x": np.linspace(0, 1, 401)})
    sex = monitor_model(bundle, _log(same)).drift["sex"]  # type: ignore[union-attr]
    assert not sex.drifted and "(missing)" in sex.distribution["labels"]
    none_missing = same.assign(sex=_band(401, "A", share_missing=0.1, seed=2))
    moved = monitor_model(bundle, _log(none_missing)).drift["sex"]  # type: ignore[union-attr]
    assert moved.drifted  # every missing answer became 'A'


def _cases(n: int, *, year: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "case_id": [f"C{year}-{i:05d}" for i in range(n)],
            "tenure": np.linspace(0, 20, n),
            "band": _band(n, None, seed=seed),
            "opened": [
                (dt.date(year, 2, 1) + dt.timedelta(days=int(d))).isoformat()
                for d in rng.integers(0, 28, n)
            ],
            "notes": rng.choice(["rang twice", "letter sent", "visit booked"], n),
            "postcode": rng.choice(["QZ1 7WX", "QZ2 8WY"], n),
            "religion": rng.choice(["none", "christian", "muslim"], n),
        }
    )


ROLES = {
    "case_id": "id",
    "tenure": "numeric",
    "band": "categorical",
    "opened": "date",
    "notes": "text",
    "postcode": "categorical",
    "religion": "categorical",
}


@pytest.mark.parametrize("new_format", [False, True])
def test_dates_text_ids_and_masked_columns_are_left_out(tmp_path: Path, new_format: bool) -> None:
    """A year later, as served: dates all new, notes and postcodes redacted, religion
    pseudonymised. None of that is drift; each is named with its reason."""
    from civicml.monitor import build_reference

    sample = _cases(800, year=2024, seed=0)
    spec = {
        "columns": {"id": ["case_id"], "text": ["notes"], "date": ["opened"]},
        "personal_data": {"allow": ["postcode"]},
    }
    docs: dict[str, Any] = {"spec": spec}
    table = sample
    if new_format:
        private = {"notes": "text", "postcode": "personal", "religion": "special"}
        table, docs["reference"] = build_reference(
            sample, features=list(ROLES), roles=ROLES, private=private
        )
    bundle = _bundle(tmp_path / "b", table, ROLES, **docs)
    served = _cases(400, year=2025, seed=1)
    # the attack: the dates taken as categories, and the masks compared with training values
    naive = (
        DriftDetector()
        .fit(sample[["opened", "religion"]])
        .detect(served[["opened"]].assign(religion=["pn_" + f"{i % 3:032x}" for i in range(400)]))
    )
    assert naive["opened"].drifted and naive["religion"].drifted
    served["notes"] = "[redacted]"
    served["postcode"] = "[redacted]"
    served["religion"] = ["pn_" + f"{i % 3:032x}" for i in range(400)]

    report = monitor_model(bundle, _log(served))
    assert report.drift is not None
    assert [c.column for c in report.drift.columns] == ["tenure", "band"]
    assert not report.drift.dataset_drift and report.drift.n_drifted == 0
    left = report.left_out
    assert set(left) == {"case_id", "opened", "notes", "postcode", "religion"}
    assert left["opened"].startswith("a date") and left["notes"].startswith("free text")
    assert left["case_id"].startswith("an identifier")
    assert "pseudonymised" in left["religion"]
    assert "redacted" in left["postcode"] or "labels not kept" in left["postcode"]
    verdict = report.verdict
    assert verdict.message.startswith("0 of 2 input columns drifted")
    assert verdict.left_out == left
    text = report.render()
    assert "not compared: opened: a date" in text


def test_old_bundles_keep_personal_columns_as_distributions(tmp_path: Path) -> None:
    """An older bundle's raw postcodes and notes are turned into sketches when read."""
    from civicml.monitor import MonitorInputs

    spec = {"columns": {"text": ["notes"]}, "personal_data": {"allow": ["postcode"]}}
    bundle = _bundle(tmp_path / "b", _cases(300, year=2024, seed=0), ROLES, spec=spec)
    inputs = MonitorInputs.from_bundle(bundle)
    assert "postcode" not in inputs.reference.columns and "notes" not in inputs.reference.columns
    assert inputs.sketches["postcode"]["categories"] is None
    assert "QZ1" not in str(inputs.sketches)
