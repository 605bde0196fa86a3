"""Issue 19: the dashboard's monitoring page never shows a raw free-text or personal value.

Two bundles of one model's reference are built by hand: the old format (raw rows of every
input, notes and postcodes included, in ``reference.parquet``) and the new one (those columns
as sketches in ``reference.json``). The decision log holds notes and postcodes as a service
would if it did not redact them. Whatever the monitoring page is drawn from — the column table,
the plots and their text alternatives, the report — must not contain one of those values, and
the two formats must give the same drift.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

NOTES = [
    "Mr Bartholomew Cobb refused entry",
    "Spoke to Mrs Ingrid Vale about rent",
    "No answer at 4 Elm Row",
]
POSTCODES = ["QZ1 7WX", "QZ2 8WY", "QZ3 9WZ"]
ROLES = {
    "tenure": "numeric",
    "region": "categorical",
    "postcode": "categorical",
    "sex": "categorical",
    "notes": "text",
}


def _rows(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "tenure": rng.gamma(2.0, 3.0, n) + shift,
            "region": rng.choice(["north", "south"], n),
            "postcode": rng.choice(POSTCODES, n),
            "sex": rng.choice(["female", "male"], n),
            "notes": rng.choice(NOTES, n),  # repeated: inferred categorical by a raw detector
        }
    )


def _bundle(dest: Path, *, new_format: bool) -> Any:
    from civicml.bundle import save_bundle
    from civicml.monitor import build_reference

    sample = _rows(600, seed=0)
    documents: dict[str, Any] = {
        "model_info.json": {"name": "m", "task": "regression", "features": list(ROLES)},
        "contract.json": {"columns": [{"name": c, "role": r} for c, r in ROLES.items()]},
        "spec.json": {
            "columns": {"text": ["notes"]},
            "personal_data": {"allow": ["postcode"]},
            "protected": {"sex": "sex"},
        },
    }
    table = sample
    if new_format:
        table, documents["reference.json"] = build_reference(
            sample,
            features=list(ROLES),
            roles=ROLES,
            private={"postcode": "personal", "sex": "protected", "notes": "text"},
        )
    return save_bundle(dest, documents=documents, tables={"reference.parquet": table})


def _log(root: Path) -> Path:
    from civicml.serve import DecisionLog

    log = DecisionLog(root / "m").start()
    now = dt.datetime.now(dt.UTC)
    for i, row in enumerate(_rows(300, seed=1, shift=4.0).to_dict("records")):
        log.append({**row, "request_id": f"r{i}", "time": now, "model_version": "1"})
    log.close()
    return root


def _status(bundle: Any, log_root: Path) -> Any:
    from civicml.web import monitoring_status

    registry = SimpleNamespace(load_version=lambda ref: bundle)
    version = SimpleNamespace(name="m", version=1, digest=bundle.digest, ref="m/1")
    return monitoring_status(registry, version, log_root)  # type: ignore[arg-type]


def _page_text(status: Any) -> str:
    parts = [json.dumps(status.columns, default=str), status.message]
    parts += [p.svg + p.alt for p in status.plots]
    parts.append(json.dumps(status.report, default=str) if status.report is not None else "")
    return "\n".join(parts)


@pytest.mark.parametrize("new_format", [False, True])
def test_the_monitoring_page_shows_no_note_or_postcode(tmp_path: Path, new_format: bool) -> None:
    bundle = _bundle(tmp_path / "bundle", new_format=new_format)
    status = _status(bundle, _log(tmp_path / "logs"))
    assert status.has_data, status.message
    text = _page_text(status)
    for value in [*NOTES, *POSTCODES, "Bartholomew", "Ingrid"]:
        assert value not in text
    shown = {c["column"] for c in status.columns}
    assert shown == {"tenure", "region", "sex"}  # sex from its category shares
    assert any(c["column"] == "tenure" and c["drifted"] for c in status.columns)


def test_old_and_new_reference_formats_give_the_same_drift(tmp_path: Path) -> None:
    log_root = _log(tmp_path / "logs")
    old = _status(_bundle(tmp_path / "old", new_format=False), log_root)
    new = _status(_bundle(tmp_path / "new", new_format=True), log_root)
    assert old.columns == new.columns
