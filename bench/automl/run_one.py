"""Run one system on one dataset with one budget; print a JSON line. Called by run.py."""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from datasets import score

SPLITS = __import__("pathlib").Path(__file__).resolve().parent / "results" / "splits"


def dump(name: str) -> None:
    """Write the shared split as CSV (run in the peers venv, which has the dataset packages)."""
    from datasets import load

    task, Xtr, ytr, Xte, yte = load(name)
    SPLITS.mkdir(parents=True, exist_ok=True)
    for part, frame in (("Xtr", Xtr), ("ytr", ytr), ("Xte", Xte), ("yte", yte)):
        frame.to_csv(SPLITS / f"{name}.{part}.csv", index=False)
    (SPLITS / f"{name}.task").write_text(task)


def read(name: str) -> tuple[str, pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    task = (SPLITS / f"{name}.task").read_text()
    parts = [pd.read_csv(SPLITS / f"{name}.{p}.csv") for p in ("Xtr", "ytr", "Xte", "yte")]
    ytr, yte = parts[1].iloc[:, 0], parts[3].iloc[:, 0]
    if task != "regression":
        ytr, yte = ytr.astype(str), yte.astype(str)
    return task, parts[0], ytr, parts[2], yte


def main(system: str, name: str, budget: float) -> None:
    if system == "dump":
        dump(name)
        return
    task, Xtr, ytr, Xte, yte = read(name)
    classes = sorted(ytr.unique().tolist()) if task != "regression" else []
    # Each system's library is imported before the clock starts: the budget is what the system
    # was told to spend, and every system is timed the same way.
    if system == "civicml":
        from civicml.learn import FeatureRoles, train
    elif system == "flaml":
        from flaml.automl.automl import AutoML
    else:
        from autogluon.tabular import TabularPredictor
    t0 = time.monotonic()
    if system == "civicml":
        num = [c for c in Xtr.columns if pd.api.types.is_numeric_dtype(Xtr[c])]
        cat = [c for c in Xtr.columns if c not in num]
        r = train(
            Xtr,
            ytr,
            roles=FeatureRoles(numeric=num, categorical=cat),
            task=task,
            metric={"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[task],
            budget_seconds=budget,
            test_size=0.0,
            seed=0,
        )
        fit_s = time.monotonic() - t0
        Xte = Xte[r.roles.features]
        pred = r.pipeline.predict(Xte) if task == "regression" else r.pipeline.predict_proba(Xte)
        model_classes = [str(c) for c in r.classes]
    elif system == "flaml":
        m = AutoML()
        m.fit(
            Xtr,
            ytr,
            task="regression" if task == "regression" else "classification",
            metric={"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[task],
            time_budget=budget,
            n_jobs=2,
            verbose=0,
            seed=0,
        )
        fit_s = time.monotonic() - t0
        pred = m.predict(Xte) if task == "regression" else m.predict_proba(Xte)
        model_classes = [str(c) for c in m.classes_] if task != "regression" else []
    else:
        import tempfile

        df = Xtr.copy()
        df["__y"] = ytr.values
        ptype = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}[task]
        with tempfile.TemporaryDirectory() as d:
            metric = {
                "binary": "roc_auc",
                "multiclass": "log_loss",
                "regression": "root_mean_squared_error",
            }[task]
            p = TabularPredictor(
                label="__y", problem_type=ptype, eval_metric=metric, path=d, verbosity=0
            )
            p.fit(df, time_limit=budget, presets="medium_quality", num_cpus=2, num_gpus=0)
            fit_s = time.monotonic() - t0
            if task == "regression":
                pred = p.predict(Xte).to_numpy()
            else:
                proba = p.predict_proba(Xte)
                model_classes = [str(c) for c in proba.columns]
                pred = proba.to_numpy()
        model_classes = model_classes if task != "regression" else []
    if task != "regression":
        order = [model_classes.index(c) for c in classes]
        pred = np.asarray(pred)[:, order]
    s = score(task, yte, np.asarray(pred, dtype=float), classes)
    print(
        json.dumps(
            {
                "system": system,
                "dataset": name,
                "budget": budget,
                "task": task,
                "score": s,
                "fit_seconds": fit_s,
                "overrun": fit_s / budget - 1,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
