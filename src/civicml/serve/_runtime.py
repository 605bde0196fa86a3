"""A loaded model ready to serve: the bundle, its predictor and its input schema, built once.

:class:`ModelRuntime` precomputes everything a request needs (feature order, column dtypes,
validation tables, personal-data columns, OIP metadata) so the hot path only converts values,
builds one DataFrame and calls :class:`civicml.bundle.Predictor`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from civicml.bundle import Bundle, Predictor
from civicml.serve._validate import InputSchema, Policy

__all__ = ["ModelRuntime", "ServeOptions"]


@dataclass(frozen=True)
class ServeOptions:
    """Per-deployment serving options.

    Parameters
    ----------
    extra_columns : {"reject", "allow"}
        Fields the model does not use: refuse (422) or drop.
    unknown_category, out_of_range : policy or mapping of column to policy
        ``reject`` (422) or ``allow`` (the model handles it) — per column if a mapping.
    max_batch_size, max_batch_time_ms : int, float
        Adaptive micro-batching; off when ``max_batch_size`` ≤ 1 (the default).
    max_body_bytes : int
        Larger request bodies are refused with 413.
    oversight : str, optional
        ``human-in-the-loop`` enables ``POST /decisions/{request_id}``.
    """

    extra_columns: Policy = "reject"
    unknown_category: Policy | Mapping[str, Policy] = "reject"
    out_of_range: Policy | Mapping[str, Policy] = "reject"
    max_batch_size: int = 1
    max_batch_time_ms: float = 2.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_rows: int = 10_000
    oversight: str | None = None


@dataclass
class ModelRuntime:
    """A bundle loaded for serving.

    Attributes
    ----------
    name, version : str
        The model name and the version label (registry version, or the bundle digest prefix).
    sha256 : str
        The bundle's digest (sha256 of its manifest).
    """

    bundle: Bundle
    name: str
    version: str
    options: ServeOptions = field(default_factory=ServeOptions)
    loaded_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.predictor = Predictor(self.bundle)
        info = self.bundle.info
        self.task: str = self.predictor.task
        self.features: list[str] = self.predictor.features
        self.classes: list[Any] = self.predictor.classes
        self.threshold: float | None = self.predictor.threshold
        self.sha256: str = self.bundle.digest
        contract = (
            self.bundle.read_json("contract.json") if self.bundle.has("contract.json") else {}
        )
        spec = self.bundle.read_json("spec.json") if self.bundle.has("spec.json") else {}
        self.contract: dict[str, Any] = contract or {}
        self.id_columns: list[str] = list(info.get("id_columns", []))
        self.schema = InputSchema.from_contract(
            self.contract,
            self.features,
            extra_columns=self.options.extra_columns,
            unknown_category=self.options.unknown_category,
            out_of_range=self.options.out_of_range,
            passthrough=self.id_columns,
        )
        allow = ((spec or {}).get("personal_data") or {}).get("allow") or []
        ids = ((spec or {}).get("columns") or {}).get("id") or []
        declared = {str(c) for c in [*allow, *ids, *self.id_columns]}
        self.personal_columns: frozenset[str] = frozenset(declared)
        self._kinds = [
            "num"
            if c.dtype in ("integer", "float")
            else ("bool" if c.dtype == "boolean" else "str")
            for c in self.schema.columns
        ]
        self.output_names: list[str] = ["prediction"]
        if self.task == "binary":
            self.output_names += ["score", "decision"]
        if self.task != "regression":
            self.output_names += ["probability"]

    @property
    def oversight(self) -> str | None:
        return self.options.oversight

    @property
    def reference(self) -> pd.DataFrame:
        """The training reference sample (for explanations), read once on first use."""
        cached = getattr(self, "_reference", None)
        if cached is None:
            if self.bundle.has("reference.parquet"):
                cached = self.bundle.read_table("reference.parquet")
            else:
                cached = pd.DataFrame(columns=self.features)
            self._reference = cached
        return cached

    def frame(self, columns: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
        """A DataFrame in model order with the training dtypes (validated values in)."""
        data: dict[str, Any] = {}
        for check, kind in zip(self.schema.columns, self._kinds, strict=True):
            values = columns[check.name]
            if kind == "num":
                data[check.name] = np.asarray(values, dtype=np.float64)
            elif kind == "bool":
                data[check.name] = pd.array(values, dtype="boolean")
            else:
                data[check.name] = pd.array(values, dtype="str")
        return pd.DataFrame(data, copy=False)

    def predict_columns(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """Predict validated columns; return output columns as plain Python lists."""
        out = self.predictor.predict(self.frame(columns))
        result: dict[str, list[Any]] = {}
        for name in self.output_names:
            if name in out.columns:
                result[name] = out[name].tolist()
        return result

    def metadata(self) -> dict[str, Any]:
        """Open Inference Protocol model metadata, generated from the data contract."""
        inputs = [
            {"name": c.name, "datatype": c.oip_datatype, "shape": [-1, 1]}
            for c in self.schema.columns
        ]
        outputs = [{"name": "prediction", "datatype": self._prediction_datatype(), "shape": [-1]}]
        if self.task == "binary":
            outputs.append({"name": "score", "datatype": "FP64", "shape": [-1]})
            outputs.append({"name": "decision", "datatype": "INT64", "shape": [-1]})
        if self.task != "regression":
            outputs.append({"name": "probability", "datatype": "FP64", "shape": [-1]})
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": "civicml",
            "inputs": inputs,
            "outputs": outputs,
            "parameters": {
                "task": self.task,
                "sha256": self.sha256,
                "classes": [str(c) for c in self.classes],
                "threshold": self.threshold,
            },
        }

    def output_datatype(self, name: str) -> str:
        return {
            "prediction": self._prediction_datatype(),
            "score": "FP64",
            "decision": "INT64",
            "probability": "FP64",
        }[name]

    def _prediction_datatype(self) -> str:
        if self.task == "regression":
            return "FP64"
        if self.classes and all(
            isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in self.classes
        ):
            return "INT64"
        return "BYTES"
