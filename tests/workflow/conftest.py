"""A tiny two-source project that trains in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml


def write_project(folder: Path, *, n: int = 160, shift: float = 0.0, **overrides) -> Path:
    rng = np.random.default_rng(0)
    ids = [f"C{i:04d}" for i in range(n)]
    x1 = rng.normal(size=n) + shift
    region = rng.choice(["north", "south", "east"], size=n)
    y = (x1 + rng.normal(scale=0.5, size=n) > 0).astype(int)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"case_id": ids, "x1": x1, "y": y}).to_csv(folder / "cases.csv", index=False)
    pd.DataFrame({"case_id": ids, "region": [f" {r.upper()} " for r in region]}).to_csv(
        folder / "areas.csv", index=False
    )
    spec = {
        "name": "tiny",
        "sources": {"cases": {"path": "cases.csv"}, "areas": {"path": "areas.csv"}},
        "transform": [
            {"sql": "SELECT * FROM cases JOIN areas USING (case_id) ORDER BY case_id"},
            {"trim_text": ["region"]},
        ],
        "target": "y",
        "task": "binary",
        "max_trials": 1,
        "cv_folds": 2,
        "test_size": 0.25,
        "columns": {"id": ["case_id"]},
        "personal_data": {"scan": False},
        **overrides,
    }
    (folder / "civicml.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return folder / "civicml.yaml"


@pytest.fixture
def tiny_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return write_project(tmp_path / "project")
