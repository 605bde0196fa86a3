"""The Open Inference Protocol binary-tensor extension: a JSON header, then raw tensor bytes.

The header's length is in the ``Inference-Header-Content-Length`` HTTP header; each binary
tensor has ``parameters.binary_data_size`` and follows in order. ``BYTES`` elements are each a
4-byte little-endian length followed by the bytes.

Examples
--------
>>> raw = encode_tensor(["ab", "c"], "BYTES")
>>> raw
b'\\x02\\x00\\x00\\x00ab\\x01\\x00\\x00\\x00c'
>>> decode_tensor(raw, "BYTES")
['ab', 'c']
>>> decode_tensor(encode_tensor([1.5, 2.0], "FP32"), "FP32")
[1.5, 2.0]
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

__all__ = ["BinaryError", "NUMPY_DTYPES", "decode_tensor", "encode_tensor", "split_body"]

NUMPY_DTYPES: dict[str, str] = {
    "BOOL": "|b1",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}


class BinaryError(ValueError):
    """The binary part of a request does not match its header."""


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """``(json_header, binary_rest)`` of a request body."""
    if header_length is None:
        return body, b""
    try:
        n = int(header_length)
    except ValueError:
        raise BinaryError("Inference-Header-Content-Length is not an integer") from None
    if n < 0 or n > len(body):
        raise BinaryError(
            f"Inference-Header-Content-Length is {n} but the body has {len(body)} bytes"
        )
    return body[:n], body[n:]


def decode_tensor(raw: bytes, datatype: str) -> list[Any]:
    """Flat Python values of one binary tensor."""
    if datatype == "BYTES":
        out: list[Any] = []
        i, n = 0, len(raw)
        while i < n:
            if i + 4 > n:
                raise BinaryError("a BYTES element length is cut short")
            (size,) = struct.unpack_from("<I", raw, i)
            i += 4
            if i + size > n:
                raise BinaryError("a BYTES element is cut short")
            chunk = raw[i : i + size]
            i += size
            try:
                out.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                raise BinaryError("a BYTES element is not valid UTF-8") from None
        return out
    dt = NUMPY_DTYPES.get(datatype)
    if dt is None:
        raise BinaryError(f"datatype {datatype!r} is not supported")
    size = np.dtype(dt).itemsize
    if len(raw) % size:
        raise BinaryError(f"{len(raw)} bytes is not a whole number of {datatype} values")
    return np.frombuffer(raw, dtype=dt).tolist()


def encode_tensor(values: list[Any], datatype: str) -> bytes:
    """Raw bytes of one tensor for the binary extension."""
    if datatype == "BYTES":
        parts = []
        for v in values:
            b = v if isinstance(v, bytes) else str(v).encode("utf-8")
            parts.append(struct.pack("<I", len(b)))
            parts.append(b)
        return b"".join(parts)
    return np.asarray(values, dtype=NUMPY_DTYPES[datatype]).tobytes()
