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


# -- reading a log larger than memory (issue 23) -------------------------------------------


def _parts(folder: Path, n: int = 3_000, parts: int = 6) -> None:
    """``n`` decisions, 1 a minute from 1 March 2025, of two model versions (4 in 5 are "new"),
    written as the server writes them: Parquet parts under ``predictions/``."""
    import pandas as pd

    start = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    rows = pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n)],
            "request_id": [f"r{i}" for i in range(n)],
            "time": [start + dt.timedelta(minutes=i) for i in range(n)],
            "model_sha256": ["old" if i % 5 == 0 else "new" for i in range(n)],
            "age": [float(20 + i % 60) for i in range(n)],
            "score": [(i % 100) / 100 for i in range(n)],
            "decision": [i % 2 for i in range(n)],
        }
    )
    (folder / "predictions").mkdir(parents=True)
    step = n // parts
    for k in range(parts):
        rows.iloc[k * step : (k + 1) * step].to_parquet(
            folder / "predictions" / f"part-{k:03d}.parquet", index=False
        )


def test_read_filters_model_and_period_in_sql_like_the_whole_read(tmp_path: Path) -> None:
    from civicml.serve import read_decision_log

    _parts(tmp_path)
    since, until = "2025-03-01T10:00:00Z", "2025-03-02T10:00:00Z"
    whole = read_decision_log(tmp_path, since, until)
    assert "decision_log" not in whole.attrs  # the pandas path, unchanged
    expected = whole[whole["model_sha256"] == "new"].reset_index(drop=True)
    streamed = read_decision_log(tmp_path, since, until, model_sha256="new", max_rows=10_000)
    assert streamed.attrs["decision_log"] == {
        "rows_in_period": 1_440,
        "rows": 1_152,
        "rows_read": 1_152,
        "sampled": False,
        "method": "every row",
        "seed": 0,
    }
    for col in ("case_id", "time", "age", "score", "decision", "reviewer_decision"):
        assert streamed[col].tolist() == expected[col].tolist(), col
    assert str(streamed["time"].dtype) == str(expected["time"].dtype)


def test_read_samples_uniformly_reproducibly_and_joins_reviews_of_the_sample(
    tmp_path: Path,
) -> None:
    import pandas as pd

    from civicml.serve import read_decision_log

    _parts(tmp_path)
    (tmp_path / "reviews").mkdir()
    reviews = pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(1, 3_000, 2)],
            "review_time": pd.Timestamp("2025-04-01", tz="UTC"),
            "reviewer_decision": 1,
            "overridden": True,
            "override_reason": "evidence",
            "reviewer": "ops",
        }
    )
    reviews.to_parquet(tmp_path / "reviews" / "part-000.parquet", index=False)
    a = read_decision_log(tmp_path, model_sha256="new", max_rows=500)
    counts = a.attrs["decision_log"]
    assert (counts["rows"], counts["rows_in_period"], counts["rows_read"]) == (2_400, 3_000, 500)
    assert counts["sampled"] and counts["method"] == "uniform random sample"
    assert len(a) == 500 and set(a["model_sha256"]) == {"new"}
    assert a["case_id"].is_unique and a["time"].is_monotonic_increasing
    b = read_decision_log(tmp_path, model_sha256="new", max_rows=500)
    assert a["case_id"].tolist() == b["case_id"].tolist()  # the same sample each run
    other = read_decision_log(tmp_path, model_sha256="new", max_rows=500, seed=1)
    assert other["case_id"].tolist() != a["case_id"].tolist()
    # uniform over the period: each sixth of it holds about a sixth of the sample
    minute = (a["time"] - pd.Timestamp("2025-03-01", tz="UTC")).dt.total_seconds() // 60
    per_part = (minute // 500).value_counts()
    assert len(per_part) == 6 and per_part.min() > 50
    odd = a["case_id"].str[1:].astype(int) % 2 == 1  # the reviewed cases, and only those
    assert a.loc[odd, "overridden"].fillna(False).all()
    assert a.loc[~odd, "reviewer_decision"].isna().all()


def test_read_through_duckdb_of_an_empty_or_timeless_log(tmp_path: Path) -> None:
    import pandas as pd

    from civicml._errors import DataError
    from civicml.serve import read_decision_log

    empty = read_decision_log(tmp_path, model_sha256="x", max_rows=10)
    assert len(empty) == 0 and empty.attrs["decision_log"]["rows"] == 0
    (tmp_path / "predictions").mkdir()
    pd.DataFrame({"score": [0.1]}).to_parquet(tmp_path / "predictions" / "part-1.parquet")
    with pytest.raises(DataError, match="no 'time' column"):
        read_decision_log(tmp_path, model_sha256="x")


def test_the_sample_is_the_same_on_any_number_of_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml.serve import read_decision_log

    _parts(tmp_path, n=6_000, parts=12)
    picked = []
    for cores in (1, 4):
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        picked.append(read_decision_log(tmp_path, model_sha256="new", max_rows=700))
    assert len(picked[0]) == 700
    assert picked[0]["case_id"].tolist() == picked[1]["case_id"].tolist()


def test_a_logged_column_named_like_duckdbs_row_address_falls_back_to_a_reservoir(
    tmp_path: Path,
) -> None:
    import pandas as pd

    from civicml.serve import read_decision_log

    _parts(tmp_path)
    for part in (tmp_path / "predictions").glob("*.parquet"):
        pd.read_parquet(part).assign(filename="scan.pdf").to_parquet(part, index=False)
    a = read_decision_log(tmp_path, model_sha256="new", max_rows=300)
    b = read_decision_log(tmp_path, model_sha256="new", max_rows=300)
    assert len(a) == 300 and a.attrs["decision_log"]["rows"] == 2_400
    assert a["case_id"].tolist() == b["case_id"].tolist()
    assert set(a["filename"]) == {"scan.pdf"}  # the logged column, not DuckDB's
