"""Scoring rows with a bundle: prediction, probability and the decision at the bundle's threshold.

Used by ``civicml predict`` and by the serving process, so it imports no training code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import DataError
from civicml.bundle._bundle import Bundle

__all__ = ["Predictor", "iter_batches"]


class Predictor:
    """Score DataFrames with a loaded bundle.

    Output columns: ``prediction``; for classifiers ``probability`` (of the predicted class) and
    one ``proba_<class>`` column per class; for binary models ``score`` (probability of the
    positive class) and ``decision`` (1 when ``score`` ≥ the bundle's threshold).

    Clustering bundles give ``prediction`` and ``cluster`` (the cluster number, 0 the largest
    training cluster) and ``cluster_name``; anomaly bundles give ``anomaly_score`` (higher is
    stranger), ``is_anomaly`` (1 when the score is above the bundle's threshold, also in
    ``prediction``) and ``reasons`` (the features furthest from a typical training row).
    """

    def __init__(self, bundle: Bundle) -> None:
        info = bundle.info
        self.bundle = bundle
        self.model = bundle.model
        self.task: str = info.get("task", "regression")
        self.features: list[str] = list(info.get("features", []))
        self.classes: list[Any] = list(info.get("classes", []))
        self.threshold: float | None = info.get("threshold")
        self.id_columns: list[str] = list(info.get("id_columns", []))
        self.clusters: list[dict[str, Any]] = list(info.get("clusters", []))
        self.anomaly: dict[str, Any] = dict(info.get("anomaly") or {})

    def check_columns(self, frame: pd.DataFrame, *, where: str = "the input") -> None:
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise DataError.build(
                f"{where} lacks {len(missing)} column(s) the model needs: {missing[:10]}",
                expected=f"columns {self.features[:20]}",
                got=list(map(str, frame.columns[:20])),
                fix="Add the missing columns (blank values are allowed) and try again",
            )

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predictions for every row of ``frame`` (index preserved)."""
        self.check_columns(frame)
        X = frame[self.features]
        out = pd.DataFrame(index=frame.index)
        if self.task == "regression":
            out["prediction"] = np.asarray(self.model.predict(X), dtype=float)
            return out
        if self.task == "clustering":
            k = np.asarray(self.model.predict(X), dtype=np.int64)
            names = {int(c["cluster"]): str(c["name"]) for c in self.clusters}
            out["prediction"] = k
            out["cluster"] = k
            out["cluster_name"] = [names.get(int(v), f"Cluster {v}") for v in k]
            return out
        if self.task == "anomaly":
            from civicml.components import anomaly_reasons

            score = -np.asarray(self.model.score_samples(X), dtype=float)
            flag = (score > float(self.threshold or 0.0)).astype(np.int64)
            out["prediction"] = flag
            out["anomaly_score"] = score
            out["is_anomaly"] = flag
            out["reasons"] = anomaly_reasons(
                X.reset_index(drop=True),
                self.anomaly.get("reference") or {},
                max_reasons=int(self.anomaly.get("max_reasons", 3)),
            )
            return out
        proba = np.asarray(self.model.predict_proba(X), dtype=float)
        classes = np.asarray(self.classes, dtype=object)
        if self.task == "binary":
            score = proba[:, 1]
            t = 0.5 if self.threshold is None else float(self.threshold)
            decision = (score >= t).astype(int)
            out["prediction"] = np.where(decision == 1, classes[1], classes[0])
            out["score"] = score
            out["decision"] = decision
        else:
            out["prediction"] = classes[np.argmax(proba, axis=1)]
        out["probability"] = proba.max(axis=1)
        for j, c in enumerate(classes):
            out[f"proba_{c}"] = proba[:, j]
        return out


def iter_batches(path: str | Path, batch_rows: int = 50_000) -> Iterator[pd.DataFrame]:
    """Read a CSV or Parquet file in batches of rows (bounded memory)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(p)
        for batch in pf.iter_batches(batch_size=batch_rows):
            yield batch.to_pandas()
        return
    if suffix in (".csv", ".txt", ".tsv"):
        from civicml.data import sniff_csv

        encoding, delimiter = sniff_csv(p)
        yield from pd.read_csv(p, chunksize=batch_rows, sep=delimiter, encoding=encoding)
        return
    raise DataError.build(
        f"Cannot score {str(p)!r} in batches",
        expected="a .csv or .parquet file",
        got=suffix or p.name,
        fix="Convert the file to CSV or Parquet",
    )
