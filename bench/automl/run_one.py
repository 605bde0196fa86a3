"""Run one system on one dataset with one budget and seed; print a JSON line. Called by run.py.

python run_one.py dump NAME SEED            # write the shared split (dataset packages needed)
python run_one.py SYSTEM NAME BUDGET SEED   # civicml | lgbm_default | flaml | autogluon
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from datasets import score

SPLITS = __import__("pathlib").Path(__file__).resolve().parent / "results" / "splits"


def _stem(name: str, seed: int) -> str:
    return f"{name}.s{seed}"


def dump(name: str, seed: int) -> None:
    """Write the shared split as CSV (run where the dataset packages are installed)."""
    from datasets import load

    stem = _stem(name, seed)
    if (SPLITS / f"{stem}.task").exists():
        return
    task, Xtr, ytr, Xte, yte = load(name, seed)
    SPLITS.mkdir(parents=True, exist_ok=True)
    for part, frame in (("Xtr", Xtr), ("ytr", ytr), ("Xte", Xte), ("yte", yte)):
        frame.to_csv(SPLITS / f"{stem}.{part}.csv", index=False)
    (SPLITS / f"{stem}.task").write_text(task)  # written last: marks the split complete


def read(name: str, seed: int) -> tuple[str, pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    stem = _stem(name, seed)
    task = (SPLITS / f"{stem}.task").read_text()
    parts = [pd.read_csv(SPLITS / f"{stem}.{p}.csv") for p in ("Xtr", "ytr", "Xte", "yte")]
    ytr, yte = parts[1].iloc[:, 0], parts[3].iloc[:, 0]
    if task != "regression":
        ytr, yte = ytr.astype(str), yte.astype(str)
    return task, parts[0], ytr, parts[2], yte


def _lgbm_frame(X: pd.DataFrame, cats: dict[str, list]) -> pd.DataFrame:
    """Non-numeric columns as pandas category with the training categories (LightGBM's way)."""
    X = X.copy()
    for c, levels in cats.items():
        X[c] = pd.Categorical(X[c], categories=levels)
    for c in X.columns:
        if pd.api.types.is_bool_dtype(X[c]):
            X[c] = X[c].astype(int)
    return X


def _refit_score(r, name: str, task: str, data: tuple, seed: int) -> float | None:
    """Held-out score of leaderboard candidate ``name`` refitted on the training split, without
    calibration: a choice the guard overruled (an ensemble: its members refitted, with its
    weights). None when it cannot be refitted."""
    Xtr, ytr, Xte, yte = data
    classes = sorted(ytr.unique().tolist()) if task != "regression" else []
    out = _refit_outputs(r, name, task, data, seed, classes)
    return None if out is None else score(task, yte, out, classes)


def _refit_outputs(r, name: str, task: str, data: tuple, seed: int, classes: list):
    from civicml.learn import FAMILIES, build_pipeline

    Xtr, ytr, Xte, _ = data
    entry = r.leaderboard.get(name)
    if entry is not None and entry.family == "ensemble":
        mix = entry.params.get("members") or {}
        parts = [_refit_outputs(r, m, task, data, seed, classes) for m in mix]
        if not parts or any(p is None for p in parts):
            return None
        total = sum(mix.values())
        return sum(p * (w / total) for p, w in zip(parts, mix.values(), strict=True))
    if entry is None or entry.family not in FAMILIES:
        return None
    feats = r.roles.features
    pipe = build_pipeline(FAMILIES[entry.family], task, r.roles, entry.params, seed)
    pipe.fit(Xtr[feats], ytr)
    if task == "regression":
        return np.asarray(pipe.predict(Xte[feats]), dtype=float)
    have = [str(c) for c in pipe.classes_]
    proba = np.asarray(pipe.predict_proba(Xte[feats]))[:, [have.index(c) for c in classes]]
    return proba.astype(float)


def main(system: str, name: str, budget: float, seed: int) -> None:
    task, Xtr, ytr, Xte, yte = read(name, seed)
    classes = sorted(ytr.unique().tolist()) if task != "regression" else []
    # Each system's library is imported before the clock starts: the budget is what the system
    # was told to spend, and every system is timed the same way.
    if system == "civicml":
        from civicml.learn import FeatureRoles, train
    elif system == "lgbm_default":
        import lightgbm
    elif system == "flaml":
        from flaml.automl.automl import AutoML
    else:
        from autogluon.tabular import TabularPredictor
    t0 = time.monotonic()
    chosen: dict = {}  # civicml's choice and the defaults check, to count how often a default won
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
            seed=seed,
        )
        fit_s = time.monotonic() - t0
        Xte_all, Xte = Xte, Xte[r.roles.features]
        pred = r.pipeline.predict(Xte) if task == "regression" else r.pipeline.predict_proba(Xte)
        model_classes = [str(c) for c in r.classes]
        check = r.leaderboard.extra.get("defaults_check") or {}
        chosen = {
            "chosen": r.best,
            "kept_default": bool(check.get("kept_default")),
            "kept_because": check.get("kept_because"),
            "best_default": check.get("best_default"),
            "reference": check.get("reference"),
            "margin": check.get("margin"),
            "standard_error": check.get("standard_error"),
            "without_noise_step": check.get("without_noise_step"),
            "without_fresh_check": check.get("without_fresh_check"),
            "fresh_folds": check.get("fresh_folds"),
            "fresh_check_not_run": check.get("fresh_check_not_run"),
            "unconfirmed": check.get("unconfirmed"),
        }
        # After the clock: the held-out scores of the choices the guard's later steps overruled
        # (what the mean alone, and the search's own folds alone, would have given).
        for step in ("noise_step", "fresh_check"):
            alt = check.get(f"without_{step}")
            if alt and alt != r.best:
                chosen[f"score_without_{step}"] = _refit_score(
                    r, alt, task, (Xtr, ytr, Xte_all, yte), seed
                )
    elif system == "lgbm_default":
        # Library defaults; only the seed, the thread count (the 2 pinned cores) and the log
        # level are set. No budget: it runs to completion and its time is recorded.
        cats = {
            c: sorted(Xtr[c].dropna().astype(str).unique().tolist())
            for c in Xtr.columns
            if not pd.api.types.is_numeric_dtype(Xtr[c]) and not pd.api.types.is_bool_dtype(Xtr[c])
        }
        kw = {"random_state": seed, "n_jobs": 2, "verbose": -1}
        m = lightgbm.LGBMRegressor(**kw) if task == "regression" else lightgbm.LGBMClassifier(**kw)
        m.fit(_lgbm_frame(Xtr, cats), ytr)
        fit_s = time.monotonic() - t0
        Xl = _lgbm_frame(Xte, cats)
        pred = m.predict(Xl) if task == "regression" else m.predict_proba(Xl)
        model_classes = [str(c) for c in m.classes_] if task != "regression" else []
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
            seed=seed,
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
                "seed": seed,
                "task": task,
                "n_train": len(Xtr),
                "score": s,
                "fit_seconds": fit_s,
                "overrun": fit_s / budget - 1,
                **chosen,
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    else:
        main(
            sys.argv[1],
            sys.argv[2],
            float(sys.argv[3]),
            int(sys.argv[4]) if len(sys.argv) > 4 else 0,
        )
