"""Content hashes for lineage: a file's sha256 and a stable sha256 of a DataFrame's content."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

__all__ = ["file_sha256", "frame_sha256"]

_CHUNK = 1 << 20


def file_sha256(path: str | Path, *, chunk_size: int = _CHUNK) -> str:
    """Return the hex sha256 of a file, read in chunks so large files never sit in memory.

    Parameters
    ----------
    path : str or Path
        The file to hash.
    chunk_size : int, default 1 MiB
        How many bytes to read at a time.

    Returns
    -------
    str
        64 lower-case hex characters.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "a.txt")
    ...     _ = open(p, "wb").write(b"abc")
    ...     file_sha256(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk_size)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def frame_sha256(df: pd.DataFrame) -> str:
    """Return a stable sha256 of a DataFrame's content: column names, dtypes and values.

    The index is ignored (two frames with the same rows in the same order hash the same), the
    row order and column order count. Values are hashed with
    :func:`pandas.util.hash_pandas_object`, which is vectorised; cells it cannot hash (lists,
    dicts from JSON lines) are hashed through their ``repr``.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame to hash.

    Returns
    -------
    str
        64 lower-case hex characters.

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    >>> b = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}, index=[10, 11])
    >>> frame_sha256(a) == frame_sha256(b)
    True
    >>> frame_sha256(a) == frame_sha256(a.assign(x=[1, 3]))
    False
    """
    digest = hashlib.sha256()
    header = {
        "columns": [str(c) for c in df.columns],
        "dtypes": [str(t) for t in df.dtypes],
        "shape": list(df.shape),
    }
    digest.update(json.dumps(header, sort_keys=True).encode("utf-8"))
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        try:
            hashed = pd.util.hash_pandas_object(col, index=False)
        except TypeError:
            hashed = pd.util.hash_pandas_object(col.map(repr), index=False)
        digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()
