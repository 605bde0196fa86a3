"""A loaded model ready to serve: the bundle, its predictor and its input schema, built once.

:class:`ModelRuntime` precomputes everything a request needs (feature order, column dtypes,
validation tables, personal-data columns, OIP metadata) so the hot path only converts values,
scores. When the bundle holds a verified ``model.onnx`` (saved only after a parity test), rows
go straight from the validated columns into numpy arrays and an ONNX Runtime session (one
thread, sequential); otherwise they go through a DataFrame and the skops pipeline
(:class:`civicml.bundle.Predictor`). Both paths give the same outputs.

A runtime is warmed before anyone can use it: the constructor scores one typical row (from the
bundle's reference, else from the contract), so whatever a model builds on its first call (an
ONNX Runtime session's first run, a text embedder's weights, pandas and scikit-learn code
paths) is built before ``/v2/health/ready`` or ``/ping`` reports ready, and before a hot
reload swaps the runtime in. A model that cannot score that row is still served (the failure
is logged); the first real request then pays what was left.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from civicml.bundle import Bundle, Predictor
from civicml.components import to_str
from civicml.serve._governance import Governance
from civicml.serve._validate import InputSchema, Policy, personal_inputs

__all__ = ["ModelRuntime", "ServeOptions"]

_log = logging.getLogger("civicml.serve")
ONNX_FILE = "model.onnx"
# outputs (and their OIP datatypes) of the unsupervised tasks, after ``prediction``
_UNSUPERVISED_OUTPUTS: dict[str, dict[str, str]] = {
    "clustering": {"cluster": "INT64", "cluster_name": "BYTES"},
    "anomaly": {"anomaly_score": "FP64", "is_anomaly": "INT64", "reasons": "BYTES"},
}


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
        ``human-in-the-loop`` enables ``POST /decisions/{request_id}``. For a registry version
        the registry's mode is used, and a different one is refused.
    runtime : {"auto", "onnx", "skops"}
        ``auto`` scores with ONNX Runtime when the bundle holds a verified ``model.onnx``,
        else with the skops pipeline; ``onnx`` refuses to start without one; ``skops`` always
        uses the pipeline.
    allow_unapproved : str, optional
        The reason for serving a registry version that is not approved (an audited override,
        shown in the metadata and in every decision-log record); without it such a version is
        refused.
    """

    extra_columns: Policy = "reject"
    unknown_category: Policy | Mapping[str, Policy] = "reject"
    out_of_range: Policy | Mapping[str, Policy] = "reject"
    max_batch_size: int = 1
    max_batch_time_ms: float = 2.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_rows: int = 10_000
    oversight: str | None = None
    runtime: str = "auto"
    allow_unapproved: str | None = None


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
    governance: Governance = field(default_factory=Governance)

    def __post_init__(self) -> None:
        self.predictor = Predictor(self.bundle)
        info = self.bundle.info
        self.task: str = self.predictor.task
        self.features: list[str] = self.predictor.features
        self.classes: list[Any] = self.predictor.classes
        self.threshold: float | None = self.predictor.threshold
        self.sha256: str = self.bundle.digest
        #: added to every decision-log record (the approval state, any override)
        self.log_fields: dict[str, Any] = self.governance.log_fields
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
        # free text (letters, notes, feedback) can name or describe anyone: never logged
        text = ((spec or {}).get("columns") or {}).get("text") or []
        text += [c["name"] for c in self.contract.get("columns", []) if c.get("role") == "text"]
        declared = {str(c) for c in [*allow, *ids, *text, *self.id_columns]}
        self.personal_columns: frozenset[str] = frozenset(declared)
        # personal inputs: no known values or ranges in 422 bodies or OpenAPI
        self.schema = self.schema.with_personal(
            self.personal_columns | personal_inputs(self.contract, spec, info)
        )
        self._kinds = [
            "num"
            if c.dtype in ("integer", "float")
            else ("bool" if c.dtype == "boolean" else "str")
            for c in self.schema.columns
        ]
        self.output_names: list[str] = ["prediction"]
        if self.task in _UNSUPERVISED_OUTPUTS:
            self.output_names += list(_UNSUPERVISED_OUTPUTS[self.task])
        else:
            if self.task == "binary":
                self.output_names += ["score", "decision"]
            if self.task != "regression":
                self.output_names += ["probability"]
        self._classes = np.asarray(self.classes, dtype=object)
        self._t = 0.5 if self.threshold is None else float(self.threshold)
        self._session: Any = None
        self._plan: list[tuple[str, str, bool]] = []
        self.runtime_name = "skops"
        self.runtime_note = "no verified model.onnx in the bundle"
        if self.options.runtime == "skops":
            self.runtime_note = "skops chosen by the operator"
        else:
            self._load_onnx()
        if self.options.runtime == "onnx" and self._session is None:
            from civicml._errors import BundleError

            raise BundleError.build(
                f"The bundle cannot be served with ONNX Runtime: {self.runtime_note}",
                fix="Serve with runtime 'auto' or 'skops', or retrain so the bundle has a "
                "verified model.onnx",
            )
        _log.info(
            "runtime",
            extra={"event": "runtime", "runtime": self.runtime_name, "note": self.runtime_note},
        )
        #: seconds the warm-up took (``None`` when it failed)
        self.warm_seconds: float | None = self.warm_up()

    def typical_row(self) -> dict[str, list[Any]]:
        """One row of validated-looking columns: each input's first value in the reference
        sample (or its typical value), else a value its contract allows, else missing."""
        try:
            ref = self.reference
        except Exception:  # a reference that cannot be read: the contract alone
            ref = pd.DataFrame()
        contract = {str(c.get("name")): c for c in self.contract.get("columns", [])}
        columns: dict[str, list[Any]] = {}
        for check, kind in zip(self.schema.columns, self._kinds, strict=True):
            value: Any = None
            if check.name in ref.columns:
                present = ref[check.name].dropna()
                value = present.iloc[0] if len(present) else None
            if value is None:
                col = contract.get(check.name, {})
                cats = col.get("categories") or []
                value = cats[0] if cats else col.get("min", 0 if kind == "num" else None)
            if value is not None:
                value = (
                    float(value)
                    if kind == "num"
                    else (bool(value) if kind == "bool" else str(value))
                )
            columns[check.name] = [value]
        return columns

    def warm_up(self) -> float | None:
        """Score :meth:`typical_row` once (see the module notes); the seconds it took, or
        ``None`` when the model could not score it (logged, not raised)."""
        started = time.perf_counter()
        try:
            columns = self.typical_row()
            # a typical value outside a narrow contract is scored raw
            with contextlib.suppress(Exception):
                columns = self.schema.validate_columns(columns, 1)
            self.predict_columns(columns)
        except Exception as exc:
            _log.warning(
                "warm-up failed; the first request will be slower",
                extra={"event": "warm_up", "error": f"{type(exc).__name__}: {exc}"[:300]},
            )
            return None
        took = time.perf_counter() - started
        _log.info("warmed up", extra={"event": "warm_up", "seconds": round(took, 4)})
        return took

    def _load_onnx(self) -> None:
        """Open an ONNX Runtime session when the bundle holds a verified model."""
        if not self.bundle.has(ONNX_FILE) or self.task in _UNSUPERVISED_OUTPUTS:
            return
        if self.bundle.has("onnx.json"):
            doc = self.bundle.read_json("onnx.json") or {}
            if doc.get("exported") is False:
                self.runtime_note = "onnx.json says the ONNX model failed its parity test"
                return
        try:
            import onnxruntime as ort
        except ImportError:
            self.runtime_note = "onnxruntime is not installed"
            return
        try:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.log_severity_level = 3
            sess = ort.InferenceSession(
                self.bundle.read_bytes(ONNX_FILE), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # a corrupt or unsupported model: fall back, say why
            self.runtime_note = f"ONNX Runtime could not load model.onnx ({exc})"[:300]
            return
        types = {i.name: i.type for i in sess.get_inputs()}
        plan = []
        for check, kind in zip(self.schema.columns, self._kinds, strict=True):
            t = types.get(check.name)
            if t not in ("tensor(string)", "tensor(float)"):
                self.runtime_note = f"model.onnx has no usable input for {check.name!r}"
                return
            as_str = t == "tensor(string)"
            if not as_str and kind != "num":
                self.runtime_note = f"model.onnx reads {check.name!r} as a number"
                return
            plan.append((check.name, kind, as_str))
        outs = [o.name for o in sess.get_outputs()]
        want = outs[0] if self.task == "regression" else (outs[1] if len(outs) > 1 else None)
        if want is None:
            self.runtime_note = "model.onnx has no probability output"
            return
        self._session = sess
        self._plan = plan
        self._onnx_output = [want]
        self.runtime_name = "onnxruntime"
        self.runtime_note = "verified model.onnx"

    @property
    def oversight(self) -> str | None:
        return self.options.oversight

    @property
    def reference(self) -> pd.DataFrame:
        """The training reference sample (for explanations), read once on first use.

        A private input (personal, special-category, free text) is not in the sample; it comes
        as its typical value from ``reference.json`` (median, most common category, empty text,
        or missing for personal data), which is all an explanation takes from the sample.
        """
        cached = getattr(self, "_reference", None)
        if cached is None:
            if self.bundle.has("reference.parquet"):
                cached = self.bundle.read_table("reference.parquet")
            else:
                cached = pd.DataFrame(columns=self.features)
            if self.bundle.has("reference.json"):
                typical = self.bundle.read_json("reference.json").get("typical") or {}
                for name, value in typical.items():
                    if name not in cached.columns:
                        filled = np.nan if value is None else value
                        cached[name] = pd.Series([filled] * len(cached), dtype=object)
                        if value is None or type(value) in (int, float):
                            cached[name] = pd.to_numeric(cached[name], errors="coerce")
            self._reference = cached
        return cached

    def frame(self, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> pd.DataFrame:
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

    def onnx_feed(self, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> dict[str, np.ndarray]:
        """ONNX Runtime inputs built straight from validated columns (no pandas).

        String inputs hold what ``to_str`` makes of :meth:`frame`'s values, so both runtimes
        see the same categories (a missing string is ``"nan"``, a missing boolean ``"<NA>"``).
        """
        feed: dict[str, np.ndarray] = {}
        for name, kind, as_str in self._plan:
            values = columns[name]
            if not as_str:
                arr = np.asarray(values, dtype=np.float32)
            elif kind == "str":
                arr = np.asarray(["nan" if v is None else v for v in values], dtype=object)
            elif kind == "num":
                arr = to_str(np.asarray(values, dtype=np.float64).reshape(-1, 1))[:, 0]
            else:
                arr = np.asarray(
                    ["<NA>" if v is None else ("True" if v else "False") for v in values],
                    dtype=object,
                )
            feed[name] = arr.reshape(-1, 1)
        return feed

    def predict_columns(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """Predict validated columns; return output columns as plain Python lists."""
        if self._session is not None:
            return self._predict_onnx(columns)
        return self.predict_skops(columns)

    def _predict_onnx(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        raw = self._session.run(self._onnx_output, self.onnx_feed(columns))[0]
        if self.task == "regression":
            return {"prediction": np.asarray(raw, dtype=np.float64).ravel().tolist()}
        proba = np.asarray(raw, dtype=np.float64)
        out: dict[str, list[Any]] = {}
        if self.task == "binary":
            score = proba[:, 1]
            decision = (score >= self._t).astype(np.int64)
            out["prediction"] = self._classes[decision].tolist()
            out["score"] = score.tolist()
            out["decision"] = decision.tolist()
        else:
            out["prediction"] = self._classes[np.argmax(proba, axis=1)].tolist()
        out["probability"] = proba.max(axis=1).tolist()
        return out

    def predict_skops(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """Predict with the skops pipeline through a DataFrame (the fallback path)."""
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
        for name, dtype in _UNSUPERVISED_OUTPUTS.get(self.task, {}).items():
            outputs.append({"name": name, "datatype": dtype, "shape": [-1]})
        if self.task == "binary":
            outputs.append({"name": "score", "datatype": "FP64", "shape": [-1]})
            outputs.append({"name": "decision", "datatype": "INT64", "shape": [-1]})
        if self.task not in ("regression", *_UNSUPERVISED_OUTPUTS):
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
                "runtime": self.runtime_name,
                **self.governance.parameters(),
            },
        }

    def output_datatype(self, name: str) -> str:
        extra = _UNSUPERVISED_OUTPUTS.get(self.task, {})
        if name in extra:
            return extra[name]
        return {
            "prediction": self._prediction_datatype(),
            "score": "FP64",
            "decision": "INT64",
            "probability": "FP64",
        }[name]

    def _prediction_datatype(self) -> str:
        if self.task == "regression":
            return "FP64"
        if self.task in _UNSUPERVISED_OUTPUTS:
            return "INT64"
        if self.classes and all(
            isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in self.classes
        ):
            return "INT64"
        return "BYTES"
