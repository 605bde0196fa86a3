"""Data minimisation: the inputs a model may not need (UK GDPR Art. 5(1)(c)).

:func:`minimisation_findings` reads a bundle and lists, one finding per column and kind:

* ``no_purpose`` — an input with no purpose recorded under ``columns.purpose`` in civicml.yaml
  (protected-characteristic and special-category inputs are named as such: their purpose is
  required);
* ``sensitive_input`` — a protected-characteristic or special-category input whose purpose is
  recorded: a person must still confirm it is necessary;
* ``identifier`` — a direct identifier among the inputs (a declared id, a column the personal-data
  scan found, or a column named like one: ``email``, ``nino``...);
* ``constant`` — a column with a single value in the training data (the contract's
  ``dropped`` list or the data-quality findings): it cannot help the model;
* ``unused`` — an input whose permutation importance is zero or below (and zero in every fold,
  when per-fold importances are recorded): the model does not rely on it.

:func:`reduced_view` reads what ``civicml run`` measured of the smaller feature set (the inputs
without the identifier, constant and unused ones): its cost in score against the full model,
fold by fold, with the corrected t-test.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "IDENTIFIER_NAMES",
    "MINIMISATION_KINDS",
    "REDUCED_DOCUMENT",
    "MinimisationFinding",
    "importance_unused",
    "minimisation_findings",
    "reduced_view",
]

#: Every kind of finding, in the order they are listed.
MINIMISATION_KINDS: tuple[str, ...] = (
    "identifier",
    "no_purpose",
    "sensitive_input",
    "constant",
    "unused",
)

#: Column names (lower case, without ``_``, ``-`` or spaces) that name a direct identifier.
IDENTIFIER_NAMES: frozenset[str] = frozenset(
    {
        "name",
        "fullname",
        "firstname",
        "forename",
        "surname",
        "lastname",
        "email",
        "emailaddress",
        "phone",
        "phonenumber",
        "telephone",
        "mobile",
        "address",
        "streetaddress",
        "nino",
        "ninumber",
        "nationalinsurancenumber",
        "nhsnumber",
        "passportnumber",
        "drivinglicence",
        "dateofbirth",
        "dob",
        "utr",
    }
)

_FEATURE_ROLES = ("numeric", "categorical", "text", "date")
_SINGLE_VALUE = re.compile(r"^'(.+?)' has a single value")


@dataclass(frozen=True)
class MinimisationFinding:
    """One reason to question an input: the column, the kind (one of
    :data:`MINIMISATION_KINDS`) and a plain sentence for the report."""

    column: str
    kind: str
    sentence: str

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict.

        >>> MinimisationFinding("x", "unused", "Not used.").to_dict()
        {'column': 'x', 'kind': 'unused', 'sentence': 'Not used.'}
        """
        return asdict(self)


def _doc(bundle: Any, name: str) -> Any:
    return bundle.read_json(name) if bundle.has(name) else {}


def _open(bundle: Any) -> Any:
    if isinstance(bundle, (str, Path)):
        from civicml.bundle import verify_bundle

        return verify_bundle(bundle)
    return bundle


def minimisation_findings(bundle: Any) -> list[MinimisationFinding]:
    """The data-minimisation findings of a bundle, most serious kind first.

    Parameters
    ----------
    bundle : Bundle or path
        A bundle folder (verified, the model is not loaded) or a loaded bundle.

    Returns
    -------
    list of MinimisationFinding
        Empty when every input has a purpose, none identifies a person, none is constant
        and the model uses each of them.

    Examples
    --------
    >>> class B:  # anything with has() and read_json() will do
    ...     docs = {"model_info.json": {"features": ["tenure", "email"]},
    ...             "spec.json": {"columns": {"purpose": {"tenure": "Longer tenure, more need"}}}}
    ...     def has(self, n): return n in self.docs
    ...     def read_json(self, n): return self.docs[n]
    >>> [(f.column, f.kind) for f in minimisation_findings(B())]
    [('email', 'identifier'), ('email', 'no_purpose')]
    """
    b = _open(bundle)
    info = _doc(b, "model_info.json") or {}
    spec = _doc(b, "spec.json") or {}
    contract = _doc(b, "contract.json") or {}
    features = [str(f) for f in info.get("features") or []] or [
        str(c["name"]) for c in contract.get("columns", []) if c.get("role") in _FEATURE_ROLES
    ]
    cols = spec.get("columns") or {}
    found = [
        *_identifiers(features, info, cols, _doc(b, "personal_data.json") or {}),
        *_purposes(features, info, spec),
        *_constants(contract, _doc(b, "checks.json") or {}, spec, info),
    ]
    constant = {f.column for f in found if f.kind == "constant"}
    importance = (_doc(b, "assessment.json") or {}).get("importance") or {}
    found += [f for f in importance_unused(importance, features) if f.column not in constant]
    order = {k: i for i, k in enumerate(MINIMISATION_KINDS)}
    return sorted(found, key=lambda f: order[f.kind])


def _identifiers(
    features: list[str], info: dict[str, Any], cols: dict[str, Any], personal: dict[str, Any]
) -> list[MinimisationFinding]:
    why: dict[str, list[str]] = {}
    declared = {*map(str, info.get("id_columns") or []), *map(str, cols.get("id") or [])}
    roles = info.get("roles") or {}
    for f in features:
        if f in declared or roles.get(f) == "id":
            why.setdefault(f, []).append("it is declared as an id column")
    for p in personal.get("findings") or []:
        col = str(p.get("column"))
        if col in features:
            label = p.get("label") or p.get("kind") or "personal data"
            why.setdefault(col, []).append(f"the personal-data scan found {label} in it")
    for f in features:
        if re.sub(r"[\s_\-]+", "", f.casefold()) in IDENTIFIER_NAMES and f not in why:
            why.setdefault(f, []).append("its name is that of a direct identifier")
    return [
        MinimisationFinding(
            col,
            "identifier",
            f"'{col}' is a model input that can identify a person ({'; '.join(reasons)}). "
            "A model rarely needs to know who someone is: remove it from the inputs, or "
            "record under columns.purpose why it is necessary.",
        )
        for col, reasons in why.items()
    ]


def _sensitive(info: dict[str, Any], spec: dict[str, Any]) -> dict[str, str]:
    """Inputs that are protected characteristics or special-category data, and what they are."""
    out = {
        str(col): f"the protected characteristic {char.replace('_', ' ')}"
        for char, col in (spec.get("protected") or {}).items()
    }
    for col, rec in (info.get("special_category") or {}).items():
        cat = (rec or {}).get("category") if isinstance(rec, dict) else rec
        out.setdefault(
            str(col), f"special-category data ({str(cat or 'declared').replace('-', ' ')})"
        )
    for col, cat in ((spec.get("columns") or {}).get("special_category") or {}).items():
        if cat:
            out.setdefault(str(col), f"special-category data ({str(cat).replace('-', ' ')})")
    return out


def _purposes(
    features: list[str], info: dict[str, Any], spec: dict[str, Any]
) -> list[MinimisationFinding]:
    purpose = {
        str(k): str(v).strip()
        for k, v in ((spec.get("columns") or {}).get("purpose") or {}).items()
        if v is not None and str(v).strip()
    }
    sensitive = _sensitive(info, spec)
    out: list[MinimisationFinding] = []
    for f in features:
        what = sensitive.get(f)
        if f not in purpose:
            text = (
                f"'{f}' holds {what} and is a model input, so its purpose is required: "
                f"record under columns.purpose why the model needs it, or remove it."
                if what
                else f"'{f}' is a model input with no purpose recorded: add a line under "
                "columns.purpose saying why the model needs it, or remove it."
            )
            out.append(MinimisationFinding(f, "no_purpose", text))
        elif what:
            out.append(
                MinimisationFinding(
                    f,
                    "sensitive_input",
                    f"'{f}' holds {what} and is a model input; its recorded purpose is "
                    f'"{purpose[f]}". A person must confirm it is necessary and that '
                    "no less intrusive column would do.",
                )
            )
    return out


def _constants(
    contract: dict[str, Any], checks: dict[str, Any], spec: dict[str, Any], info: dict[str, Any]
) -> list[MinimisationFinding]:
    names: list[str] = [
        str(c["name"])
        for c in contract.get("columns", [])
        if c.get("role") in _FEATURE_ROLES and int(c.get("n_unique") or 0) <= 1
    ]
    for check in checks.get("checks", []):
        if check.get("name") == "data_quality":
            names += [m.group(1) for d in check.get("details", []) if (m := _SINGLE_VALUE.match(d))]
    if spec:  # a workflow bundle drops only the declared columns, the group and constant ones
        cols = spec.get("columns") or {}
        declared = {
            *map(str, cols.get("drop") or []),
            *map(str, cols.get("id") or []),
            str(cols.get("group") or ""),
            str(spec.get("target") or info.get("target") or ""),
        }
        names += [str(d) for d in contract.get("dropped") or [] if str(d) not in declared]
    return [
        MinimisationFinding(
            col,
            "constant",
            f"'{col}' holds a single value in the training data, so it cannot help the model "
            "and is not used as an input: stop collecting it for this model (or check the "
            "export, if it should vary).",
        )
        for col in dict.fromkeys(names)
    ]


def importance_unused(importance: dict[str, Any], features: list[str]) -> list[MinimisationFinding]:
    """Inputs the model does not use: permutation importance at or below zero and, where
    per-fold importances are recorded (``folds`` on a feature's row, or ``importance["folds"]``
    as one ``{feature: importance}`` per fold), at or below zero in every fold.

    Examples
    --------
    >>> imp = {"scoring": "roc_auc", "features": [
    ...     {"feature": "tenure", "importance": 0.08, "std": 0.01},
    ...     {"feature": "age", "importance": 0.0, "std": 0.0}]}
    >>> [f.column for f in importance_unused(imp, ["tenure", "age"])]
    ['age']
    >>> imp["folds"] = [{"age": 0.0}, {"age": 0.02}]  # one fold used it
    >>> importance_unused(imp, ["tenure", "age"])
    []
    """
    folds = importance.get("folds") or []
    scoring = importance.get("scoring") or "score"
    out: list[MinimisationFinding] = []
    for row in importance.get("features") or []:
        col = str(row.get("feature"))
        value = row.get("importance")
        if col not in features or value is None or value > 0:
            continue
        per_fold = [float(v) for v in row.get("folds") or []]
        per_fold += [float(f[col]) for f in folds if f.get(col) is not None]
        if any(v > 0 for v in per_fold):
            continue
        where = f" and in each of {len(per_fold)} folds" if per_fold else ""
        out.append(
            MinimisationFinding(
                col,
                "unused",
                f"Shuffling '{col}' did not lower the model's {scoring} (importance "
                f"{value:.3f}{where}), so the model does not rely on it: consider leaving it "
                "out and collecting less.",
            )
        )
    return out


#: The bundle document that holds the smaller feature set and its measured cost.
REDUCED_DOCUMENT = "minimisation.json"


def reduced_view(bundle: Any) -> dict[str, Any] | None:
    """The smaller feature set for the report: the record ``civicml run`` measured
    (``minimisation.json``), with each dropped column's reason as a sentence and the mean row
    of the per-fold table; None when the bundle has no such record (an older bundle).

    Examples
    --------
    >>> class B:
    ...     docs = {"minimisation.json": {"verdict": "Dropping 1 column (x) costs 0.001 ROC AUC",
    ...             "metric": "roc_auc", "refit": True, "seconds": 1.5,
    ...             "dropped": [{"column": "x", "reason": "holds a single value"}],
    ...             "folds": [{"fold": 1, "full": 0.8, "reduced": 0.79, "cost": 0.01},
    ...                       {"fold": 2, "full": 0.82, "reduced": 0.83, "cost": -0.01}]}}
    ...     def has(self, n): return n in self.docs
    ...     def read_json(self, n): return self.docs[n]
    >>> v = reduced_view(B())
    >>> v["dropped_lines"], round(v["mean"]["full"], 3), round(v["mean"]["cost"], 3)
    (["'x': holds a single value"], 0.81, 0.0)
    """
    b = _open(bundle)
    doc = _doc(b, REDUCED_DOCUMENT)
    if not isinstance(doc, dict) or not doc.get("verdict"):
        return None
    folds = [f for f in doc.get("folds") or [] if isinstance(f, dict)]
    mean = None
    if folds:
        mean = {
            k: sum(float(f[k]) for f in folds) / len(folds) for k in ("full", "reduced", "cost")
        }
    return {
        **doc,
        "folds": folds,
        "mean": mean,
        "dropped_lines": [
            f"'{d.get('column')}': {d.get('reason')}" for d in doc.get("dropped") or []
        ],
        "not_input_lines": [
            f"'{d.get('column')}': {d.get('reason')} (already not a model input)"
            for d in doc.get("not_model_inputs") or []
        ],
    }
