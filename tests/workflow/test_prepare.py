"""Preparing the training table: a data file too large for memory is sampled by DuckDB for the
search and the final model, the sample's size and method are recorded in the lineage, and the
contract is learned from every row."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _big_project(folder: Path, n: int = 1200) -> object:
    from civicml.spec import spec_from_dict

    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": x,
            "paid": rng.choice(["yes", "no"], size=n),
            "y": np.where(x + rng.normal(scale=0.5, size=n) > 1.0, "rare", "common"),
        }
    )
    frame.loc[n - 1, "x"] = 99.0  # the range must come from every row, not the sample
    frame.to_csv(folder / "big.csv", index=False)
    return spec_from_dict(
        {
            "name": "big",
            "data": {"path": "big.csv"},
            "target": "y",
            "task": "binary",
            "personal_data": {"scan": False},
        },
        base_dir=folder,
    )


def test_a_large_file_is_sampled_and_the_sample_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import civicml.data._outofcore as ooc
    import civicml.workflow._prepare as prep
    from civicml.workflow._recording import lineage

    spec = _big_project(tmp_path)
    monkeypatch.setattr(ooc, "STREAM_BYTES", 1_000)  # this 30 KB file counts as "large"
    monkeypatch.setattr(prep, "SAMPLE_ROWS", 400)
    events: list[tuple[str, dict]] = []
    got = prep.prepare_table(
        spec,
        None,
        None,
        lambda kind, **kw: events.append((kind, kw)),
        check_target="y",
        check_task="binary",
    )
    assert len(got.frame) == 400
    assert (got.frame["y"] == "rare").mean() == pytest.approx(0.125, abs=0.05)  # stratified
    data = lineage(spec, got.etl, got.frame, None, time.monotonic())["data"]
    assert data["rows"] == 400 and data["sources"][0]["rows"] == 1200
    (step,) = data["steps"]
    assert (step["kind"], step["rows_in"], step["rows_out"]) == ("sample", 1200, 400)
    assert step["note"].startswith("class-stratified reservoir sample by DuckDB, seed 0")
    assert got.contract.n_rows == 1200 and got.contract.column("x").max == 99.0
    assert got.contract.column("paid").dtype == "string"  # yes/no: text, as in memory
    warned = [kw["message"] for kind, kw in events if kind == "warning"]
    assert "1,200 rows, more than fit in memory" in warned[0]
    assert "400 rows" in got.warnings[0]
    # the same draw every time (seeded), so a rerun trains on the same rows
    again = prep.prepare_table(spec, None, None, lambda *a, **k: None, check_target="y",
                               check_task="binary")  # fmt: skip
    assert again.frame.equals(got.frame)


def test_a_small_file_is_loaded_whole(tmp_path: Path) -> None:
    import civicml.workflow._prepare as prep

    spec = _big_project(tmp_path, n=300)
    got = prep.prepare_table(
        spec, None, None, lambda *a, **k: None, check_target="y", check_task="binary"
    )
    assert len(got.frame) == 300 and got.etl.steps == []
    assert not any("DuckDB" in w for w in got.warnings)
