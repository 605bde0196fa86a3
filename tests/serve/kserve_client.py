"""The KServe SDK's v2 REST client against a live ``civicml serve`` (run by
tests/serve/test_clients.py with the interpreter of ``.venv-kserve``: the SDK pins versions of
pandas and psutil that the project's own environment does not use, so it lives in its own).

Usage: ``python kserve_client.py URL TOKEN binary|json`` prints ``{"ready", "outputs"}`` as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys

import kserve
import numpy as np


def _tensor(name: str, datatype: str, arr: np.ndarray, binary: bool) -> kserve.InferInput:
    t = kserve.InferInput(name, list(arr.shape), datatype)
    t.set_data_from_numpy(arr, binary_data=binary)
    return t


async def _call(url: str, token: str, binary: bool) -> dict:
    inputs = [
        _tensor("age", "FP32", np.array([[60.0], [21.0]], dtype=np.float32), binary),
        _tensor("income", "FP32", np.array([[31000.5], [31000.5]], dtype=np.float32), binary),
        _tensor("region", "BYTES", np.array([["N"], ["S"]], dtype=np.object_), binary),
        _tensor(
            "postcode", "BYTES", np.array([["AB1 2CD"], ["AB1 2CD"]], dtype=np.object_), binary
        ),
        _tensor("member", "BOOL", np.array([[True], [False]], dtype=bool), binary),
    ]
    client = kserve.InferenceRESTClient(kserve.RESTConfig(protocol="v2", retries=0, timeout=30))
    try:
        ready = await client.is_server_ready(url)
        request = kserve.InferRequest("claims", inputs, request_id="ks-1")
        headers = {"Authorization": f"Bearer {token}"}
        result = await client.infer(url, request, model_name="claims", headers=headers)
    finally:
        await client.close()
    outputs = {o.name: np.asarray(o.as_numpy()).ravel().tolist() for o in result.outputs}
    return {"ready": ready, "outputs": outputs}


if __name__ == "__main__":
    url, token, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    doc = asyncio.run(_call(url, token, mode == "binary"))
    print(json.dumps(doc, default=str))
