"""The decision log: nothing reversible, private files, enforced retention."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from serve._support import ROW, auth, make_bundle

# every candidate the attacker tries, the real ones among them
CANDIDATES = [
    f"{a}{n} {m}{b}"
    for a in ("AB", "EF", "SW")
    for n in range(1, 10)
    for m in range(10)
    for b in ("CD", "GH", "AA")
]
REAL = ["AB1 2CD", "EF3 4GH", "SW1 1AA"]


@pytest.fixture()
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def _serve(bundle: Path, verifier: Any, log: Path, rows: list[dict[str, Any]]) -> Any:
    from starlette.testclient import TestClient

    from civicml.serve import ServeOptions, create_app, read_decision_log

    app = create_app(
        bundle, verifier=verifier, decision_log=log, poll_seconds=0, options=ServeOptions()
    )
    with TestClient(app) as c:
        for row in rows:
            assert c.post("/predict", json=row, headers=auth()).status_code == 200
        names = app.holder.runtime.schema.names
    return read_decision_log(log), names


def _values(row: Any, names: list[str], postcode: str) -> bytes:
    values = [postcode if c == "postcode" else row[c] for c in names]
    values = [v.item() if hasattr(v, "item") else v for v in values]
    return orjson.dumps(values)


def test_redacted_postcodes_cannot_be_recovered(
    bundle_dir: Path, verifier: Any, tmp_path: Path, umask_022: None
) -> None:
    log = tmp_path / "decisions" / "claims"
    rows = [{**ROW, "postcode": p, "age": 30 + i} for i, p in enumerate(REAL)]
    df, names = _serve(bundle_dir, verifier, log, rows)
    assert "input_sha256" not in df.columns and (df["postcode"] == "[redacted]").all()
    key = (tmp_path / "decisions" / ".claims.key").read_bytes().strip()
    for _, row in df.iterrows():
        # the attack that worked on an unsalted hash: try every candidate, hash, match
        unkeyed = {
            p
            for p in CANDIDATES
            if hashlib.sha256(_values(row, names, p)).hexdigest() == row["input_hmac"]
        }
        assert unkeyed == set()
        # the log is not reversible without the key, which lives outside the log folder ...
        keyed = {
            p
            for p in CANDIDATES
            if hmac.new(key, _values(row, names, p), "sha256").hexdigest() == row["input_hmac"]
        }
        assert len(keyed) == 1  # ... (the reconstruction is exact: with the key it matches)
    assert not any(p.name.endswith(".key") for p in log.rglob("*"))
    # private whatever the umask: folders 0700, files 0600, the key too
    assert {_mode(p) for p in [log, *log.rglob("*")] if p.is_dir()} == {"0o700"}
    assert {_mode(p) for p in log.rglob("*") if p.is_file()} == {"0o600"}
    assert _mode(tmp_path / "decisions" / ".claims.key") == "0o600"
    assert _mode(tmp_path / "decisions") == "0o700" and (log / "review_queue.db").is_file()


def test_key_from_the_environment(
    bundle_dir: Path, verifier: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml import SpecError
    from civicml.serve._log_key import load_log_key

    secret = "s" * 40
    monkeypatch.setenv("CIVICML_LOG_KEY", secret)
    df, names = _serve(bundle_dir, verifier, tmp_path / "log", [ROW])
    assert not (tmp_path / ".log.key").exists()
    row = df.iloc[0]
    expected = hmac.new(secret.encode(), _values(row, names, ROW["postcode"]), "sha256")
    assert row["input_hmac"] == expected.hexdigest()
    monkeypatch.setenv("CIVICML_LOG_KEY", "short")
    with pytest.raises(SpecError, match="too short"):
        load_log_key(tmp_path / "log")
    monkeypatch.delenv("CIVICML_LOG_KEY")
    (tmp_path / "k").write_text("x" * 64)
    monkeypatch.setenv("CIVICML_LOG_KEY_FILE", str(tmp_path / "k"))
    assert load_log_key(tmp_path / "log") == b"x" * 64


def test_special_category_columns_are_pseudonymised(verifier: Any, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    make_bundle(bundle, special_category={"region": "racial-or-ethnic-origin"})
    rows = [{**ROW, "region": r} for r in ("N", "S", "N")]
    df, _ = _serve(bundle, verifier, tmp_path / "log", rows)
    regions = list(df["region"])
    assert all(str(r).startswith("pn_") for r in regions)
    assert regions[0] == regions[2] != regions[1]  # groups still comparable, names hidden
    assert (df["postcode"] == "[redacted]").all() and list(df["age"]) == [60, 60, 60]


def _part(folder: Path, when: dt.datetime, n: int) -> Path:
    import pandas as pd

    stamp = when.strftime("%Y%m%dT%H%M%S%f")
    path = folder / "predictions" / f"part-{stamp}-1-{n:06d}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"case_id": [f"c{n}"], "time": [when], "age": [30]}).to_parquet(path)
    return path


def test_retention_deletes_old_parts_and_records_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml import SpecError
    from civicml.serve import DecisionLog, read_decision_log
    from civicml.serve._retention import read_deletions

    now = dt.datetime.now(dt.UTC)
    old = _part(tmp_path, now - dt.timedelta(days=40), 1)
    new = _part(tmp_path, now - dt.timedelta(days=2), 2)
    audited: list[dict[str, Any]] = []
    monkeypatch.setenv("CIVICML_LOG_RETENTION_DAYS", "30")
    log = DecisionLog(tmp_path, on_delete=audited.append).start()  # applied at start
    log.flush()
    log.close()
    assert not old.exists() and new.exists()
    assert list(read_decision_log(tmp_path)["case_id"]) == ["c2"]
    (record,) = read_deletions(tmp_path)
    assert record["file"] == f"predictions/{old.name}" and record["rows"] == 1
    assert audited == [record] and _mode(tmp_path / "deletions.jsonl") == "0o600"
    DecisionLog(tmp_path, retention_days=1).start().close()
    assert not new.exists() and len(read_deletions(tmp_path)) == 2
    monkeypatch.setenv("CIVICML_LOG_RETENTION_DAYS", "forever")
    with pytest.raises(SpecError, match="retention"):
        DecisionLog(tmp_path)
    with pytest.raises(SpecError, match="positive number of days"):
        DecisionLog(tmp_path, retention_days=0)


def test_logs_written_before_still_read(tmp_path: Path) -> None:
    import pandas as pd

    from civicml.serve import read_decision_log

    (tmp_path / "predictions").mkdir()
    (tmp_path / "reviews").mkdir()
    when = pd.Timestamp("2024-01-01", tz="UTC")
    pd.DataFrame(
        {
            "request_id": ["r1", "r2"],
            "time": [when, when],
            "input_sha256": ["a", "b"],
            "decision": [1, 0],
        }
    ).to_parquet(tmp_path / "predictions" / "part-20240101T000000000000-1-000001.parquet")
    pd.DataFrame(
        {
            "request_id": ["r1"],
            "review_time": [when],
            "reviewer_decision": [0],
            "overridden": [True],
            "override_reason": ["old"],
            "reviewer": ["x"],
        }
    ).to_parquet(tmp_path / "reviews" / "part-20240101T000000000000-1-000002.parquet")
    df = read_decision_log(tmp_path)
    assert list(df["input_sha256"]) == ["a", "b"]
    assert list(df["overridden"].fillna(False)) == [True, False]
