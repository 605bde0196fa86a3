"""Show what civicml's search did on one benchmark split: when each candidate started and ended
(seconds from the start, to see where the budget went), each candidate's status and the choice.

    cd bench/automl && taskset -c 0,1 ../../.venv/bin/python trace_one.py flights 30 [SEED]

The split must have been written first (``run.py`` does it, or ``run_one.py dump NAME SEED``).
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
from run_one import read

METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def main(name: str, budget: float, seed: int) -> None:
    from civicml.learn import FeatureRoles, train

    task, Xtr, ytr, _, _ = read(name, seed)
    num = [c for c in Xtr.columns if pd.api.types.is_numeric_dtype(Xtr[c])]
    cat = [c for c in Xtr.columns if c not in num]
    t0 = time.monotonic()
    events: list[str] = []

    def on_event(kind: str, **kw: object) -> None:
        if kind != "fold_done":
            what = {k: getattr(v, "name", v) for k, v in kw.items()}
            events.append(f"  {time.monotonic() - t0:7.2f} s  {kind} {what}")

    r = train(
        Xtr,
        ytr,
        roles=FeatureRoles(numeric=num, categorical=cat),
        task=task,
        metric=METRIC[task],
        budget_seconds=budget,
        test_size=0.0,
        seed=seed,
        on_event=on_event,
    )
    print(f"{name}: {len(Xtr)} training rows, wall {time.monotonic() - t0:.1f} s of {budget:g}")
    print("\n".join(events))
    for e in r.leaderboard.entries:
        folds = [round(f, 4) for f in e.extra.get("fold_scores", [])]
        print(f"  {e.name:<24} {e.status:<8} folds {folds} {e.error or ''}")
    print("selected:", r.leaderboard.selected)
    for key in ("defaults_check", "estimate"):
        print(f"{key}:", json.dumps(r.extra.get(key), default=str))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
