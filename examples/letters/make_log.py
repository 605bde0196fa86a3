"""Write decisions.csv: letters sent by the council's old system, with their outcomes (synthetic).

The old system used a fixed randomised rule: under-30s got the ``deadline`` letter with
probability 0.6 and each other wording with 0.2; everyone else got ``plain`` with 0.6 and each
other wording with 0.2. Each row logs the context, the letter sent, the probability it had (its
propensity) and whether the person responded, drawn from ``civicml.bandits.LetterEnvironment``.
Deterministic: the same file every time (seed 0).

    python examples/letters/make_log.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from civicml.bandits import LetterEnvironment, collect_log

ROWS = 3000
HERE = Path(__file__).resolve().parent


def old_rule(x: np.ndarray) -> np.ndarray:
    """The old system's probabilities of (plain, social_norm, deadline) for each context."""
    young = x[:, 0:1] == 1.0
    return np.where(young, [0.2, 0.2, 0.6], [0.6, 0.2, 0.2])


def main(path: Path = HERE / "decisions.csv", rows: int = ROWS) -> Path:
    """Write the log to ``path`` and return it."""
    env = LetterEnvironment()
    log = collect_log(env, old_rule, rows, seed=0)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow([*env.features, "arm", "propensity", "responded"])
        for x, a, p, r in zip(
            log.contexts, log.actions, log.propensities, log.rewards, strict=True
        ):
            out.writerow([*(int(v) for v in x), env.arms[a], f"{p:g}", int(r)])
    return path


if __name__ == "__main__":
    print(f"Wrote {main()}")
