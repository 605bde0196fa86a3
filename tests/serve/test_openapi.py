"""What a predict-token holder can learn from ``/openapi.json`` and from 422 bodies: the
categories and range of ordinary inputs, never those of a personal-data or special-category
input (whose known values would list the people in the training data)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from serve._support import PREDICT_TOKEN, StaticTokens, auth

POSTCODES = ["AB1 2CD", "EF3 4GH", "SW1A 1AA"]
ETHNIC = ["Bangladeshi", "Irish Traveller", "White British"]
REFERENCES = ["REF-0001", "REF-0002"]
ROW = {"age": 40, "income": 30_000.0, "region": "N", "postcode": "AB1 2CD", "ethnicity": "Irish Traveller", "ref": "REF-0001"}  # fmt: skip


def _bundle(dest: Path) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from civicml.bundle import save_bundle

    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 104, n),
            "income": rng.normal(30_000, 8_000, n),
            "region": rng.choice(["N", "S"], n),
            "postcode": rng.choice(POSTCODES, n),
            "ethnicity": rng.choice(ETHNIC, n),
            "ref": rng.choice(REFERENCES, n),
        }
    )
    y = np.where(df["age"] > 50, "yes", "no")
    cats = ["region", "postcode", "ethnicity", "ref"]
    prep = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), cats)], remainder=StandardScaler()
    )
    pipe = Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=300))]).fit(df, y)

    def cat(name: str, values: list[str], **extra: Any) -> dict[str, Any]:
        return {"name": name, "dtype": "string", "role": "categorical", "nullable": False,
                "categories": sorted(values), **extra}  # fmt: skip

    contract = {
        "columns": [
            {"name": "age", "dtype": "integer", "role": "numeric", "min": 18, "max": 103},
            {"name": "income", "dtype": "float", "role": "numeric", "min": 0, "max": 90_000},
            cat("region", ["N", "S"]),
            cat("postcode", POSTCODES),
            cat("ethnicity", ETHNIC),
            cat("ref", REFERENCES, personal=True),  # flagged in the contract itself
            {"name": "outcome", "dtype": "string", "role": "target"},
        ],
        "target": "outcome",
    }
    features = ["age", "income", "region", "postcode", "ethnicity", "ref"]
    return save_bundle(
        dest,
        model=pipe,
        documents={
            "model_info.json": {
                "name": "claims",
                "task": "binary",
                "features": features,
                "classes": ["no", "yes"],
                "threshold": 0.5,
                "special_category": {"ethnicity": {"category": "racial-or-ethnic-origin"}},
            },
            "contract.json": contract,
            "spec.json": {"personal_data": {"allow": ["postcode"]}, "protected": {"age": "age"}},
        },
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _bundle(tmp_path_factory.mktemp("openapi") / "bundle")


@pytest.fixture()
def client(bundle: Any, tmp_path: Path) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from civicml.serve import create_app

    app = create_app(bundle.path, verifier=StaticTokens(), decision_log=tmp_path / "log")
    with TestClient(app) as c:
        yield c


def _row_schema(doc: dict[str, Any]) -> dict[str, Any]:
    body = doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    props = body["schema"]["oneOf"][0]["properties"]
    return {k: v["anyOf"][0] if "anyOf" in v else v for k, v in props.items()}  # nullable


def test_openapi_publishes_no_category_or_range_of_personal_inputs(client: Any) -> None:
    r = client.get("/openapi.json", headers=auth(PREDICT_TOKEN))
    assert r.status_code == 200
    text = r.text
    for value in [*POSTCODES, *ETHNIC, *REFERENCES]:
        assert value not in text, value  # the attack: read the people off the schema
    assert '"maximum": 103' not in text.replace(".0", "")  # the oldest person's age
    props = _row_schema(r.json())
    assert props["region"]["enum"] == ["N", "S"]  # ordinary inputs keep their categories
    assert props["income"]["maximum"] == 90_000
    for name in ("postcode", "ethnicity", "ref"):
        assert props[name]["type"] == "string" and "enum" not in props[name]
        assert "checked against" in props[name]["description"]
    assert "minimum" not in props["age"] and "maximum" not in props["age"]


def test_openapi_documents_the_case_routes(client: Any) -> None:
    paths = client.get("/openapi.json", headers=auth()).json()["paths"]
    review = paths["/decisions/{case_id}/review"]["post"]
    body = review["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"decision", "reason"}  # no 'reviewer' to forge
    assert body["additionalProperties"] is False
    assert "201" in paths["/decisions/{case_id}/contest"]["post"]["responses"]
    assert {"/decisions/queue", "/decisions/{case_id}"} <= set(paths)
    assert "/decisions/{request_id}" not in paths


def _errors(client: Any, **changes: Any) -> dict[str, dict[str, Any]]:
    r = client.post("/predict", json={**ROW, **changes}, headers=auth())
    assert r.status_code == 422, r.text
    assert "errors" in r.json(), r.text
    return {e["field"]: e for e in r.json()["errors"]}


def test_422_for_an_ordinary_column_still_lists_its_categories(client: Any) -> None:
    errors = _errors(client, region="W", income=-5)
    assert "['N', 'S']" in errors["region"]["problem"]
    assert "[0.0, 90000.0]" in errors["income"]["problem"]


def test_422_for_a_contract_flagged_personal_column_lists_nothing(client: Any) -> None:
    r = client.post("/predict", json={**ROW, "ref": "REF-9999"}, headers=auth())
    assert r.status_code == 422
    assert not any(v in r.text for v in REFERENCES)
    (error,) = r.json()["errors"]
    assert error["field"] == "ref" and "not a known value" in error["problem"]
    assert "REF-9999" not in r.text  # not echoed back either


def test_422_for_spec_declared_personal_columns_lists_nothing(client: Any) -> None:
    r = client.post(
        "/predict",
        json={**ROW, "postcode": "ZZ9 9ZZ", "ethnicity": "x", "age": 150},
        headers=auth(),
    )
    assert r.status_code == 422
    text = json.dumps(r.json())
    for value in [*POSTCODES, *ETHNIC, "103"]:
        assert value not in text, value
    errors = {e["field"]: e["problem"] for e in r.json()["errors"]}
    assert "not a known value" in errors["postcode"] and "not a known value" in errors["ethnicity"]
    assert "allowed range" in errors["age"]


def test_openapi_lists_every_route_the_app_answers(client: Any) -> None:
    from civicml.serve._routes import ROUTES

    paths = client.get("/openapi.json", headers=auth()).json()["paths"]
    assert set(paths) >= ROUTES, sorted(ROUTES - set(paths))
    explain = paths["/explain"]["post"]
    assert "application/json" in explain["requestBody"]["content"]
    for route in ("/invocations", "/predict"):
        body = paths[route]["post"]["requestBody"]["content"]
        assert set(body) == {"application/json", "text/csv"}
        assert "415" in paths[route]["post"]["responses"]
        assert "gzip" in paths[route]["post"]["description"]
    infer = paths["/v2/models/{name}/infer"]["post"]["requestBody"]["content"]
    assert "application/octet-stream" in infer
    for probe in ("/ping", "/health", "/version"):
        assert paths[probe]["get"]["security"] == []  # MLflow's probes need no token


def test_the_readme_says_where_the_openapi_document_is() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    serving = next(line for line in readme.splitlines() if line.startswith("| **serving**"))
    assert "/openapi.json" in serving
