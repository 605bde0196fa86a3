"""OIP request parsing at the edges: deeply nested JSON is a 4xx JSON error, never a 500."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from civicml.serve._oip import MAX_JSON_DEPTH, BadRequest, check_json_depth, loads_json
from serve._support import auth


def _nested(depth: int, leaf: Any = 60) -> Any:
    doc = leaf
    for _ in range(depth):
        doc = [doc]
    return doc


def _deep_text(depth: int) -> str:
    """JSON text nested ``depth`` arrays deep (orjson will not write past 255 levels)."""
    return "[" * depth + "60" + "]" * depth


def _inputs(age_data: Any, age_shape: list[int]) -> list[dict[str, Any]]:
    return [
        {"name": "age", "shape": age_shape, "datatype": "INT64", "data": age_data},
        {"name": "income", "shape": [1], "datatype": "FP32", "data": [31000.5]},
        {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["N"]},
        {"name": "postcode", "shape": [1], "datatype": "BYTES", "data": ["AB1 2CD"]},
        {"name": "member", "shape": [1], "datatype": "BOOL", "data": [True]},
    ]


@pytest.mark.parametrize("depth", [40, 1_000, 1_019])
def test_oip_data_nested_deep_is_a_400_json_error(client: Any, depth: int) -> None:
    """1,000 levels used to recurse in the tensor flattening and answer HTTP 500."""
    body = orjson.dumps({"inputs": _inputs("DEEP", [1])}).replace(
        b'"DEEP"', _deep_text(depth).encode()
    )
    r = client.post(
        "/v2/models/claims/infer",
        content=body,
        headers={**auth(), "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"error"}
    assert f"more than {MAX_JSON_DEPTH} levels deep" in r.json()["error"]


def test_oip_data_nested_normally_still_scores(client: Any) -> None:
    r = client.post(
        "/v2/models/claims/infer", json={"inputs": _inputs([[60]], [1, 1])}, headers=auth()
    )
    assert r.status_code == 200, r.text


def test_loads_json_refuses_a_deep_records_body() -> None:
    body = ('{"records": [{"age": ' + _deep_text(900) + "}]}").encode()
    with pytest.raises(BadRequest) as info:
        loads_json(body)
    assert info.value.http_status == 400


def test_depth_check_walks_wide_bodies_without_recursion() -> None:
    wide = {"records": [{"age": i, "region": "N", "tags": [1, [2]]} for i in range(20_000)]}
    assert check_json_depth(wide) is wide
    assert loads_json(orjson.dumps({"inputs": [{"data": list(range(100_000))}]}))


def test_exactly_the_limit_passes_and_one_more_fails() -> None:
    assert check_json_depth(_nested(MAX_JSON_DEPTH, leaf=1))
    with pytest.raises(BadRequest):
        check_json_depth(_nested(MAX_JSON_DEPTH + 1, leaf=1))
