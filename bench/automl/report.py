"""The benchmark's Markdown: one subsection of docs/benchmarks.md (## AutoML search) per run.

A run's subsection sits between two HTML comments naming its title; only that block is
rewritten, so earlier runs' results (and any prose around them) stay as they were.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parents[1] / "docs/benchmarks.md"
ORDER = ["civicml", "lgbm_default", "flaml", "autogluon"]
LOWER_IS_BETTER = {"multiclass", "regression"}
SMALL_TRAIN = 800  # 80% of 1,000: a table under 1,000 rows


def _better(task: str, a: float, b: float) -> bool:
    return a < b if task in LOWER_IS_BETTER else a > b


def _gain(task: str, civ: float, ref: float) -> float:
    """civicml's relative advantage over ``ref``: positive when civicml is better."""
    d = (ref - civ) if task in LOWER_IS_BETTER else (civ - ref)
    return d / abs(ref) if ref else 0.0


def _ranks(task: str, scores: dict[str, float], systems: list[str]) -> dict[str, float]:
    """Rank per system (1 = best); ties share the mean of their places; a failure is last."""
    out = {}
    for s in systems:
        if s not in scores:
            out[s] = float(len(systems))
            continue
        better = sum(1 for t in scores if _better(task, scores[t], scores[s]))
        tied = sum(1 for t in scores if t != s and scores[t] == scores[s])
        out[s] = 1 + better + tied / 2
    return out


def _row_cells(rs: dict[str, dict], systems: list[str], task: str) -> tuple[list[str], dict]:
    scores = {s: rs[s]["score"] for s in systems if s in rs and "score" in rs[s]}
    best = _ranks(task, scores, systems)
    top = min((best[s] for s in scores), default=0.0)
    cells = []
    for s in systems:
        if s not in scores:
            cells.append("FAILED" if s in rs else "–")
        else:
            v = f"{scores[s]:.4f}"
            cells.append(f"**{v}**" if best[s] == top else v)
    return cells, scores


def table(rows: list[dict], budget: float) -> list[str]:
    """One budget's rows (one per table and seed), then mean rank and the civicml checks."""
    rows = [r for r in rows if float(r["budget"]) == budget]
    systems = [s for s in ORDER if any(r["system"] == s for r in rows)]
    keys = list(dict.fromkeys((r["dataset"], int(r.get("seed", 0))) for r in rows))
    by = {(r["dataset"], int(r.get("seed", 0)), r["system"]): r for r in rows}
    # A (table, seed) is ranked once every chosen system has a row for it (a run cut short
    # leaves partial rows, shown but not ranked).
    cmp = "civicml" in systems and "lgbm_default" in systems
    head = ["table", "seed", "task", "train rows", *systems]
    head += ["civicml vs defaults"] if cmp else []
    head += ["wall s " + " / ".join(systems), "civicml wall / budget", "load (1 min)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ranks: dict[str, list[float]] = {s: [] for s in systems}
    wins = dict.fromkeys(systems, 0.0)
    fails: list[str] = []
    worse: list[str] = []
    pairs: dict[str, list[tuple[float, float, str]]] = {}
    n_cmp = 0
    used: list[tuple[str, float, int]] = []
    for name, seed in keys:
        rs = {s: by[(name, seed, s)] for s in systems if (name, seed, s) in by}
        any_row = next(iter(rs.values()))
        task = any_row["task"]
        cells, scores = _row_cells(rs, systems, task)
        complete = len(rs) == len(systems)
        if complete:
            rk = _ranks(task, scores, systems)
            top = [
                s for s in scores if not any(_better(task, scores[t], scores[s]) for t in scores)
            ]
            for s in systems:
                ranks[s].append(rk[s])
                if s not in scores:
                    fails.append(f"{s} on {name} (seed {seed}): {rs[s].get('failed')}")
                if s in top:  # a tie for first shares the win
                    wins[s] += 1 / len(top)
        n_train = next((r["n_train"] for r in rs.values() if "n_train" in r), None)
        extra = []
        if cmp:
            if "civicml" in scores and "lgbm_default" in scores:
                n_cmp += 1
                pairs.setdefault(name, []).append((scores["civicml"], scores["lgbm_default"], task))
                g = _gain(task, scores["civicml"], scores["lgbm_default"])
                bad = _better(task, scores["lgbm_default"], scores["civicml"])
                extra.append(f"**{g:+.2%}**" if bad else f"{g:+.2%}")
                if bad:
                    worse.append(
                        f"{name} (seed {seed}, {task}): civicml {scores['civicml']:.4f}, "
                        f"defaults {scores['lgbm_default']:.4f} ({g:+.2%})"
                    )
            else:
                extra.append("–")
        walls = " / ".join(
            f"{rs[s]['fit_seconds']:.1f}" if s in rs and "fit_seconds" in rs[s] else "–"
            for s in systems
        )
        civ = rs.get("civicml", {})
        ratio = f"{civ['fit_seconds'] / budget:.2f}" if "fit_seconds" in civ else "–"
        if "fit_seconds" in civ and n_train is not None:
            used.append((name, civ["fit_seconds"] / budget, n_train))
        loads = sorted(r.get("load1", float("nan")) for r in rs.values())
        lines.append(
            f"| {name} | {seed} | {task} | {n_train if n_train is not None else '–'} | "
            + " | ".join(cells + extra)
            + f" | {walls} | {ratio} | {loads[0]:.1f}–{loads[-1]:.1f} |"
        )
    n_ranked = len(next(iter(ranks.values()), []))
    lines += [
        "",
        f"{n_ranked} (table, seed) rows complete at this budget, of {len(keys)}.",
        "",
        "| system | mean rank | wins | failures | mean wall / budget | worst wall / budget |",
        "|---|---|---|---|---|---|",
    ]
    for s in systems:
        n_fail = sum(1 for f in fails if f.startswith(s + " "))
        mr = sum(ranks[s]) / max(len(ranks[s]), 1)
        w = [r["fit_seconds"] / budget for r in rows if r["system"] == s and "fit_seconds" in r]
        mw = f"{sum(w) / len(w):.2f}" if w else "–"
        ww = f"{max(w):.2f}" if w else "–"
        if s == "lgbm_default":  # no budget: it runs to completion
            mw, ww = f"({mw}, no budget)", f"({ww})"
        lines.append(f"| {s} | {mr:.2f} | {wins[s]:g} | {n_fail} | {mw} | {ww} |")
    lines += _civicml_checks(cmp, worse, n_cmp, used)
    lines += _per_table_lines(pairs)
    lines += _guard_lines(rows)
    if fails:
        lines += ["", "Failures:", ""] + [f"- {f}" for f in fails]
    return lines


def _civicml_checks(
    cmp: bool, worse: list[str], n_cmp: int, used: list[tuple[str, float, int]]
) -> list[str]:
    lines: list[str] = []
    if cmp:
        share = len(worse) / n_cmp if n_cmp else float("nan")
        lines += [
            "",
            f"civicml worse than LightGBM defaults on {len(worse)} of {n_cmp} (table, seed) rows "
            f"({share:.0%})" + (":" if worse else "."),
        ]
        lines += [f"- {w}" for w in worse]
    if used:
        over = max(u for _, u, _ in used)
        small = [u for _, u, n in used if n < SMALL_TRAIN]
        lines += [
            "",
            f"civicml wall time / budget: worst {over:.2f} (overrun {over - 1:+.0%}); "
            f"{sum(1 for _, u, _ in used if u > 1.05)} of {len(used)} runs more than 5% over.",
        ]
        if small:
            lines.append(
                f"Tables under 1,000 rows ({len(small)} runs): civicml used "
                f"{min(small):.0%}–{max(small):.0%} of the budget (mean "
                f"{sum(small) / len(small):.0%}); {sum(1 for u in small if u < 0.9)} under 90%."
            )
    return lines


def _per_table_lines(pairs: dict[str, list[tuple[float, float, str]]]) -> list[str]:
    """The same comparison per table: civicml's and the defaults' scores averaged over the
    seeds both were scored on (only when some table has more than one seed)."""
    if not any(len(v) > 1 for v in pairs.values()):
        return []
    worse = []
    for name, v in pairs.items():
        civ, ref = sum(c for c, _, _ in v) / len(v), sum(d for _, d, _ in v) / len(v)
        if _better(v[0][2], ref, civ):
            worse.append(f"{name} ({civ:.4f} against {ref:.4f}, {len(v)} seeds)")
    return [
        "",
        f"Per table, averaged over the seeds: civicml worse than LightGBM defaults on "
        f"{len(worse)} of {len(pairs)} tables ({len(worse) / len(pairs):.0%})"
        + (": " + "; ".join(worse) + "." if worse else "."),
    ]


def _guard_lines(rows: list[dict]) -> list[str]:
    """How often civicml's defaults guard kept LightGBM's library defaults for the noise (step
    2) and on fresh folds (step 3), and how the choice each step overruled (refitted after the
    clock, uncalibrated) did held out against ``lgbm_default`` on the same split."""
    civ = [r for r in rows if r["system"] == "civicml" and "score" in r]
    if not civ or "kept_because" not in civ[0]:
        return []  # an older run: its rows do not carry the guard's record
    ref = {
        (r["dataset"], int(r.get("seed", 0))): r["score"]
        for r in rows
        if r["system"] == "lgbm_default" and "score" in r
    }
    out = [""]
    steps = [("noise", "noise_step", "for the noise")]
    if any("without_fresh_check" in r for r in civ):
        steps.append(("fresh folds", "fresh_check", "on fresh folds"))
    for because, step, words in steps:
        kept = [r for r in civ if r.get("kept_because") == because]
        line = (
            f"The defaults guard kept LightGBM's library defaults {words} in {len(kept)} of "
            f"{len(civ)} civicml runs"
        )
        if kept:
            line += "; the choice it overruled would have been " + _overruled(kept, step, ref)
        out.append(line + ".")
    checked = [r for r in civ if (r.get("fresh_folds") or {}).get("run")]
    if len(steps) > 1:
        skipped = [r for r in civ if r.get("fresh_check_not_run")]
        tested = [r for r in skipped if r.get("unconfirmed")]
        kept = sum(1 for r in tested if not r["unconfirmed"].get("beats"))
        out[-1] += (
            f" The fresh-fold check ran in {len(checked)} runs"
            + (f" and could not run in {len(skipped)}" if skipped else "")
            + (
                f"; in {len(tested)} of those the choice had to pass the one-sided test on the "
                f"search's own folds instead, and {kept} did not (the defaults were kept)"
                if tested
                else ""
            )
            + "."
        )
    return out


def _overruled(kept: list[dict], step: str, ref: dict) -> str:
    worse = better = same = unscored = 0
    for r in kept:
        alt, d = r.get(f"score_without_{step}"), ref.get((r["dataset"], int(r["seed"])))
        if alt is None or d is None:
            unscored += 1
        elif _better(r["task"], d, alt):
            worse += 1
        elif _better(r["task"], alt, d):
            better += 1
        else:
            same += 1
    return f"worse than `lgbm_default` held out in {worse}, better in {better}, level in {same}" + (
        f" (not scored: {unscored})" if unscored else ""
    )


def _read(files: list[str]) -> tuple[list[dict], list[str]]:
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
    return rows, commands


INTRO = (
    "Held-out 20% of each table (the same stratified 80/20 split, seeded by the seed, for every "
    "system); ROC AUC for binary (higher is better), log loss for multiclass and RMSE for "
    "regression (lower is better); best in bold. *civicml vs defaults* is civicml's relative "
    "advantage over LightGBM with its library defaults (`LGBMClassifier()` / `LGBMRegressor()`, "
    "non-numeric columns as pandas category, fitted on the same training split with no budget; "
    "positive = civicml better, bold = civicml worse). Each system runs in its own process "
    "pinned to 2 cores (`taskset -c 0,1`, OMP/BLAS thread caps 2); FLAML `n_jobs=2` and "
    "AutoGluon `medium_quality`, `num_cpus=2` (versions in requirements.txt), each told the "
    "same metric. Wall s and wall / budget are fit times (`lgbm_default` has no budget and "
    "runs to completion). The clock starts after the "
    "library is imported and stops when the fitted model is ready. The 1-minute load average "
    "at each run's start is shown: the machine is shared, and above 2 the runs competed for "
    "the cores."
)


def block(files: list[str], title: str) -> list[str]:
    rows, commands = _read(files)
    lines = [f"### {title}", ""]
    lines += [f"Command: `{c}`" for c in commands]
    commits = sorted({r["commit"] for r in rows if r["system"] == "civicml" and r.get("commit")})
    if commits:
        lines += ["", "civicml's rows ran at commit " + ", ".join(f"`{c}`" for c in commits) + "."]
    lines += ["", INTRO, ""]
    for budget in sorted({float(r["budget"]) for r in rows}, reverse=True):
        lines += [f"#### Budget {budget:g} s", ""] + table(rows, budget) + [""]
    notes = notes_file(title)  # the reading of the run's figures, kept with the code
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    return lines


def notes_file(title: str) -> Path:
    """Where the reading of run ``title`` is kept: ``notes/<title as a slug>.md``.

    >>> notes_file("Issue 22: 21 tables (60 s, seed 0)").name
    'issue-22-21-tables-60-s-seed-0.md'
    """
    slug = "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())
    return HERE / "notes" / f"{slug}.md"


def write_markdown(files: list[str], title: str, doc: Path = DOC) -> None:
    """Rewrite the subsection ``title`` of ## AutoML search in ``doc`` from result files."""
    begin, end = f"<!-- bench/automl run: {title} -->", f"<!-- /bench/automl run: {title} -->"
    section = "\n".join([begin, *block(files, title), end]) + "\n"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section.rstrip("\n") + rest.split(end, 1)[1]
    elif "## AutoML search" in text:
        head, rest = text.split("## AutoML search", 1)
        nxt = rest.find("\n## ")
        if nxt < 0:
            text = head + "## AutoML search" + rest.rstrip() + "\n\n" + section
        else:
            text = (
                head + "## AutoML search" + rest[: nxt + 1].rstrip() + "\n\n" + section + rest[nxt:]
            )
    else:
        text = text.rstrip() + "\n\n## AutoML search\n\n" + section
    doc.write_text(text)
