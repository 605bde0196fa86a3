"""A small bundle served by the real ASGI app, whose decision log the server writes itself.

The bundle is shaped like a trained one (a scikit-learn pipeline, a contract with roles, the
reference split by :func:`civicml.monitor.build_reference` with the model's scores) and holds
the columns issue 20 is about: a categorical ``band`` with missing values, a ``opened`` date,
free-text ``notes`` (redacted in the log) and a ``case_id`` identifier. Traffic is drawn from
the reference's own distribution, so nothing has drifted: a monitor that says otherwise is
comparing something it should not.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TOKEN = "tok-verdict"
BANDS = ["A", "B", "C", None]
SHARES = [0.4, 0.3, 0.2, 0.1]
WORDS = ["late", "rent", "arrears", "called", "visit", "letter", "repair", "damp", "paid"]
START = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
ROLES = {
    "case_id": "id",
    "tenure": "numeric",
    "band": "categorical",
    "opened": "date",
    "notes": "text",
}
FEATURES = ["tenure", "band", "opened", "notes"]


def rows(n: int, *, year: int, seed: int) -> pd.DataFrame:
    """``n`` cases; ``band`` takes exactly the shares :data:`SHARES` (missing included)."""
    rng = np.random.default_rng(seed)
    counts = np.round(np.array(SHARES) * n).astype(int)
    counts[0] += n - counts.sum()
    band = np.concatenate([[b] * c for b, c in zip(BANDS, counts, strict=True)]).astype(object)
    rng.shuffle(band)
    days = rng.integers(0, 28, n)  # few distinct dates: a monitor could take them as categories
    # tenure at evenly spaced quantiles of one gamma distribution, shuffled: any two samples
    # share the distribution almost exactly, so no test can find drift in them by chance
    from scipy.stats import gamma

    tenure = gamma.ppf((np.arange(n) + 0.5) / n, 2.0, scale=3.0).round(1)
    rng.shuffle(tenure)
    return pd.DataFrame(
        {
            "case_id": [f"C{year}-{i:05d}" for i in range(n)],
            "tenure": tenure,
            "band": band,
            "opened": [(dt.date(year, 1, 1) + dt.timedelta(days=int(d))).isoformat() for d in days],
            "notes": [" ".join(rng.choice(WORDS, int(k))) for k in rng.integers(3, 12, n)],
        }
    )


def make_bundle(dest: Path) -> Any:
    """A binary model on ``tenure`` and ``band``, with the reference a trained bundle keeps."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from civicml.bundle import save_bundle
    from civicml.monitor import build_reference

    train = rows(600, year=2024, seed=0)
    y = np.where(train["tenure"] > 5, "yes", "no")
    cat = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="none"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer([("num", "passthrough", ["tenure"]), ("cat", cat, ["band"])]),
            ),
            ("model", LogisticRegression(max_iter=500)),
        ]
    ).fit(train.astype({"band": object}), y)
    proba = pipe.predict_proba(train)[:, 1]
    outputs = pd.DataFrame({"score": proba, "decision": (proba >= 0.5).astype(int)})
    public, doc = build_reference(
        train[FEATURES],
        features=FEATURES,
        roles=ROLES,
        private={"notes": "text"},
        outputs=outputs,
    )
    contract = {
        "columns": [
            {"name": "case_id", "dtype": "string", "role": "id", "nullable": False},
            {"name": "tenure", "dtype": "float", "role": "numeric", "nullable": False},
            {
                "name": "band",
                "dtype": "string",
                "role": "categorical",
                "nullable": True,
                "categories": ["A", "B", "C"],
            },
            {
                "name": "opened",
                "dtype": "datetime",
                "role": "date",
                "nullable": False,
                "date_format": "%Y-%m-%d",
            },
            {"name": "notes", "dtype": "string", "role": "text", "nullable": False},
            {"name": "outcome", "dtype": "string", "role": "target"},
        ],
        "target": "outcome",
    }
    return save_bundle(
        dest,
        model=pipe,
        documents={
            "model_info.json": {
                "name": "cases",
                "task": "binary",
                "features": FEATURES,
                "classes": ["no", "yes"],
                "threshold": 0.5,
                "id_columns": ["case_id"],
            },
            "contract.json": contract,
            "spec.json": {"columns": {"id": ["case_id"], "text": ["notes"], "date": ["opened"]}},
            "reference.json": doc,
        },
        tables={"reference.parquet": public},
        overwrite=True,
    )


def serve_traffic(bundle: Any, log_dir: Path, traffic: pd.DataFrame) -> None:
    """POST ``traffic`` to the real server in batches of 50, one replayed hour per batch."""
    from starlette.testclient import TestClient

    from civicml.serve import DecisionLog, ServeOptions, StaticToken, create_app

    class ClockedLog(DecisionLog):
        """The server's log, with the replay's clock."""

        now: dt.datetime = START

        def append(self, record: dict[str, Any]) -> None:
            super().append({**record, "time": self.now})

    log = ClockedLog(log_dir, max_seconds=0.2)
    app = create_app(
        str(bundle.path),
        verifier={TOKEN: StaticToken("replayer", ("predict",))}.get,
        decision_log=log,
        poll_seconds=0,
        options=ServeOptions(out_of_range="allow", unknown_category="allow"),
    )
    with TestClient(app) as client:
        for i, lo in enumerate(range(0, len(traffic), 50)):
            log.now = START + dt.timedelta(hours=6 * i)
            body = json.loads(traffic.iloc[lo : lo + 50].to_json(orient="records"))
            r = client.post("/predict", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200, r.text
        log.flush()  # before the app's shutdown stops the writer
