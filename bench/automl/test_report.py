"""Checks of the benchmark's report (not part of the main suite; run with
``.venv/bin/python -m pytest -q -p no:cacheprovider bench/automl/test_report.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import _ranks, table, write_markdown


def _row(
    system: str,
    name: str,
    score: float,
    fit: float,
    *,
    seed: int = 0,
    task: str = "binary",
    n_train: int = 500,
    budget: float = 30.0,
) -> dict:
    return {
        "system": system,
        "dataset": name,
        "budget": budget,
        "seed": seed,
        "task": task,
        "score": score,
        "fit_seconds": fit,
        "n_train": n_train,
        "load1": 1.0,
    }


def test_ties_share_places_and_failures_are_last() -> None:
    r = _ranks("binary", {"a": 0.9, "b": 0.9, "c": 0.8}, ["a", "b", "c", "d"])
    assert r == {"a": 1.5, "b": 1.5, "c": 3.0, "d": 4.0}
    r = _ranks("regression", {"a": 2.0, "b": 1.0}, ["a", "b"])
    assert r == {"a": 2.0, "b": 1.0}


def test_worse_than_defaults_overrun_and_small_budget_share() -> None:
    rows = [
        _row("civicml", "t1", 0.80, 31.8),  # worse than defaults (AUC), 6% over
        _row("lgbm_default", "t1", 0.81, 1.0),
        _row("civicml", "t2", 1.0, 27.0, task="regression", n_train=5000),  # better (RMSE)
        _row("lgbm_default", "t2", 1.1, 2.0, task="regression", n_train=5000),
        _row("civicml", "t1", 0.90, 25.0, seed=1),  # small table, 83% of the budget
        {
            "system": "lgbm_default",
            "dataset": "t1",
            "budget": 30.0,
            "seed": 1,
            "failed": "x",
            "load1": 1.0,
            "task": "binary",
        },
    ]
    text = "\n".join(table(rows, 30.0))
    assert "civicml worse than LightGBM defaults on 1 of 2 (table, seed) rows (50%)" in text
    assert "- t1 (seed 0, binary): civicml 0.8000, defaults 0.8100 (-1.23%)" in text
    assert "1 of 3 runs more than 5% over" in text
    assert "worst 1.06 (overrun +6%)" in text
    assert "Tables under 1,000 rows (2 runs)" in text and "1 under 90%" in text
    assert "| civicml | 1.33 | 2 | 0 |" in text  # ranks 2, 1, 1 (defaults failed on seed 1)
    assert "lgbm_default on t1 (seed 1): x" in text


def test_per_table_the_seeds_are_averaged() -> None:
    rows = [
        _row("civicml", "t1", 0.80, 28.0),  # seed 0: worse by 0.01
        _row("lgbm_default", "t1", 0.81, 1.0),
        _row("civicml", "t1", 0.90, 28.0, seed=1),  # seed 1: better by 0.05
        _row("lgbm_default", "t1", 0.85, 1.0, seed=1),
        _row("civicml", "t2", 2.2, 28.0, task="regression"),  # worse on both seeds (RMSE)
        _row("lgbm_default", "t2", 2.0, 1.0, task="regression"),
        _row("civicml", "t2", 2.4, 28.0, seed=1, task="regression"),
        _row("lgbm_default", "t2", 2.0, 1.0, seed=1, task="regression"),
    ]
    text = "\n".join(table(rows, 30.0))
    assert "on 3 of 4 (table, seed) rows (75%)" in text
    assert (
        "Per table, averaged over the seeds: civicml worse than LightGBM defaults on 1 of 2 "
        "tables (50%): t2 (2.3000 against 2.0000, 2 seeds)." in text
    )
    # one seed per table: the per-row line says it all
    assert "Per table" not in "\n".join(table(rows[:2], 30.0))


def test_only_the_runs_own_block_is_rewritten(tmp_path: Path) -> None:
    doc = tmp_path / "b.md"
    doc.write_text("# B\n\n## AutoML search\n\nearlier run, kept\n\n## Serving\n\nkept too\n")
    res = tmp_path / "r.jsonl"
    res.write_text(json.dumps({**_row("civicml", "t1", 0.8, 20.0), "command": "cmd one"}) + "\n")
    write_markdown([str(res)], "Run A", doc)
    write_markdown([str(res)], "Run A", doc)  # idempotent: replaced, not appended
    res.write_text(json.dumps({**_row("civicml", "t1", 0.7, 20.0), "command": "cmd two"}) + "\n")
    write_markdown([str(res)], "Run B", doc)
    text = doc.read_text()
    assert text.count("### Run A") == 1 and text.count("### Run B") == 1
    assert text.index("earlier run, kept") < text.index("### Run A") < text.index("### Run B")
    assert text.index("### Run B") < text.index("## Serving") and text.endswith("kept too\n")
    assert "`cmd one`" in text and "`cmd two`" in text


def test_the_guard_line_counts_what_the_noise_step_overruled() -> None:
    guard = {"kept_because": None, "kept_default": False}
    rows = [
        {**_row("civicml", "t1", 0.80, 28.0), **guard},
        _row("lgbm_default", "t1", 0.79, 1.0),
        # kept for the noise; the overruled choice would have lost to the defaults
        {**_row("civicml", "t2", 0.81, 28.0), "kept_because": "noise"}
        | {"score_without_noise_step": 0.78},
        _row("lgbm_default", "t2", 0.81, 1.0),
        # kept for the noise; the overruled choice (an ensemble) was not scored
        {**_row("civicml", "t3", 2.0, 28.0, task="regression"), "kept_because": "noise"},
        _row("lgbm_default", "t3", 2.0, 1.0, task="regression"),
    ]
    text = "\n".join(table(rows, 30.0))
    assert (
        "kept LightGBM's library defaults for the noise in 2 of 3 civicml runs; the choice it "
        "overruled would have been worse than `lgbm_default` held out in 1, better in 0, level "
        "in 0 (not scored: 1)." in text
    )
    # rows from before the guard's record: no line
    assert "defaults guard" not in "\n".join(table([_row("civicml", "t1", 0.8, 28.0)], 30.0))


def test_the_guard_lines_count_what_the_fresh_check_overruled() -> None:
    fresh = {"run": True, "beats": False}
    rows = [
        # kept on fresh folds; the overruled choice would have beaten the defaults held out
        {**_row("civicml", "t1", 0.80, 28.0), "kept_because": "fresh folds"}
        | {"without_fresh_check": "knn_4", "fresh_folds": fresh, "score_without_fresh_check": 0.9},
        _row("lgbm_default", "t1", 0.80, 1.0),
        # the check passed
        {**_row("civicml", "t2", 0.85, 28.0), "kept_because": None}
        | {"without_fresh_check": "linear", "fresh_folds": {"run": True, "beats": True}},
        _row("lgbm_default", "t2", 0.81, 1.0),
        # it could not run
        {**_row("civicml", "t3", 0.7, 28.0), "kept_because": None}
        | {"without_fresh_check": "linear", "fresh_check_not_run": "not run: no time"},
        _row("lgbm_default", "t3", 0.69, 1.0),
    ]
    text = "\n".join(table(rows, 30.0))
    assert "for the noise in 0 of 3 civicml runs." in text
    assert (
        "on fresh folds in 1 of 3 civicml runs; the choice it overruled would have been worse "
        "than `lgbm_default` held out in 0, better in 1, level in 0. The fresh-fold check ran in "
        "2 runs and could not run in 1." in text
    )
    # rows that record the fallback: the one-sided test on the search's own folds
    rows += [
        {**_row("civicml", "t4", 0.7, 28.0), "kept_because": "fresh folds"}
        | {"without_fresh_check": "knn", "fresh_check_not_run": "not run: no time"}
        | {"unconfirmed": {"beats": False}, "score_without_fresh_check": 0.6},
        _row("lgbm_default", "t4", 0.7, 1.0),
    ]
    text = "\n".join(table(rows, 30.0))
    assert (
        "could not run in 2; in 1 of those the choice had to pass the one-sided test on the "
        "search's own folds instead, and 1 did not (the defaults were kept)." in text
    )
