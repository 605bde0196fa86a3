"""Data-parallel LightGBM on a local Dask cluster against one machine's LightGBM on a sample.

    OMP_NUM_THREADS=1 .venv/bin/python bench/scale/dask_lgbm.py --rows 10000000 --work /tmp/civicml-dp

1. Writes the CSV of ``bench/scale/cli.py`` (8 numbers, 4 categories, a yes/no column, a binary
   target; about 69 bytes a row) under ``--work``.
2. Starts a ``dask scheduler`` and two ``dask worker`` processes (1 thread each, no nanny) on
   127.0.0.1, and runs ``civicml train --data-parallel --engine dask://...`` in its own process:
   the search on a 200,000-row sample, the final LightGBM on every training row, read by the
   workers. Its peak memory (RSS, ``os.wait4``) is the driver's; the workers' peak RSS is
   sampled every 0.5 s with psutil.
3. Reads the file once more here in 1M-row batches (typed as civicml types it), keeps the rows
   the row hash held out (a uniform sample of at most 200,000) and a uniform sample of
   ``--local-rows`` training rows, and fits LightGBM with the same configuration and the same
   preprocessing on that sample on one machine.
4. Scores both models on the same held-out rows: ROC AUC and log loss, and the difference
   with a paired bootstrap 95% interval (1,000 resamples): "within noise" when it covers 0,
   "not worse" when its upper end is at or above 0.

Prints one JSON line per stage; the work folder is deleted unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import contextlib

from cli import write_csv


def _watch(pids: list[int], peaks: dict[int, int], stop: threading.Event) -> None:
    import psutil

    procs = [psutil.Process(p) for p in pids]
    while not stop.is_set():
        for p in procs:
            with contextlib.suppress(psutil.Error):
                peaks[p.pid] = max(peaks.get(p.pid, 0), p.memory_info().rss)
        stop.wait(0.5)


def run_civicml(work: Path, address: str, worker_pids: list[int]) -> dict:
    spec = work / "civicml.yaml"
    spec.write_text(
        "name: scale-dp\ndata: {path: data.csv}\ntarget: y\ntask: binary\nmax_trials: 4\n"
        "cv_folds: 3\nmodels: [lightgbm]\npersonal_data: {scan: false}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "CIVICML_REGISTRY": f"sqlite:///{work / 'registry.db'}"}
    cmd = [sys.executable, "-m", "civicml", "train", str(spec), "-o", str(work / "bundle"),
           "--engine", "dask://" + address.split("://", 1)[-1], "--data-parallel", "--json"]  # fmt: skip
    peaks: dict[int, int] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(worker_pids, peaks, stop), daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    with open(work / "train.out", "wb") as fo, open(work / "train.err", "wb") as fe:
        proc = subprocess.Popen(cmd, env=env, stdout=fo, stderr=fe)
        _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    watcher.join()
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": round(time.perf_counter() - t0, 1),
        "driver_peak_mib": round(usage.ru_maxrss / 1024),
        "worker_peak_mib": [round(v / 2**20) for v in peaks.values()],
        "stderr_tail": (work / "train.err").read_text(errors="replace").strip().splitlines()[-3:],
    }


def split_rows(path: Path, rows: int, local_rows: int, seed: int, share: float) -> tuple:
    """The held-out rows (at most 200,000) and a sample of ``local_rows`` training rows."""
    import pandas as pd

    from civicml.data._outofcore import iter_batches
    from civicml.learn import holdout_mask

    rng = np.random.default_rng(seed)
    held, train, seen_h, seen_t = [], [], 0, 0
    for batch in iter_batches(path, batch_rows=1_000_000):
        batch = batch[batch["y"].notna()]
        mask = holdout_mask(batch, sorted(batch.columns), share, seed)
        held.append(
            batch[mask].sample(frac=min(1.0, 1.3 * 200_000 / (rows * share)), random_state=seed)
        )
        train.append(
            batch[~mask].sample(
                frac=min(1.0, 1.3 * local_rows / (rows * (1 - share))), random_state=seed
            )
        )
        seen_h, seen_t = seen_h + int(mask.sum()), seen_t + int((~mask).sum())
    h = pd.concat(held, ignore_index=True)
    t = pd.concat(train, ignore_index=True)
    h = h.iloc[rng.permutation(len(h))[:200_000]].reset_index(drop=True)
    t = t.iloc[rng.permutation(len(t))[:local_rows]].reset_index(drop=True)
    return h, t, seen_h, seen_t


def paired(y: np.ndarray, a: np.ndarray, b: np.ndarray, seed: int = 0) -> dict:
    from sklearn.metrics import log_loss, roc_auc_score

    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(1000):
        i = rng.integers(0, len(y), len(y))
        diffs.append(roc_auc_score(y[i], a[i]) - roc_auc_score(y[i], b[i]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {
        "auc_data_parallel": round(float(roc_auc_score(y, a)), 5),
        "auc_one_machine": round(float(roc_auc_score(y, b)), 5),
        "log_loss_data_parallel": round(float(log_loss(y, a)), 5),
        "log_loss_one_machine": round(float(log_loss(y, b)), 5),
        "auc_difference": round(float(roc_auc_score(y, a) - roc_auc_score(y, b)), 5),
        "difference_95ci": [round(float(lo), 5), round(float(hi), 5)],
        "within_noise": bool(lo <= 0 <= hi),
        # the data-parallel model is not worse when the interval reaches 0 or above
        "not_worse": bool(hi >= 0),
    }


def compare(work: Path, rows: int, local_rows: int, seed: int) -> dict:
    from lightgbm import LGBMClassifier

    from civicml.bundle import load_bundle
    from civicml.learn import FeatureRoles, build_preprocessor

    bundle = load_bundle(work / "bundle")
    selection = json.loads((work / "bundle" / "selection.json").read_text())
    record = selection["data_parallel"]
    held, train, n_held, n_train = split_rows(work / "data.csv", rows, local_rows, seed, 0.2)
    features = list(bundle.info["features"])
    roles = FeatureRoles.from_mapping({f: bundle.info["roles"][f] for f in features})
    t0 = time.perf_counter()
    prep = build_preprocessor(roles, "tree").fit(train[features])
    params = {k: v for k, v in record["params"].items()}
    local = LGBMClassifier(random_state=seed, verbose=-1, n_jobs=2, **params)
    local.fit(prep.transform(train[features]), train["y"])
    fit_s = time.perf_counter() - t0
    y = held["y"].to_numpy().astype(int)
    a = bundle.model.predict_proba(held[features])[:, 1]
    b = local.predict_proba(prep.transform(held[features]))[:, 1]
    return {
        "stage": "compare",
        "n_train_data_parallel": record["n_train"],
        "n_holdout": record["n_holdout"],
        "holdout_rows_here": n_held,
        "train_rows_here": n_train,
        "one_machine_rows": len(train),
        "one_machine_fit_seconds": round(fit_s, 1),
        "held_out_rows_scored": len(held),
        "params": params,
        **paired(y, a, b, seed),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--local-rows", type=int, default=1_000_000)
    ap.add_argument("--work", default="/tmp/civicml-dp")
    ap.add_argument("--worker-memory", default="6GB")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    from civicml.engines import DaskProcesses

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data.csv"
    if not data.exists():
        t0 = time.perf_counter()
        write_csv(data, args.rows)
        print(json.dumps({"stage": "generate", "rows": args.rows, "bytes": data.stat().st_size,
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)  # fmt: skip
    cluster = DaskProcesses(n_workers=2, nthreads=1, memory_limit=args.worker_memory).start()
    try:
        assert cluster.address is not None
        pids = [w.pid for w in cluster.workers]
        result = run_civicml(work, cluster.address, pids)
        print(json.dumps({"stage": "train --data-parallel", "rows": args.rows, **result}),
              flush=True)  # fmt: skip
    finally:
        cluster.stop()
    if result["exit"] == 0:
        print(json.dumps(compare(work, args.rows, args.local_rows, 0)), flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
