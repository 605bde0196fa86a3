"""civicml vs FLAML vs AutoGluon: same split, same wall-clock budget, 2 cores.

    python bench/automl/run.py --budgets 30 60 [--datasets breast_cancer penguins ...]

civicml runs from the core venv (.venv); FLAML and AutoGluon from bench/automl/.venv-peers.
Each run is its own subprocess pinned with ``taskset -c 0,1`` and thread caps. Results land in
bench/automl/results/*.jsonl and, as a table, in docs/benchmarks.md (## AutoML search).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = {
    "civicml": ROOT / ".venv/bin/python",
    "flaml": HERE / ".venv-peers/bin/python",
    "autogluon": HERE / ".venv-peers/bin/python",
}
LOWER_IS_BETTER = {"multiclass", "regression"}


def run(system: str, name: str, budget: float) -> dict:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "2",
        "OPENBLAS_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "2",
    }
    cmd = [
        "taskset",
        "-c",
        "0,1",
        str(PY[system]),
        str(HERE / "run_one.py"),
        system,
        name,
        str(budget),
    ]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, env=env, cwd=HERE, timeout=budget * 3 + 120
        )
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode == 0 and line:
            return json.loads(line[-1])
        err = (out.stderr.strip().splitlines() or ["no output"])[-1][:200]
    except subprocess.TimeoutExpired:
        err = "timed out"
    return {"system": system, "dataset": name, "budget": budget, "failed": err}


def main() -> None:
    from datasets import LOADERS

    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", type=float, nargs="+", default=[30.0, 60.0])
    ap.add_argument("--datasets", nargs="+", default=list(LOADERS))
    ap.add_argument("--systems", nargs="+", default=["civicml", "flaml", "autogluon"])
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    res_dir = HERE / "results"
    res_dir.mkdir(exist_ok=True)
    rows = []
    for budget in a.budgets:
        for name in a.datasets:
            subprocess.run(
                [str(PY["flaml"]), str(HERE / "run_one.py"), "dump", name, "0"],
                cwd=HERE,
                check=True,
            )
            for system in a.systems:
                r = run(system, name, budget)
                r["task"] = LOADERS[name][0]
                rows.append(r)
                print(json.dumps(r), flush=True)
                with open(res_dir / "results.jsonl", "a") as fh:
                    fh.write(json.dumps(r) + "\n")
    write_markdown(rows, a, " ".join(sys.argv))


def write_markdown(rows: list[dict], a: argparse.Namespace, command: str) -> None:
    lines = [
        "## AutoML search",
        "",
        f"Command: `python bench/automl/run.py {command.split('run.py', 1)[-1].strip()}`",
        "",
    ]
    if a.label:
        lines += [a.label, ""]
    for budget in a.budgets:
        lines += [
            f"### Budget {budget:g} s (2 cores, held-out 20%; ROC AUC binary ↑, log loss multiclass ↓, RMSE regression ↓)",
            "",
            "| dataset | " + " | ".join(a.systems) + " | overrun (civicml) |",
            "|---|" + "---|" * (len(a.systems) + 1),
        ]
        ranks: dict[str, list[float]] = {s: [] for s in a.systems}
        wins = {s: 0 for s in a.systems}
        for name in a.datasets:
            rs = {r["system"]: r for r in rows if r["dataset"] == name and r["budget"] == budget}
            cells = []
            scores = {}
            for s in a.systems:
                r = rs.get(s, {})
                if "score" in r:
                    scores[s] = r["score"]
                    cells.append(f"{r['score']:.4f}")
                else:
                    cells.append(f"FAILED ({r.get('failed', 'missing')})")
            lower = rs and next(iter(rs.values()))["task"] in LOWER_IS_BETTER
            order = sorted(scores, key=lambda s: scores[s] if lower else -scores[s])
            for s in a.systems:
                ranks[s].append(order.index(s) + 1 if s in scores else len(a.systems))
            if order:
                wins[order[0]] += 1
            ov = rs.get("civicml", {}).get("overrun")
            lines.append(
                f"| {name} | " + " | ".join(cells) + f" | {'' if ov is None else f'{ov:+.1%}'} |"
            )
        lines += ["", "| system | mean rank | wins |", "|---|---|---|"]
        for s in a.systems:
            lines.append(f"| {s} | {sum(ranks[s]) / max(len(ranks[s]), 1):.2f} | {wins[s]} |")
        lines.append("")
    doc = ROOT / "docs/benchmarks.md"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    section = "\n".join(lines) + "\n"
    if "## AutoML search" in text:
        head, rest = text.split("## AutoML search", 1)
        nxt = rest.find("\n## ")
        text = head + section + (rest[nxt + 1 :] if nxt >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    doc.write_text(text)


if __name__ == "__main__":
    main()
