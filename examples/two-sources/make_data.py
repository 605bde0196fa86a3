"""Derive the two-sources example from examples/benefits/benefits.csv (deterministic).

Splits the first 800 rows into two tables joined by ``person_id``:

* ``people.csv`` — who the person is: a date of birth (instead of an age), sex with untidy
  spacing and case, and a few exact duplicate rows, as exports from case systems often have;
* ``jobs.csv`` — the job they lost and whether they took up unemployment insurance (``ui``).

Run from the repository root:  python examples/two-sources/make_data.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROWS = 800
AS_OF = dt.date(1991, 12, 31)


def main() -> None:
    src = pd.read_csv(HERE.parent / "benefits" / "benefits.csv").head(ROWS).reset_index(drop=True)
    src.insert(0, "person_id", [f"P{i:05d}" for i in range(1, len(src) + 1)])
    # a date of birth consistent with the age on AS_OF: birthday spread over the year
    dobs = [
        dt.date(AS_OF.year - int(age) - 1, 1 + i % 12, 1 + i % 28)
        if (1 + i % 12, 1 + i % 28) > (AS_OF.month, AS_OF.day)
        else dt.date(AS_OF.year - int(age), 1 + i % 12, 1 + i % 28)
        for i, age in enumerate(src["age"])
    ]
    people = pd.DataFrame(
        {
            "person_id": src["person_id"],
            "date_of_birth": [d.strftime("%d/%m/%Y") for d in dobs],
            "sex": [f"  {s.upper()} " if i % 7 == 0 else s for i, s in enumerate(src["sex"])],
            "nwhite": src["nwhite"],
            "school12": src["school12"],
            "married": src["married"],
            "dkids": src["dkids"],
            "dykids": src["dykids"],
            "head": src["head"],
        }
    )
    people = pd.concat([people, people.iloc[::100]], ignore_index=True)  # 8 duplicate rows
    jobs = src[
        [
            "person_id",
            "state",
            "stateur",
            "statemb",
            "tenure",
            "joblost",
            "bluecol",
            "smsa",
            "yrdispl",
            "rr",
            "ui",
        ]
    ]
    people.to_csv(HERE / "people.csv", index=False)
    jobs.to_csv(HERE / "jobs.csv", index=False)
    print(f"wrote {len(people)} people rows and {len(jobs)} job rows to {HERE}")


if __name__ == "__main__":
    main()
