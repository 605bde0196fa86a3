"""What monitoring reads from a bundle: the reference, each column's kind and role, the task.

:meth:`MonitorInputs.from_bundle` is the one reader every monitoring surface uses. A current
bundle keeps its personal, special-category and free-text columns as distributions only
(``reference.json``); an older bundle kept raw rows of every input, and those columns are
turned into the same distributions here, so no surface ever compares or shows one of their
values. Protected characteristics of an older bundle stay as rows: fairness drift needs each
row's group, and their category shares are what a new bundle keeps anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from civicml._errors import DataError
from civicml.monitor._outputs import UNSUPERVISED_TASKS, output_reference
from civicml.monitor._reference import (
    REFERENCE_DOCUMENT,
    column_kinds,
    private_columns,
    private_sketches,
)

if TYPE_CHECKING:  # pragma: no cover
    from civicml.bundle import Bundle

__all__ = ["CBPE_METRICS", "UNSUPERVISED_TASKS", "MonitorInputs"]

CBPE_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


@dataclass
class MonitorInputs:
    """What monitoring needs from a bundle: reference, column kinds, protected columns, task."""

    name: str
    digest: str
    task: str
    features: list[str]
    kinds: dict[str, str]
    reference: pd.DataFrame
    protected: dict[str, str]
    positive_label: Any = None
    threshold: float | None = None
    reference_performance: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    #: private columns kept as distributions only (``reference.json``), by column
    sketches: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: reference rows and selections per group of each private protected characteristic
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: each feature's contract role (``numeric``, ``categorical``, ``date``, ``text`` ...)
    roles: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_bundle(cls, bundle: Bundle, *, score_reference: bool = True) -> MonitorInputs:
        """Read a bundle; with ``score_reference`` the reference gets the model's score/decision."""
        info = bundle.info
        if not bundle.has("reference.parquet"):
            raise DataError.build(
                f"The bundle at {bundle.path} has no reference sample (reference.parquet)",
                fix="Retrain with a current civicml; it keeps a sample of the training features.",
            )
        raw = bundle.read_table("reference.parquet")
        # new bundles keep private columns as distributions only (reference.json)
        doc = bundle.read_json(REFERENCE_DOCUMENT) if bundle.has(REFERENCE_DOCUMENT) else {}
        doc = doc or {}
        roles = _roles(bundle)
        spec = (bundle.read_json("spec.json") if bundle.has("spec.json") else {}) or {}
        if "columns" in doc:
            reference = raw
            sketches = {str(k): dict(v) for k, v in (doc.get("columns") or {}).items()}
        else:  # an older bundle: its private columns become sketches here
            reference, sketches = _split_old_reference(bundle, raw, spec, roles)
        features = [f for f in info.get("features", []) if f in reference.columns or f in sketches]
        kinds = column_kinds(features, roles, reference, sketches)
        protected = {
            str(k): str(v)
            for k, v in (spec.get("protected") or {}).items()
            if v in reference or v in sketches
        }
        task = str(info.get("task", "regression"))
        classes = list(info.get("classes") or [])
        positive = info.get("positive_label", classes[1] if len(classes) == 2 else None)
        reference = reference[[f for f in features if f in reference.columns]]
        reference = reference.reset_index(drop=True)
        if score_reference and task == "binary":
            stored = doc.get("outputs")  # scored at training: the private inputs are not here
            if stored:
                scored = pd.DataFrame(stored)
            else:
                from civicml.bundle import Predictor

                scored = Predictor(bundle).predict(raw.reset_index(drop=True))
            reference["score"] = scored["score"].to_numpy(dtype=float)
            reference["decision"] = scored["decision"].to_numpy()
            kinds["score"], kinds["decision"] = "numeric", "categorical"
        outputs = None
        if task in UNSUPERVISED_TASKS and (score_reference or bundle.has("monitoring.json")):
            outputs = output_reference(bundle, raw)
        return cls(
            name=str(info.get("name") or bundle.path.name),
            digest=bundle.digest,
            task=task,
            features=features,
            kinds=kinds,
            reference=reference,
            protected=protected,
            positive_label=positive,
            threshold=info.get("threshold"),
            reference_performance=_reference_performance(bundle),
            outputs=outputs,
            sketches=sketches,
            groups=dict(doc.get("fairness") or {}),
            roles={f: roles.get(f, "") for f in features},
        )


def _roles(bundle: Bundle) -> dict[str, str]:
    """Column to contract role (the contract first, then the model info's roles)."""
    roles: dict[str, str] = {}
    if bundle.has("contract.json"):
        for col in (bundle.read_json("contract.json") or {}).get("columns", []):
            roles[str(col["name"])] = str(col.get("role") or "")
    extra = bundle.info.get("roles") or {}
    roles.update({str(k): str(v) for k, v in extra.items() if k not in roles})
    return roles


def _split_old_reference(
    bundle: Bundle, raw: pd.DataFrame, spec: dict[str, Any], roles: dict[str, str]
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """An older bundle's raw reference as a new one keeps it (protected columns stay rows)."""
    found: list[str] = []
    if bundle.has("personal_data.json"):
        findings = (bundle.read_json("personal_data.json") or {}).get("findings", [])
        found = [str(f.get("column")) for f in findings]
    private = private_columns(
        list(raw.columns),
        spec=spec,
        roles=roles,
        special=bundle.info.get("special_category") or {},
        found=found,
    )
    hidden = {c: why for c, why in private.items() if why != "protected"}
    return private_sketches(raw, hidden)


def _reference_performance(bundle: Bundle) -> dict[str, float]:
    """The test metrics a performance drop is measured against."""
    if not bundle.has("metrics.json"):
        return {}
    test = (bundle.read_json("metrics.json") or {}).get("test") or {}
    return {
        m: float(test[m])
        for m in CBPE_METRICS
        if isinstance(test.get(m), int | float) and np.isfinite(test[m])
    }
