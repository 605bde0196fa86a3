from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civicml._errors import DataError, NotFittedError, SpecError
from civicml.monitor import ChunkedMonitor, iter_chunks


def _reference(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, 4000),
            "c": rng.choice(np.array(["a", "b", "c"]), 4000, p=[0.5, 0.3, 0.2]),
        }
    )


def _current(shifted_chunks: set[int], n_chunks: int = 10, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_chunks):
        shift = 1.0 if i in shifted_chunks else 0.0
        parts.append(
            pd.DataFrame(
                {
                    "x": rng.normal(shift, 1, 200),
                    "c": rng.choice(np.array(["a", "b", "c"]), 200, p=[0.5, 0.3, 0.2]),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_one_chunk_outside_is_noted_but_not_an_alert() -> None:
    monitor = ChunkedMonitor(chunk_size=200).fit(_reference())
    result = monitor.detect(_current({3}))
    x = result.table[result.table["column"] == "x"]
    assert bool(x["out_of_bounds"].iloc[3])
    assert not x["alert"].any()
    assert result.alerts == []


def test_two_consecutive_chunks_alert() -> None:
    result = ChunkedMonitor(chunk_size=200).fit(_reference()).detect(_current({6, 7}))
    x = result.table[result.table["column"] == "x"].reset_index(drop=True)
    assert x.index[x["alert"]].tolist() == [7]
    assert result.alerting_columns == ["x"]
    first = result.alerts[0]
    assert first["chunk"] == 7 and first["value"] > first["upper"]
    assert (
        ChunkedMonitor(chunk_size=200, consecutive=3)
        .fit(_reference())
        .detect(_current({6, 7}))
        .alerts
        == []
    )


def test_categorical_share_shift_alerts() -> None:
    rng = np.random.default_rng(5)
    cur = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 2000),
            "c": rng.choice(np.array(["a", "b", "c"]), 2000, p=[0.2, 0.3, 0.5]),
        }
    )
    result = ChunkedMonitor(chunk_size=200).fit(_reference()).detect(cur)
    assert result.alerting_columns == ["c"]
    c = result.table[result.table["column"] == "c"]
    assert (c["lower"] >= 0).all()


def test_no_alerts_without_drift_across_seeds() -> None:
    alerts = 0
    for seed in range(20):
        monitor = ChunkedMonitor(chunk_size=200).fit(_reference(seed))
        alerts += len(monitor.detect(_current(set(), seed=100 + seed)).alerts)
    assert alerts <= 1


def test_time_window_chunks() -> None:
    rng = np.random.default_rng(0)
    n = 24 * 60
    times = pd.date_range("2025-01-01", periods=n, freq="h", tz="UTC")
    ref = pd.DataFrame({"time": times, "x": rng.normal(0, 1, n)})
    cur_times = pd.date_range("2025-03-01", periods=10 * 24, freq="h", tz="UTC")
    x = rng.normal(0, 1, len(cur_times))
    x[-48:] += 1.5  # last two days
    cur = pd.DataFrame({"time": cur_times, "x": x})
    result = ChunkedMonitor(freq="1D").fit(ref).detect(cur)
    table = result.table
    assert len(table) == 10
    assert table["alert"].tolist() == [False] * 9 + [True]
    assert str(table["start"].iloc[-1]).startswith("2025-03-10")


def test_chunking_errors() -> None:
    with pytest.raises(SpecError, match="exactly one"):
        list(iter_chunks(pd.DataFrame({"a": [1]})))
    with pytest.raises(DataError, match="time column"):
        list(iter_chunks(pd.DataFrame({"a": [1]}), freq="1D"))
    with pytest.raises(DataError, match="at least 2 reference chunks"):
        ChunkedMonitor(chunk_size=5000).fit(_reference())
    with pytest.raises(NotFittedError):
        ChunkedMonitor(chunk_size=10).detect(_reference())
