"""Data-parallel LightGBM on a Dask cluster, for tables that do not fit one machine.

The driver never holds the table. The workers read it from its source in partitions (a CSV
split by bytes, or Parquet files), type each partition exactly as the driver's DuckDB sample
was typed (:func:`civicml.data.partition_plan`), and split every row to the training or the
held-out side by a keyed hash of its values (:func:`holdout_mask`): the same row lands on the
same side whatever the partitioning, and a repeated row cannot sit on both sides. The
preprocessing fitted on the sample runs on each partition; LightGBM's Dask estimator trains
on the training partitions where they lie (``tree_learner="data"``, one LightGBM process per
worker). What comes back to the driver is the model (a plain ``LGBMClassifier`` /
``LGBMRegressor``), the row counts and a bounded sample of held-out rows for the assessment.

Tasks travel to workers with pickle/cloudpickle, as Dask always does between the trusted
processes of a team's own cluster; the bundle stays skops and ONNX.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import TrainingError

__all__ = [
    "HOLDOUT_ROWS",
    "PARALLEL_FAMILIES",
    "DataParallelFit",
    "fit_data_parallel",
    "holdout_mask",
]

#: The most held-out rows brought back to the driver for the assessment (a uniform sample).
HOLDOUT_ROWS = 200_000

#: The families trained data-parallel: LightGBM's Dask estimator, and regularised linear models
#: solved from the partitions' sums or gradients (:mod:`civicml.learn._dask_linear`).
PARALLEL_FAMILIES = ("linear", "lightgbm")

#: Bytes of CSV per partition: about 600,000 rows of a 100-byte row.
BLOCKSIZE = "64MB"


def holdout_mask(
    frame: pd.DataFrame, columns: Sequence[str], share: float, seed: int
) -> np.ndarray:
    """True for the rows held out: a keyed hash (``seed``) of the values of ``columns``, so
    a row is on the same side on the driver and on any worker, in any partitioning.

    Examples
    --------
    >>> df = pd.DataFrame({"x": np.arange(10_000) / 7, "y": np.arange(10_000) % 2})
    >>> m = holdout_mask(df, ["x", "y"], 0.2, seed=0)
    >>> round(float(m.mean()), 2)
    0.2
    >>> bool((holdout_mask(df.iloc[::-1], ["y", "x"], 0.2, seed=0) == m[::-1]).all())
    True
    """
    if frame.empty:
        return np.zeros(0, dtype=bool)
    # one text form per value: the same whichever side typed it (both read through DuckDB)
    canon = frame[sorted(columns)].astype("string").fillna("\x1f")
    key = f"civicml{int(seed):09d}"[-16:]
    hashed = pd.util.hash_pandas_object(canon, index=False, hash_key=key).to_numpy()
    return (hashed % np.uint64(1_000_000)) < np.uint64(round(share * 1_000_000))


@dataclass(frozen=True)
class DataParallelFit:
    """What the cluster gave back: the model, its pipeline, the row counts and held-out rows."""

    pipeline: Any
    n_train: int
    n_holdout: int
    holdout: pd.DataFrame  # a uniform sample of the held-out rows (at most ``holdout_rows``)
    partitions: int
    workers: int
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)
    family: str = "lightgbm"

    def to_dict(self) -> dict[str, Any]:
        """The record kept in the bundle (``selection.json``) and the report."""
        trainer = {
            "lightgbm": "lightgbm.dask (tree_learner=data)",
            "linear": "exact sums (ridge) or L-BFGS over the partitions' gradients (logistic)",
        }
        return {
            "family": self.family,
            "trainer": trainer.get(self.family, self.family),
            "n_train": self.n_train,
            "n_holdout": self.n_holdout,
            "holdout_sampled": len(self.holdout),
            "partitions": self.partitions,
            "workers": self.workers,
            "seconds": round(self.seconds, 2),
            "params": self.params,
        }


def _typed_part(part: pd.DataFrame, sql: str) -> pd.DataFrame:
    """One partition typed by ``sql`` (over the relation ``part``), as the sample was."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.register("part", part)
        return con.execute(sql).df()
    finally:
        con.close()


def _side(
    part: pd.DataFrame, columns: list[str], share: float, seed: int, held_out: bool, target: str
) -> pd.DataFrame:
    part = part[part[target].notna()]
    mask = holdout_mask(part, columns, share, seed)
    return part[mask if held_out else ~mask]


def _features(part: pd.DataFrame, prep: Any, features: list[str]) -> np.ndarray:
    return np.asarray(prep.transform(part[features]), dtype=np.float64)


def _labels(s: pd.Series, classes: np.ndarray) -> pd.Series:
    """Class indices in ``classes`` order (the same coding on every worker: LightGBM's Dask
    classifier would otherwise code each worker's labels on its own)."""
    values = s.to_numpy()
    idx = np.searchsorted(classes, values)
    idx = np.clip(idx, 0, len(classes) - 1)
    if len(values) and not (classes[idx] == values).all():
        unseen = sorted({str(v) for v in values[classes[idx] != values]})[:5]
        raise TrainingError.build(
            "The table has target classes the sample did not",
            expected=f"one of {list(map(str, classes))[:10]}",
            got=unseen,
            fix="Check the target column, or train on a sample that holds every class",
        )
    return pd.Series(idx, index=s.index, dtype=np.int64)


def read_partitions(plan: Mapping[str, Any], blocksize: str = BLOCKSIZE) -> Any:
    """The table as a Dask DataFrame read by the workers, each partition typed by the plan."""
    import dask.dataframe as dd

    if plan["kind"] == "csv":
        raw = dd.read_csv(
            plan["path"],
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            sep=plan["sep"],
            encoding=plan["encoding"],
            blocksize=blocksize,
        )
    else:
        raw = dd.read_parquet(plan["path"])
    meta = _typed_part(raw._meta, plan["sql"])
    return raw.map_partitions(_typed_part, plan["sql"], meta=meta)


def fit_data_parallel(
    plan: Mapping[str, Any],
    *,
    client: Any,
    prep: Any,
    example: pd.DataFrame,
    target: str,
    task: str,
    classes: Sequence[Any] = (),
    model: tuple[str, Mapping[str, Any]] = ("lightgbm", {}),
    split: tuple[float, int] = (0.2, 0),
    on_event: Callable[..., None] | None = None,
) -> DataParallelFit:
    """Train a LightGBM or linear model data-parallel on the Dask cluster behind ``client``.

    Parameters
    ----------
    plan : mapping
        :func:`civicml.data.partition_plan` of the source: how workers read and type it.
    client : distributed.Client
    prep : fitted transformer
        The preprocessing fitted on the driver's sample; it runs on every partition and is the
        first step of the returned pipeline.
    example : DataFrame
        A few rows of the sample holding the model's inputs, in order: their columns are the
        features, and their transform gives the matrix's width.
    target, task : str
    classes : sequence
        A classifier's classes, sorted (the sample's); a class outside them is an error.
    model : (family, params)
        ``"lightgbm"`` or ``"linear"`` (:data:`PARALLEL_FAMILIES`) and its parameters (the best
        configuration the sample's search found).
    split : (share, seed)
        The held-out share and the hash key of :func:`holdout_mask`. At most
        :data:`HOLDOUT_ROWS` held-out rows come back (a uniform sample of them).
    on_event : callable, optional
        Progress: ``("stage", name="data_parallel", step=...)``.

    Returns
    -------
    DataParallelFit
    """
    from sklearn.pipeline import Pipeline

    emit = on_event or (lambda *a, **k: None)
    started = time.monotonic()
    share, seed = split
    features = [str(c) for c in example.columns]
    holdout_rows = HOLDOUT_ROWS
    table = read_partitions(plan)
    key = sorted([*features, target])
    train = table.map_partitions(_side, key, share, seed, False, target, meta=table._meta)
    held = table.map_partitions(_side, key, share, seed, True, target, meta=table._meta)
    emit("stage", name="data_parallel", step="count", partitions=table.npartitions)
    # on the cluster (client.compute), never in this process: the driver only gets counts
    counts = client.compute([train.map_partitions(len).sum(), held.map_partitions(len).sum()])
    n_train, n_holdout = (int(v) for v in client.gather(counts))
    if n_train == 0 or n_holdout == 0:
        raise TrainingError.build(
            "Data-parallel training found no rows on one side of the split",
            got={"train": n_train, "held_out": n_holdout},
            fix="Check the data file and test_size",
        )
    width = _features(example, prep, features).shape[1]
    X = train.map_partitions(_features, prep, features, meta=np.empty((0, width)))
    family, params = model
    if family not in PARALLEL_FAMILIES:
        raise TrainingError.build(
            f"The model family {family!r} cannot be trained data-parallel",
            expected=f"one of {list(PARALLEL_FAMILIES)}",
            got=family,
            fix="Set models: [lightgbm] or [linear] with data_parallel: true",
        )
    config = {k: v for k, v in dict(params or {}).items() if k not in ("n_jobs", "verbose")}
    workers = len(client.scheduler_info().get("workers", {}))
    emit("stage", name="data_parallel", step="fit", rows=n_train, workers=workers)
    if family == "linear":
        local, config = _fit_linear(train, target, (task, classes), X, client, config)
    else:
        with client.as_current(), warnings.catch_warnings():  # lightgbm.dask waits on it
            # each worker's LightGBM takes its threads from the worker, not n_jobs: known
            warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
            local = _fit_model(train, target, task, classes, X, client, seed, config)
    emit("stage", name="data_parallel", step="holdout", rows=n_holdout)
    frac = min(1.0, holdout_rows / n_holdout)
    sample = held if frac >= 1.0 else held.sample(frac=frac, random_state=seed)
    holdout = client.compute(sample).result().reset_index(drop=True).head(holdout_rows)
    return DataParallelFit(
        pipeline=Pipeline([("prep", prep), ("model", local)]),
        n_train=n_train,
        n_holdout=n_holdout,
        holdout=holdout,
        partitions=int(table.npartitions),
        workers=workers,
        seconds=time.monotonic() - started,
        params={k: _plain(v) for k, v in config.items()},
        family=family,
    )


def _fit_model(
    train: Any,
    target: str,
    task: str,
    classes: Sequence[Any],
    X: Any,
    client: Any,
    seed: int,
    config: dict[str, Any],
) -> Any:
    """LightGBM's Dask estimator fitted on the training partitions; its local copy."""
    from lightgbm.dask import DaskLGBMClassifier, DaskLGBMRegressor

    if task == "regression":
        y = train[target].astype("float64").to_dask_array()
        model: Any = DaskLGBMRegressor(client=client, random_state=seed, verbose=-1, **config)
        model.fit(X, y)
        return model.to_local()
    order = np.asarray(sorted(classes), dtype=object)
    y = train[target].map_partitions(_labels, order, meta=(target, "i8")).to_dask_array()
    model = DaskLGBMClassifier(client=client, random_state=seed, verbose=-1, **config)
    model.fit(X, y)
    return _with_classes(model.to_local(), order)


def _fit_linear(
    train: Any,
    target: str,
    problem: tuple[str, Sequence[Any]],
    X: Any,
    client: Any,
    config: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """A ridge or logistic regression from the training partitions, which stay on the workers
    (held there as futures while L-BFGS runs); the parameters as fitted."""
    import dask

    from civicml.learn._dask_linear import fit_logistic, ridge_from_sums

    task, classes = problem
    if task == "regression":
        y = train[target].astype("float64").to_dask_array()
    else:
        order = np.asarray(sorted(classes), dtype=object)
        y = train[target].map_partitions(_labels, order, meta=(target, "i8")).to_dask_array()
    parts = client.compute(
        [
            dask.delayed(_pair)(x, t)
            for x, t in zip(X.to_delayed().ravel(), y.to_delayed(), strict=True)
        ]
    )
    try:
        if task == "regression":
            alpha = float(config.get("alpha", 1.0))
            sums = client.gather(client.map(_ridge_part, parts, pure=False))
            return ridge_from_sums(sums, alpha), {"alpha": alpha}
        k = len(order)
        counts = np.sum(client.gather(client.map(_class_counts, parts, k=k, pure=False)), axis=0)
        balanced = config.get("class_weight") == "balanced"
        weights = counts.sum() / (k * np.maximum(counts, 1)) if balanced else np.ones(k)
        width = int(X.shape[1])

        def step(w: np.ndarray) -> tuple[float, np.ndarray]:
            found = client.gather(
                client.map(_logistic_part, parts, w=w, n_classes=k, weights=weights, pure=False)
            )
            return float(sum(f[0] for f in found)), np.sum([f[1] for f in found], axis=0)

        C = float(config.get("C", 1.0))
        fitted = fit_logistic(step, n_features=width, classes=list(order), C=C)
        used: dict[str, Any] = {"C": C, "class_weight": "balanced" if balanced else None}
        if float(config.get("l1_ratio") or 0.0) > 0:
            used["penalty_note"] = (
                f"l1_ratio {config['l1_ratio']} was searched; fitted with the L2 penalty (l1_ratio 0)"
            )
        return fitted, used
    finally:
        client.cancel(parts)


def _pair(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def _ridge_part(part: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    from civicml.learn._dask_linear import ridge_sums

    return ridge_sums(*part)


def _class_counts(part: tuple[np.ndarray, np.ndarray], k: int) -> np.ndarray:
    return np.bincount(np.asarray(part[1], dtype=np.int64), minlength=k)


def _logistic_part(
    part: tuple[np.ndarray, np.ndarray], w: np.ndarray, n_classes: int, weights: np.ndarray
) -> tuple[float, np.ndarray]:
    from civicml.learn._dask_linear import logistic_loss_grad

    return logistic_loss_grad(part[0], part[1], w, n_classes, weights)


def _with_classes(local: Any, classes: np.ndarray) -> Any:
    """The local classifier answering in the original labels (it was trained on their
    indices): its label coder refitted on ``classes``, as :meth:`LGBMClassifier.fit` leaves it."""
    local._le.fit(classes)
    local._classes = local._le.classes_
    local._class_map = {c: i for i, c in enumerate(local._le.classes_)}
    local._n_classes = len(local._classes)
    return local


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v
