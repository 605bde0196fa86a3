"""Is civicml's reference (LightGBM's library defaults, as civicml builds them) the same model
as a plain ``LGBMClassifier()`` / ``LGBMRegressor()`` on the same split?

    .venv/bin/python bench/automl/parity.py [--tables wine ames ...] [--seeds 0 1 2]

Reads the splits run.py wrote (results/splits), fits civicml's reference pipeline and
run_one.py's ``lgbm_default`` on each, and prints one Markdown row per (table, seed): both
held-out scores and the largest difference between their predictions (0 = the same model).
When civicml's defaults guard keeps the reference, civicml's result is then exactly LightGBM's
defaults.
"""

from __future__ import annotations

import argparse

import lightgbm
import numpy as np
import pandas as pd
from datasets import LOADERS, score
from run_one import _lgbm_frame, read

from civicml.learn import FAMILIES, FeatureRoles, build_pipeline
from civicml.learn._spaces import LIBRARY_DEFAULTS


def _outputs(model, X: pd.DataFrame, task: str) -> np.ndarray:
    out = model.predict(X) if task == "regression" else model.predict_proba(X)
    return np.asarray(out, dtype=float)


def compare(name: str, seed: int) -> str:
    task, Xtr, ytr, Xte, yte = read(name, seed)
    classes = sorted(ytr.unique().tolist()) if task != "regression" else []
    num = [c for c in Xtr.columns if pd.api.types.is_numeric_dtype(Xtr[c])]
    roles = FeatureRoles(numeric=num, categorical=[c for c in Xtr.columns if c not in num])
    ref = build_pipeline(FAMILIES["lightgbm"], task, roles, LIBRARY_DEFAULTS["lightgbm"], seed)
    ref.fit(Xtr[roles.features], ytr)
    a = _outputs(ref, Xte[roles.features], task)
    cats = {c: sorted(Xtr[c].dropna().astype(str).unique().tolist()) for c in roles.categorical}
    kw = {"random_state": seed, "n_jobs": 2, "verbose": -1}
    plain = lightgbm.LGBMRegressor(**kw) if task == "regression" else lightgbm.LGBMClassifier(**kw)
    plain.fit(_lgbm_frame(Xtr, cats), ytr)
    b = _outputs(plain, _lgbm_frame(Xte, cats), task)
    diff = float(np.max(np.abs(a - b)))
    return (
        f"| {name} | {seed} | {len(roles.categorical)} | {score(task, yte, a, classes):.4f} | "
        f"{score(task, yte, b, classes):.4f} | {diff:.3g} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", nargs="+", default=list(LOADERS), choices=list(LOADERS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    a = ap.parse_args()
    print("| table | seed | categorical columns | civicml's reference | lgbm_default | max diff |")
    print("|---|---|---|---|---|---|")
    for seed in a.seeds:
        for name in a.tables:
            print(compare(name, seed), flush=True)


if __name__ == "__main__":
    main()
