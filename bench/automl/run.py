"""civicml vs LightGBM defaults, FLAML and AutoGluon: same split, same wall-clock budget, 2 cores.

    python bench/automl/run.py --budgets 30 60 --seeds 0 1 2 --out results/r.jsonl \\
        --title "Run name" [--datasets ...] [--systems civicml lgbm_default]
    python bench/automl/run.py --report results/r.jsonl --title "Run name"   # table only

civicml and lgbm_default run from the core venv (.venv); FLAML and AutoGluon from
bench/automl/.venv-peers. The split is written once per (table, seed) as CSV by a Python that
has the dataset packages (``--data-python``: .venv-peers when it exists, else
``$CIVICML_BENCH_DATA_PY``; see requirements-data.txt), and every system reads the same CSVs.
Each run is its own subprocess pinned to cores 0 and 1 with ``taskset -c 0,1`` and the same
thread caps (2) for every system; the 1-minute load average is recorded before each run, since
other processes may share the machine. Results are appended to ``--out`` (JSON lines; rows
already there are not re-run, so a run cut short resumes) and, after each run, the subsection
``--title`` of docs/benchmarks.md (## AutoML search) is rewritten from ``--out``; the rest of
the section, earlier runs included, is left as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from report import DOC, write_markdown

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PEERS = HERE / ".venv-peers/bin/python"
PY = {
    "civicml": ROOT / ".venv/bin/python",
    "lgbm_default": ROOT / ".venv/bin/python",
    "flaml": PEERS,
    "autogluon": PEERS,
}
SYSTEMS = ["civicml", "lgbm_default", "flaml", "autogluon"]
THREADS = "2"


def run(system: str, name: str, budget: float, seed: int) -> dict:
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
            [*cmd, str(budget), str(seed)],
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
        (HERE / "results" / "failures.log").open("a").write(
            f"== {system} {name} budget={budget} seed={seed}\n{out.stderr[-6000:]}\n"
        )
    except subprocess.TimeoutExpired:
        err = "timed out"
    return {
        "system": system,
        "dataset": name,
        "budget": budget,
        "seed": seed,
        "failed": err,
        "load1": load,
    }


def _commit() -> str:
    """The code's commit (``+dirty`` with uncommitted changes): civicml's rows are valid for it
    alone, while the peers' and ``lgbm_default``'s rows do not depend on civicml's code."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "src"], capture_output=True, text=True)
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _data_python(arg: str | None) -> str:
    if arg:
        return arg
    if PEERS.exists():
        return str(PEERS)
    env = os.environ.get("CIVICML_BENCH_DATA_PY")
    if env:
        return env
    sys.exit(
        "run.py: no Python with the dataset packages: build bench/automl/.venv-peers, or pass "
        "--data-python (a venv with bench/automl/requirements-data.txt installed)"
    )


def main() -> None:
    from datasets import LOADERS

    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", type=float, nargs="+", default=[30.0, 60.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--datasets", nargs="+", default=list(LOADERS), choices=list(LOADERS))
    ap.add_argument("--systems", nargs="+", default=SYSTEMS, choices=SYSTEMS)
    ap.add_argument("--out", default="results/results.jsonl")
    ap.add_argument("--title", default="Latest run", help="subsection of docs/benchmarks.md")
    ap.add_argument("--data-python", help="a Python with the dataset packages")
    ap.add_argument("--doc", type=Path, default=DOC, help="the Markdown file to update")
    ap.add_argument("--report", nargs="*", help="only rewrite the subsection from these files")
    a = ap.parse_args()
    if a.report is not None:
        write_markdown(a.report, a.title, a.doc)
        return
    for s in a.systems:
        if not PY[s].exists():
            sys.exit(f"run.py: {s} needs {PY[s]}, which does not exist (see requirements.txt)")
    data_py = _data_python(a.data_python)
    out = HERE / a.out
    out.parent.mkdir(exist_ok=True)
    have = set()
    if out.exists():
        for ln in out.read_text().splitlines():
            if ln.strip():
                r = json.loads(ln)
                have.add((r["system"], r["dataset"], float(r["budget"]), int(r.get("seed", 0))))
    command = "python bench/automl/run.py " + shlex.join(sys.argv[1:])
    commit = _commit()
    for seed in a.seeds:
        for budget in a.budgets:
            for name in a.datasets:
                todo = [s for s in a.systems if (s, name, float(budget), seed) not in have]
                if not todo:
                    continue
                subprocess.run(
                    [data_py, str(HERE / "run_one.py"), "dump", name, str(seed)],
                    cwd=HERE,
                    check=True,
                )
                for system in todo:
                    r = run(system, name, budget, seed)
                    r["task"] = LOADERS[name][0]
                    r["command"] = command
                    r["commit"] = commit
                    print(json.dumps(r), flush=True)
                    with open(out, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
                    write_markdown([str(out)], a.title, a.doc)


if __name__ == "__main__":
    main()
