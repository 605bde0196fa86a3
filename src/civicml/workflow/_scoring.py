"""Batch scoring of a file with a verified bundle, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from civicml._errors import DataError

__all__ = ["score_file"]


def score_file(
    bundle_dir: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    batch_rows: int = 50_000,
    keep: list[str] | None = None,
    progress: Any = None,
) -> int:
    """Score ``data`` (CSV or Parquet) in batches and write ``out`` (.csv or .parquet).

    The output is written to a temporary file beside ``out`` and renamed into place, so a
    failure never leaves a half-written file. Returns the number of rows scored.
    """
    from civicml.bundle import Predictor, iter_batches, load_bundle

    out_path = Path(out)
    suffix = out_path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise DataError.build(
            f"Cannot write predictions to {str(out_path)!r}",
            expected="a path ending in .csv or .parquet",
            got=out_path.name,
            fix="Pass --out predictions.csv or --out predictions.parquet",
        )
    predictor = Predictor(load_bundle(bundle_dir))
    keep_cols = list(dict.fromkeys([*predictor.id_columns, *(keep or [])]))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    writer = None
    n = 0
    task = progress.add_task("scoring", total=None) if progress is not None else None
    try:
        if progress is not None:
            progress.start()
        for i, batch in enumerate(iter_batches(data, batch_rows)):
            if i == 0:
                predictor.check_columns(batch, where=str(data))
            scored = predictor.predict(batch)
            present = [c for c in keep_cols if c in batch.columns]
            frame = pd.concat(
                [batch[present].reset_index(drop=True), scored.reset_index(drop=True)], axis=1
            )
            if suffix == ".csv":
                frame.to_csv(tmp, mode="a", header=(i == 0), index=False)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
            n += len(batch)
            if progress is not None:
                progress.update(task, advance=len(batch))
        if writer is not None:
            writer.close()
            writer = None
        if n == 0:
            raise DataError.build(
                f"{str(data)!r} has no rows to score", fix="Pass a file with rows"
            )
        os.replace(tmp, out_path)
    finally:
        if writer is not None:
            writer.close()
        if progress is not None:
            progress.stop()
        tmp.unlink(missing_ok=True)
    return n
