from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from civicml.data import file_sha256, frame_sha256


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    data = np.random.default_rng(0).bytes(3 * 1024 * 1024 + 7)
    p = tmp_path / "blob.bin"
    p.write_bytes(data)
    assert file_sha256(p) == hashlib.sha256(data).hexdigest()
    assert file_sha256(p, chunk_size=1000) == hashlib.sha256(data).hexdigest()


def test_frame_sha256_is_content_based() -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", None, "z"], "c": [0.1, np.nan, 2.0]})
    h = frame_sha256(df)
    assert len(h) == 64
    assert frame_sha256(df.copy()) == h
    assert frame_sha256(df.set_index(pd.Index([7, 8, 9]))) == h
    assert frame_sha256(df.assign(c=[0.1, np.nan, 2.5])) != h
    assert frame_sha256(df.rename(columns={"a": "A"})) != h
    assert frame_sha256(df.astype({"a": "float64"})) != h
    assert frame_sha256(df.iloc[::-1]) != h


def test_frame_sha256_odd_cells() -> None:
    df = pd.DataFrame({"tags": [["a"], ["b", "c"]], "n": [1, 2]})
    assert frame_sha256(df) == frame_sha256(df.copy())
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    assert len(frame_sha256(dup)) == 64
