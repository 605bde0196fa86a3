"""Helpers shared by the serving tests (a tiny bundle, tokens, a live uvicorn server)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from live_server import free_port

os.environ.setdefault("OMP_NUM_THREADS", "1")

PREDICT_TOKEN = "tok-predict"
ADMIN_TOKEN = "tok-admin"
VIEWER_ONLY = "tok-nothing"
REVIEW_TOKEN = "tok-review"
OTHER_SERVICE = "tok-other-service"


def onnx_files(pipe: Any, X: pd.DataFrame) -> dict[str, bytes]:
    """``model.onnx`` for ``pipe`` when it exports and passes parity on ``X`` (else nothing)."""
    from civicml.bundle._onnx import export_onnx, parity

    exported = export_onnx(pipe, X.head(50))
    assert exported.model is not None, exported.reason
    check = parity(exported.model, pipe, X)
    assert check.ok, check
    return {"model.onnx": exported.model}


def make_bundle(
    dest: Path,
    *,
    seed: int = 0,
    name: str = "claims",
    onnx: bool = False,
    special_category: dict[str, str] | None = None,
) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from civicml.bundle import save_bundle

    rng = np.random.default_rng(seed)
    n = 300
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(30_000, 8_000, n).round(2),
            "region": rng.choice(["N", "S", "E", "W"], n),
            "postcode": rng.choice(["AB1 2CD", "EF3 4GH", "SW1A 1AA"], n),
            "member": rng.choice([True, False], n),
        }
    )
    y = np.where(df["age"] + rng.normal(0, 10, n) > 50, "yes", "no")
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        (
                            "num",
                            make_pipeline(SimpleImputer(), StandardScaler()),
                            ["age", "income"],
                        ),
                        (
                            "cat",
                            OneHotEncoder(handle_unknown="ignore"),
                            ["region", "postcode", "member"],
                        ),
                    ]
                ),
            ),
            ("model", LogisticRegression(max_iter=500)),
        ]
    ).fit(df, y)
    contract = {
        "columns": [
            {"name": "person_id", "dtype": "string", "role": "id", "nullable": False},
            {
                "name": "age",
                "dtype": "integer",
                "role": "numeric",
                "nullable": False,
                "min": 18,
                "max": 90,
            },
            {
                "name": "income",
                "dtype": "float",
                "role": "numeric",
                "nullable": True,
                "min": 0,
                "max": 100000,
            },
            {
                "name": "region",
                "dtype": "string",
                "role": "categorical",
                "nullable": False,
                "categories": ["E", "N", "S", "W"],
            },
            {
                "name": "postcode",
                "dtype": "string",
                "role": "categorical",
                "nullable": True,
                "categories": None,
            },
            {
                "name": "member",
                "dtype": "boolean",
                "role": "categorical",
                "nullable": False,
                "categories": ["False", "True"],
            },
            {"name": "outcome", "dtype": "string", "role": "target"},
        ],
        "target": "outcome",
    }
    features = ["age", "income", "region", "postcode", "member"]
    files = {}
    if onnx:
        holdout = df.copy()
        holdout.loc[::9, "income"] = np.nan
        holdout.loc[::11, "postcode"] = None
        files = onnx_files(pipe, holdout)
    return save_bundle(
        dest,
        model=pipe,
        files=files,
        documents={
            "model_info.json": {
                "name": name,
                "task": "binary",
                "features": features,
                "classes": ["no", "yes"],
                "threshold": 0.4,
                "id_columns": ["person_id"],
            },
            "contract.json": contract,
            "spec.json": {
                "personal_data": {"allow": ["postcode"]},
                "columns": {"id": ["person_id"], "special_category": special_category or {}},
            },
        },
        overwrite=True,
    )


def make_lgbm_bundle(dest: Path, *, seed: int = 0) -> Any:
    """A civicml-built LightGBM pipeline (to_str + OrdinalEncoder + AsCategorical, native
    categorical splits) with a verified model.onnx."""
    from civicml.bundle import save_bundle
    from civicml.learn import FAMILIES, FeatureRoles, build_pipeline

    rng = np.random.default_rng(seed)
    n = 600
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n).astype(float),
            "income": rng.normal(30_000, 8_000, n).round(2),
            "region": rng.choice(["N", "S", "E", "W", "X"], n),
            "member": rng.choice([True, False], n),
        }
    )
    df.loc[::13, "income"] = np.nan
    df["region"] = df["region"].astype(object)
    df.loc[::17, "region"] = None
    score = df["age"] / 30 + (df["region"] == "N") * 1.5 + df["member"] * 0.7
    y = np.where(score + rng.normal(0, 0.5, n) > 2.6, 1, 0)
    roles = FeatureRoles(numeric=["age", "income"], categorical=["region", "member"])
    pipe = build_pipeline(
        FAMILIES["lightgbm"], "binary", roles, {"n_estimators": 40, "min_child_samples": 5}, 0
    ).fit(df[roles.features], y)
    holdout = df[roles.features].copy()
    holdout.loc[::7, "region"] = "never-seen"
    contract = {
        "columns": [
            {"name": "age", "dtype": "integer", "role": "numeric", "nullable": True},
            {"name": "income", "dtype": "float", "role": "numeric", "nullable": True},
            {
                "name": "region",
                "dtype": "string",
                "role": "categorical",
                "nullable": True,
                "categories": ["E", "N", "S", "W", "X"],
            },
            {"name": "member", "dtype": "boolean", "role": "categorical", "nullable": True},
        ]
    }
    return save_bundle(
        dest,
        model=pipe,
        files=onnx_files(pipe, holdout),
        documents={
            "model_info.json": {
                "name": "lgbm",
                "task": "binary",
                "features": roles.features,
                "classes": [0, 1],
                "threshold": 0.45,
                "id_columns": [],
            },
            "contract.json": contract,
            "onnx.json": {"exported": True},
        },
        overwrite=True,
    )


def auth(token: str = PREDICT_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ROW = {"age": 60, "income": 31000.5, "region": "N", "postcode": "AB1 2CD", "member": True}


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            http="httptools",
            access_log=False,
        )
        self.server = uvicorn.Server(self.config)
        self.bundle_dir: Path | None = None
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class StaticTokens:
    """The test tokens as a verifier (predict, admin, and one with neither)."""

    def __call__(self, token: str) -> Any:
        from civicml.serve import StaticToken

        return {
            PREDICT_TOKEN: StaticToken("predictor", ("predict",)),
            ADMIN_TOKEN: StaticToken("ops", ("admin",)),
            VIEWER_ONLY: StaticToken("nobody", ("approver",)),
        }.get(token)


def serve_cli() -> Any:
    """``civicml serve`` alone on a Typer app, for CliRunner."""
    import typer

    from civicml.cli._serve import serve

    app = typer.Typer()
    app.command("serve")(serve)

    @app.callback()
    def _root() -> None:
        pass

    return app
