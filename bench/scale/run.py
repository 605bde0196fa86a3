"""Scale benchmark: contract inference (DuckDB), LightGBM from an Arrow stream, partitioned
ONNX batch scoring against raw onnxruntime, and a 20-trial search on local vs Dask.

    OMP_NUM_THREADS=1 .venv/bin/python bench/scale/generate.py --rows 10000000 --out /tmp/civicml-scale
    OMP_NUM_THREADS=1 .venv/bin/python bench/scale/run.py --data /tmp/civicml-scale --parts 10

Each stage runs in its own process; its peak RSS comes from ``os.wait4``. ``--parts`` limits the
run to the first N 1M-row partitions (the full dataset is 10). Prints one JSON line per stage.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

FEATURES = [f"x{j:02d}" for j in range(26)] + ["region", "band", "channel"]
CATS = ["region", "band", "channel"]


def stage(name: str, data: str, work: str) -> dict:
    import numpy as np

    from civicml.data._outofcore import (
        infer_contract_duckdb,
        sample_for_search,
        train_lightgbm_stream,
    )

    t0 = time.perf_counter()
    if name == "contract":
        c = infer_contract_duckdb(data, target="y", threads=2)
        return {"rows": c.n_rows, "seconds": time.perf_counter() - t0}
    if name == "train":
        model, info = train_lightgbm_stream(
            data,
            "y",
            FEATURES,
            categorical=CATS,
            max_rows=None,
            params={"n_estimators": 100},
            threads=2,
        )
        return {
            "rows": info["rows"],
            "read_s": info["seconds_read"],
            "fit_s": info["seconds_fit"],
            "seconds": time.perf_counter() - t0,
        }
    if name == "bundle":
        import yaml

        sample = sample_for_search(data, "y", max_rows=50_000, seed=0)
        Path(work).mkdir(parents=True, exist_ok=True)
        sample.to_parquet(Path(work) / "sample.parquet")
        spec = {
            "name": "scale",
            "data": {"path": "sample.parquet"},
            "target": "y",
            "task": "binary",
            "max_trials": 2,
            "cv_folds": 2,
            "models": ["lightgbm"],  # a family with an ONNX export, so scoring runs on ONNX
            "personal_data": {"scan": False},
        }
        (Path(work) / "civicml.yaml").write_text(yaml.safe_dump(spec))
        from civicml.spec import load_spec
        from civicml.workflow import run_training

        os.environ.setdefault("CIVICML_REGISTRY", f"sqlite:///{Path(work) / 'r.db'}")
        run_training(
            load_spec(Path(work) / "civicml.yaml"),
            Path(work) / "bundle",
            overwrite=True,
            track=False,
        )
        return {"seconds": time.perf_counter() - t0}
    if name == "score":
        import shutil

        from civicml.workflow._scoring import score_partitions

        shutil.rmtree(Path(work) / "scored", ignore_errors=True)
        res = score_partitions(  # a model trained on a sample scores the whole table
            Path(work) / "bundle",
            data,
            Path(work) / "scored",
            batch_rows=65_536,
            policies={"out_of_range": "allow", "unknown_category": "allow"},
        )
        return {**res, "rows_per_s": res["rows"] / res["seconds"]}
    if name == "raw":
        import onnxruntime as ort
        import pyarrow.parquet as pq

        from civicml.bundle import load_bundle
        from civicml.components import to_str
        from civicml.workflow._scoring import list_partitions

        b = load_bundle(Path(work) / "bundle")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(
            b.read_bytes("model.onnx"), opts, providers=["CPUExecutionProvider"]
        )
        inputs = {i.name: i.type for i in sess.get_inputs()}
        out = [o.name for o in sess.get_outputs()][1]
        n = 0
        for f in list_partitions(data):
            for batch in pq.ParquetFile(f).iter_batches(65_536, columns=list(inputs)):
                feed = {}
                for name_, t in inputs.items():
                    col = batch.column(batch.schema.get_field_index(name_))
                    arr = col.to_numpy(zero_copy_only=False)
                    if t == "tensor(string)":
                        arr = (
                            to_str(arr.reshape(-1, 1))
                            if arr.dtype != object
                            else arr.reshape(-1, 1)
                        )
                    else:
                        arr = arr.astype(np.float32).reshape(-1, 1)
                    feed[name_] = arr
                sess.run([out], feed)
                n += batch.num_rows
        s = time.perf_counter() - t0
        return {"rows": n, "seconds": s, "rows_per_s": n / s}
    if name in ("search_local", "search_dask"):
        from civicml.engines import DaskProcesses, LocalEngine, open_engine
        from civicml.learn import search_on_engine
        from civicml.learn._cv import make_splitter
        from civicml.learn._metrics import get_metric
        from civicml.learn._preprocess import FeatureRoles

        df = sample_for_search(data, "y", max_rows=20_000, seed=0)
        y = df.pop("y").to_numpy()
        splits = list(make_splitter("binary", 3, 0, grouped=False).split(df, y))
        kw = dict(
            task="binary",
            classes=np.array([0, 1]),
            splits=splits,
            roles=FeatureRoles(numeric=FEATURES[:26], categorical=CATS),
            metric=get_metric(None, "binary"),
            families=["baseline", "linear", "lightgbm"],
            max_trials=20,
            seed=0,
        )
        if name == "search_local":
            with LocalEngine(max_workers=2) as eng:
                t0 = time.perf_counter()
                recs = search_on_engine(df, y, engine=eng, **kw)
        else:
            with (
                DaskProcesses(n_workers=2, memory_limit="4GB") as procs,
                open_engine(procs.address) as eng,
            ):
                assert eng.parallelism == 2  # connect before timing
                t0 = time.perf_counter()
                recs = search_on_engine(df, y, engine=eng, **kw)
                cold = time.perf_counter() - t0  # the workers import the ML libraries first
                t0 = time.perf_counter()
                again = search_on_engine(df, y, engine=eng, **kw)  # a cluster already in use
                warm = time.perf_counter() - t0
            assert [r.cv.mean("roc_auc") for r in again] == [r.cv.mean("roc_auc") for r in recs]
            best = max(r.cv.mean("roc_auc") for r in recs)
            return {
                "seconds": cold,
                "warm_seconds": warm,
                "trials": len(recs) - 1,
                "best_auc": best,
            }
        best = max(r.cv.mean("roc_auc") for r in recs)
        return {"seconds": time.perf_counter() - t0, "trials": len(recs) - 1, "best_auc": best}
    raise SystemExit(f"unknown stage {name}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/civicml-scale")
    ap.add_argument("--parts", type=int, default=10)
    ap.add_argument("--work", default="/tmp/civicml-scale-work")
    ap.add_argument("--stage")
    ap.add_argument("--stages", default="contract,train,bundle,score,raw,search_local,search_dask")
    args = ap.parse_args()
    files = sorted(Path(args.data).glob("part-*.parquet"))[: args.parts]
    sub = Path(args.work) / "input"
    if args.stage:
        print(json.dumps(stage(args.stage, str(sub), args.work)))
        return
    sub.mkdir(parents=True, exist_ok=True)
    for f in files:
        link = sub / f.name
        if not link.exists():
            link.symlink_to(f.resolve())
    print(json.dumps({"load_avg": os.getloadavg(), "parts": len(files)}), flush=True)
    for name in args.stages.split(","):
        proc = subprocess.Popen(
            [sys.executable, __file__, "--stage", name, "--data", args.data, "--work", args.work],
            stdout=subprocess.PIPE,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        out = proc.stdout.read() if proc.stdout else b""
        _, status, usage = os.wait4(proc.pid, 0)
        try:
            doc = json.loads(out.decode().strip().splitlines()[-1])
        except (IndexError, ValueError):
            doc = {"error": f"exit {status}"}
        doc.update(stage=name, peak_rss_mb=round(usage.ru_maxrss / 1024), load=os.getloadavg()[0])
        print(json.dumps(doc), flush=True)


if __name__ == "__main__":
    main()
