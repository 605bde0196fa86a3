"""civicml vs FLAML vs AutoGluon: same split, same wall-clock budget, 2 cores.

    python bench/automl/run.py --budgets 60 --out results/b60.jsonl [--datasets ...]
    python bench/automl/run.py --report results/b60.jsonl results/b30.jsonl   # table only

civicml runs from the core venv (.venv); FLAML and AutoGluon from bench/automl/.venv-peers.
Each run is its own subprocess pinned to cores 0 and 1 with ``taskset -c 0,1`` and the same
thread caps (2) for every system; the 1-minute load average is recorded before each run, since
other processes may share the machine. Results are appended to ``--out`` (JSON lines) and the
table in docs/benchmarks.md (## AutoML search) is rewritten from every results file named after
each run, so a run cut short still leaves its complete rows.
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
SYSTEMS = ["civicml", "flaml", "autogluon"]
LOWER_IS_BETTER = {"multiclass", "regression"}
THREADS = "2"


def run(system: str, name: str, budget: float) -> dict:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": THREADS,
        "OPENBLAS_NUM_THREADS": THREADS,
        "MKL_NUM_THREADS": THREADS,
    }
    cmd = ["taskset", "-c", "0,1", str(PY[system]), str(HERE / "run_one.py"), system, name]
    load = os.getloadavg()[0]
    try:
        out = subprocess.run(
            [*cmd, str(budget)],
            capture_output=True,
            text=True,
            env=env,
            cwd=HERE,
            timeout=budget * 3 + 120,
        )
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode == 0 and line:
            return {**json.loads(line[-1]), "load1": load}
        err = (out.stderr.strip().splitlines() or ["no output"])[-1][:200]
    except subprocess.TimeoutExpired:
        err = "timed out"
    return {"system": system, "dataset": name, "budget": budget, "failed": err, "load1": load}


def main() -> None:
    from datasets import LOADERS

    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", type=float, nargs="+", default=[30.0, 60.0])
    ap.add_argument("--datasets", nargs="+", default=list(LOADERS))
    ap.add_argument("--systems", nargs="+", default=SYSTEMS)
    ap.add_argument("--out", default="results/results.jsonl")
    ap.add_argument("--report", nargs="*", help="only rewrite the table from these files")
    a = ap.parse_args()
    if a.report is not None:
        write_markdown(a.report)
        return
    out = HERE / a.out
    out.parent.mkdir(exist_ok=True)
    # Rows already in --out are kept and not re-run (a run cut short resumes where it stopped).
    have = set()
    if out.exists():
        for ln in out.read_text().splitlines():
            if ln.strip():
                r = json.loads(ln)
                have.add((r["system"], r["dataset"], float(r["budget"])))
    for budget in a.budgets:
        for name in a.datasets:
            subprocess.run(
                [str(PY["flaml"]), str(HERE / "run_one.py"), "dump", name, "0"],
                cwd=HERE,
                check=True,
            )
            for system in a.systems:
                if (system, name, float(budget)) in have:
                    continue
                r = run(system, name, budget)
                r["task"] = LOADERS[name][0]
                r["command"] = "python bench/automl/run.py " + " ".join(sys.argv[1:])
                print(json.dumps(r), flush=True)
                with open(out, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
                write_markdown(sorted({str(out), *_known_results()}))


def _known_results() -> list[str]:
    return [str(p) for p in sorted((HERE / "results").glob("b*.jsonl"))]


def table(rows: list[dict], budget: float) -> list[str]:
    """One budget's per-dataset table, mean rank, wins, failures and overruns."""
    rows = [r for r in rows if r["budget"] == budget]
    systems = [s for s in SYSTEMS if any(r["system"] == s for r in rows)]
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    # Only datasets every system has run are ranked (a cut-short run leaves partial rows).
    done = [d for d in datasets if {r["system"] for r in rows if r["dataset"] == d} >= set(systems)]
    lines = [
        f"| dataset | task | {' | '.join(systems)} | overrun {' / '.join(systems)} | load (1 min) |",
        "|---|---|" + "---|" * (len(systems) + 2),
    ]
    ranks: dict[str, list[int]] = {s: [] for s in systems}
    wins = {s: 0.0 for s in systems}
    fails: list[str] = []
    over: dict[str, list[float]] = {s: [] for s in systems}
    for name in done:
        rs = {r["system"]: r for r in rows if r["dataset"] == name}
        task = next(iter(rs.values()))["task"]
        scores = {s: rs[s]["score"] for s in systems if "score" in rs[s]}
        order = sorted(scores, key=lambda s: scores[s] if task in LOWER_IS_BETTER else -scores[s])
        for s in systems:
            if s in scores:
                ranks[s].append(order.index(s) + 1)
                over[s].append(rs[s]["overrun"])
            else:
                ranks[s].append(len(systems))
                fails.append(f"{s} on {name}: {rs[s].get('failed')}")
        if order:
            wins[order[0]] += 1
        cells = [
            f"**{rs[s]['score']:.4f}**"
            if order and s == order[0]
            else (f"{rs[s]['score']:.4f}" if s in scores else "FAILED")
            for s in systems
        ]
        ovs = [f"{rs[s]['overrun']:+.0%}" if s in scores else "–" for s in systems]
        loads = sorted(rs[s].get("load1", float("nan")) for s in systems)
        lines.append(
            f"| {name} | {task} | {' | '.join(cells)} | {' / '.join(ovs)} | "
            f"{loads[0]:.1f}–{loads[-1]:.1f} |"
        )
    lines += [
        "",
        f"{len(done)} datasets complete at this budget.",
        "",
        "| system | mean rank | wins | failures | mean overrun | worst overrun |",
        "|---|---|---|---|---|---|",
    ]
    for s in systems:
        n_fail = sum(1 for f in fails if f.startswith(s + " "))
        mr = sum(ranks[s]) / max(len(ranks[s]), 1)
        mo = sum(over[s]) / max(len(over[s]), 1)
        wo = max(over[s], default=float("nan"))
        lines.append(f"| {s} | {mr:.2f} | {wins[s]:g} | {n_fail} | {mo:+.1%} | {wo:+.1%} |")
    if fails:
        lines += ["", "Failures:", ""] + [f"- {f}" for f in fails]
    return lines


def write_markdown(files: list[str]) -> None:
    rows: list[dict] = []
    commands: list[str] = []
    for f in files:
        p = Path(f) if Path(f).is_absolute() else HERE / f
        if not p.exists():
            continue
        for ln in p.read_text().splitlines():
            if ln.strip():
                r = json.loads(ln)
                rows.append(r)
                if r.get("command") and r["command"] not in commands:
                    commands.append(r["command"])
    lines = ["## AutoML search", ""]
    lines += [f"Command: `{c}`" for c in commands] + [""]
    lines += [
        "Held-out 20% of each dataset (the same stratified 80/20 split for every system); ROC AUC "
        "for binary (higher is better), log loss for multiclass and RMSE for regression (lower is "
        "better); best in bold. Each system runs in its own process pinned to 2 cores "
        "(`taskset -c 0,1`, OMP/BLAS thread caps 2); FLAML `n_jobs=2`, AutoGluon "
        "`medium_quality`, `num_cpus=2`; civicml fits every model on one thread. The clock starts "
        "after the library is imported and stops when the fitted model is ready. The machine is "
        "shared with other engineers' work: the 1-minute load average at each run's start is "
        "shown; above 2 the systems were competing for the cores, which slows every system and "
        "makes civicml's timing estimates less accurate. Overrun = fit time / budget − 1.",
        "",
    ]
    for budget in sorted({r["budget"] for r in rows}, reverse=True):
        lines += [f"### Budget {budget:g} s", ""] + table(rows, budget) + [""]
    notes = HERE / "notes.md"  # the reading of the figures, kept with the code
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
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
