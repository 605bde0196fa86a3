"""Late ground-truth labels: validate a delivered file and keep it, idempotent by key.

Labels arrive after the decision (a claim is paid, an appeal is decided). ``civicml monitor
labels FILE --model NAME`` reads the file (CSV, Parquet, Excel or JSON lines), checks it, and
merges it into ``.civicml/labels/NAME/labels-<key>.parquet``: one row per key, a re-delivered key
replacing its earlier label (a correction). The next ``civicml monitor NAME`` run joins them to
the decision log and reports realised performance.

Examples
--------
>>> import tempfile, pandas as pd
>>> root = tempfile.mkdtemp()
>>> first = store_labels(pd.DataFrame({"request_id": ["a", "b"], "label": ["yes", "no"]}),
...                      "claims", labels_dir=root)
>>> (first.received, first.added, first.replaced, first.total)
(2, 2, 0, 2)
>>> again = store_labels(pd.DataFrame({"request_id": ["b"], "label": ["yes"]}), "claims",
...                      labels_dir=root)
>>> (again.added, again.replaced, again.total)
(0, 1, 2)
>>> read_labels("claims", labels_dir=root)[0].sort_values("request_id")["label"].tolist()
['yes', 'yes']
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from civicml._errors import DataError, SpecError
from civicml._files import create_private_dir, make_private

__all__ = ["LabelDelivery", "labels_folder", "read_labels", "store_labels"]

LABEL = "label"
RECEIVED = "received_at"
_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


@dataclass(frozen=True)
class LabelDelivery:
    """What one delivery did: rows received, keys added and replaced, and the stored total."""

    path: Path
    key: str
    received: int
    added: int
    replaced: int
    total: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "path": str(self.path),
            "key": self.key,
            "received": self.received,
            "added": self.added,
            "replaced": self.replaced,
            "total": self.total,
        }


def labels_folder(
    model: str, *, project_dir: str | Path = ".", labels_dir: str | Path | None = None
) -> Path:
    """Where a model's labels live: ``labels_dir/NAME`` (default ``.civicml/labels/NAME``)."""
    from civicml.registry import check_model_name

    check_model_name(model)
    base = Path(labels_dir) if labels_dir is not None else Path(project_dir) / ".civicml" / "labels"
    return base / model


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise SpecError.build(
            "The labels key is not a plain column name",
            expected="letters, digits, '_', '.' or '-'",
            got=key,
            fix="Pass --key request_id, or the name of a logged input column.",
        )
    return key


def store_labels(
    source: str | Path | pd.DataFrame,
    model: str,
    *,
    key: str = "request_id",
    label_column: str = LABEL,
    project_dir: str | Path = ".",
    labels_dir: str | Path | None = None,
) -> LabelDelivery:
    """Validate delivered labels and merge them into the model's label store.

    Parameters
    ----------
    source : path or pandas.DataFrame
        The delivered file (read with :func:`civicml.data.read_table`) or a frame.
    model : str
        Registered model name; labels are kept per model.
    key : str
        Column that joins a label to its decision: ``request_id`` (the ``X-Request-ID`` the
        service returned) or a logged input column declared as the business key.
    label_column : str
        Column holding the ground truth; stored as ``label``.

    Returns
    -------
    LabelDelivery

    Raises
    ------
    DataError
        The file lacks the key or label column, a key is blank, or one key has two labels.
    """
    key = _check_key(key)
    where = "the labels frame"
    if isinstance(source, pd.DataFrame):
        frame = source
    else:
        from civicml.data import read_table

        frame = read_table(source)
        where = str(source)
    missing = [c for c in (key, label_column) if c not in frame.columns]
    if missing:
        raise DataError.build(
            f"The labels in {where} lack the column(s) {missing!r}",
            expected=f"columns {key!r} and {label_column!r}",
            got=[str(c) for c in frame.columns[:12]],
            fix="Name the columns with --key and --label-column.",
        )
    data = frame[[key, label_column]].rename(columns={label_column: LABEL})
    blank_key = data[key].isna() | (data[key].astype(str).str.strip() == "")
    if blank_key.any():
        raise DataError.build(
            f"{int(blank_key.sum())} row(s) of {where} have no {key!r}",
            expected="a key on every row",
            got=int(blank_key.sum()),
            fix="Remove the rows or fill in their key, then deliver the file again.",
        )
    data = data[data[LABEL].notna()]
    if data.empty:
        raise DataError.build(
            f"The labels in {where} are all blank",
            expected=f"values in {label_column!r}",
            fix="Deliver labels once the outcomes are known.",
        )
    data = data.assign(**{key: data[key].astype(str)})
    conflicting = data.groupby(key)[LABEL].nunique()
    conflicting = conflicting[conflicting > 1]
    if len(conflicting):
        raise DataError.build(
            f"{len(conflicting)} key(s) in {where} carry two different labels",
            expected="one label per key",
            got=conflicting.index[:5].tolist(),
            fix="Keep the correct label for each key and deliver the file again.",
        )
    data = data.drop_duplicates(subset=[key], keep="last")
    data[RECEIVED] = pd.Timestamp(_dt.datetime.now(_dt.UTC))
    folder = labels_folder(model, project_dir=project_dir, labels_dir=labels_dir)
    create_private_dir(folder)
    path = folder / f"labels-{key}.parquet"
    added, replaced = len(data), 0
    if path.exists():
        old = pd.read_parquet(path)
        old = old.assign(**{key: old[key].astype(str)})
        seen = data[key].isin(set(old[key]))
        replaced, added = int(seen.sum()), int((~seen).sum())
        if old[LABEL].dtype != data[LABEL].dtype:
            old[LABEL] = old[LABEL].astype(str)
            data[LABEL] = data[LABEL].astype(str)
        data = pd.concat([old[~old[key].isin(set(data[key]))], data], ignore_index=True)
    tmp = path.with_suffix(".tmp")
    data.reset_index(drop=True).to_parquet(tmp, index=False)
    make_private(tmp)
    os.replace(tmp, path)
    return LabelDelivery(path, key, int(len(frame)), added, replaced, int(len(data)))


def read_labels(
    model: str, *, project_dir: str | Path = ".", labels_dir: str | Path | None = None
) -> list[pd.DataFrame]:
    """Every stored label frame of ``model`` (one per key), each ``[key, label, received_at]``."""
    folder = labels_folder(model, project_dir=project_dir, labels_dir=labels_dir)
    return [pd.read_parquet(p) for p in sorted(folder.glob("labels-*.parquet"))]
