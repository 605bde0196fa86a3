"""Open Inference Protocol v2 request parsing and response building (JSON and binary tensors).

Each model input is one tensor named after a feature, shape ``[n]`` or ``[n, 1]``; outputs are
``prediction``, ``score`` and ``decision`` (binary models) and ``probability``.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson

from civicml._errors import DataError
from civicml.serve._binary import BinaryError, decode_tensor, encode_tensor, split_body
from civicml.serve._runtime import ModelRuntime

__all__ = [
    "MAX_JSON_DEPTH",
    "BadRequest",
    "InferRequest",
    "check_json_depth",
    "loads_json",
    "parse_infer",
    "render_infer",
]

#: The deepest nesting of JSON arrays and objects a request body may hold (an OIP request
#: needs five levels; a records body three).
MAX_JSON_DEPTH = 32

T = TypeVar("T")


class BadRequest(DataError):
    """A request that cannot be read (HTTP 400)."""

    http_status = 400


def check_json_depth(doc: T, *, limit: int = MAX_JSON_DEPTH) -> T:
    """Return ``doc`` (a parsed JSON body) when it nests at most ``limit`` levels deep.

    Deeper bodies are refused before any code walks them recursively (which would fail with a
    ``RecursionError``, an HTTP 500). Small bodies are passed by a count of their containers;
    larger ones are walked without recursion, looking only into arrays and objects.

    Raises
    ------
    BadRequest
        HTTP 400, naming the limit.

    Examples
    --------
    >>> check_json_depth({"inputs": [{"data": [[1], [2]]}]})
    {'inputs': [{'data': [[1], [2]]}]}
    >>> doc: list = [1]
    >>> for _ in range(40):
    ...     doc = [doc]
    >>> check_json_depth(doc)
    Traceback (most recent call last):
    ...
    civicml.serve._oip.BadRequest: The request body nests arrays and objects more than 32 levels deep. Expected at most 32 levels (an inference request needs 5). Send the values as a flat list per input, or as row objects.
    """
    if _depth_over(doc, limit):
        raise BadRequest.build(
            f"The request body nests arrays and objects more than {limit} levels deep",
            expected=f"at most {limit} levels (an inference request needs 5)",
            fix="Send the values as a flat list per input, or as row objects",
        )
    return doc


def loads_json(body: bytes) -> Any:
    """Parse a JSON request body and refuse one nested more than :data:`MAX_JSON_DEPTH` deep.

    ``orjson.JSONDecodeError`` passes through for the caller's own message; a body with no more
    brackets than the limit is not walked at all.

    >>> loads_json(b'{"records": [{"age": 41}]}')
    {'records': [{'age': 41}]}
    >>> loads_json(b"[" * 1000 + b"]" * 1000)
    Traceback (most recent call last):
    ...
    civicml.serve._oip.BadRequest: The request body nests arrays and objects more than 32 levels deep. ...
    """
    doc = orjson.loads(body)
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
        check_json_depth(doc)
    return doc


def _depth_over(doc: Any, limit: int) -> bool:
    if not isinstance(doc, list | dict):
        return False
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        values = node.values() if isinstance(node, dict) else node
        kinds = set(map(type, values))  # C speed: most arrays hold only numbers or strings
        if list in kinds or dict in kinds:
            stack.extend((v, depth + 1) for v in values if type(v) is list or type(v) is dict)
    return False


class InferRequest:
    """A parsed ``…/infer`` call."""

    __slots__ = ("binary_default", "columns", "id", "n_rows", "outputs")

    def __init__(
        self,
        id: str | None,
        columns: dict[str, list[Any]],
        n_rows: int,
        outputs: list[tuple[str, bool]] | None,
        binary_default: bool,
    ) -> None:
        self.id = id
        self.columns = columns
        self.n_rows = n_rows
        self.outputs = outputs
        self.binary_default = binary_default


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if data and isinstance(data[0], list):
        out: list[Any] = []
        for item in data:
            out.extend(_flatten(item))
        return out
    return data


def parse_infer(body: bytes, header_length: str | None, runtime: ModelRuntime) -> InferRequest:
    """Parse an infer request (JSON, or JSON header + binary tensors).

    Raises
    ------
    BadRequest
        HTTP 400: not JSON, nested more than :data:`MAX_JSON_DEPTH` levels, or not an inference
        request (no ``inputs``, a tensor without name, datatype or a shape matching its data).
    """
    try:
        head, rest = split_body(body, header_length)
        doc = loads_json(head)
    except BinaryError as exc:
        raise BadRequest(f"The binary request is malformed: {exc}.") from None
    except orjson.JSONDecodeError:
        raise BadRequest(
            "The request body is not valid JSON. Send an inference request object."
        ) from None
    if not isinstance(doc, dict):
        raise BadRequest("The request body must be a JSON object with an 'inputs' list.")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("The request has no 'inputs' list. Send one tensor per model input.")
    rid = doc.get("id")
    if rid is not None and not isinstance(rid, str):
        rid = str(rid)
    offset = 0
    columns: dict[str, list[Any]] = {}
    n_rows: int | None = None
    for t in inputs:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise BadRequest("Each input must be an object with a 'name', 'shape', 'datatype'.")
        name, datatype, shape = t["name"], t.get("datatype"), t.get("shape")
        if not isinstance(datatype, str):
            raise BadRequest(f"Input {name!r} has no 'datatype'.")
        if (
            not isinstance(shape, list)
            or not shape
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
        ):
            raise BadRequest(f"Input {name!r} has no valid 'shape' (a list of sizes).")
        params = t.get("parameters") or {}
        size = params.get("binary_data_size") if isinstance(params, dict) else None
        try:
            if size is not None:
                if not isinstance(size, int) or size < 0 or offset + size > len(rest):
                    raise BinaryError(f"binary_data_size of {name!r} runs past the body")
                values = decode_tensor(rest[offset : offset + size], datatype)
                offset += size
            else:
                if "data" not in t:
                    raise BadRequest(f"Input {name!r} has neither 'data' nor binary data.")
                values = _flatten(t["data"])
        except BinaryError as exc:
            raise BadRequest(f"Input {name!r}: {exc}.") from None
        count = 1
        for s in shape:
            count *= s
        if len(values) != count:
            raise BadRequest(f"Input {name!r} has {len(values)} values but shape {shape}.")
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise BadRequest(f"Input {name!r} must have shape [n] or [n, 1]; got {shape}.")
        rows = shape[0]
        if n_rows is None:
            n_rows = rows
        elif rows != n_rows:
            raise BadRequest(f"Input {name!r} has {rows} rows; other inputs have {n_rows}.")
        columns[name] = values
    outputs = None
    req_outputs = doc.get("outputs")
    binary_default = False
    p = doc.get("parameters")
    if isinstance(p, dict):
        binary_default = bool(p.get("binary_data_output", False))
    if isinstance(req_outputs, list) and req_outputs:
        outputs = []
        for o in req_outputs:
            if not isinstance(o, dict) or o.get("name") not in runtime.output_names:
                raise BadRequest(
                    f"Requested output {o.get('name') if isinstance(o, dict) else o!r} is not one "
                    f"of {runtime.output_names}."
                )
            op = o.get("parameters") or {}
            binary = bool(op.get("binary_data", binary_default)) if isinstance(op, dict) else False
            outputs.append((o["name"], binary))
    return InferRequest(rid, columns, n_rows or 0, outputs, binary_default)


def render_infer(
    runtime: ModelRuntime, req: InferRequest, result: dict[str, list[Any]]
) -> tuple[bytes, dict[str, str]]:
    """The response body and extra headers (binary outputs add the header length)."""
    wanted = req.outputs or [(n, req.binary_default) for n in runtime.output_names]
    outs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name, binary in wanted:
        values = result[name]
        datatype = runtime.output_datatype(name)
        if datatype == "BYTES":
            values = [str(v) for v in values]
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": [len(values)]}
        if binary:
            raw = encode_tensor(values, datatype)
            entry["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            entry["data"] = values
        outs.append(entry)
    doc: dict[str, Any] = {
        "model_name": runtime.name,
        "model_version": runtime.version,
        "outputs": outs,
    }
    if req.id is not None:
        doc["id"] = req.id
    head = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return head, {"content-type": "application/json"}
    return head + b"".join(blobs), {
        "content-type": "application/octet-stream",
        "inference-header-content-length": str(len(head)),
    }
