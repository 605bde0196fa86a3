"""DataFrames in the scikit-learn estimators: roles learned as ``civicml train`` learns them, and
new frames checked against what was learned.

:func:`learn_frame` infers a :class:`~civicml.data.DataContract` from the training frame with
:func:`~civicml.data.infer_contract` (declared roles win, as ``columns:`` in civicml.yaml do),
drops single-valued columns as the workflow does, and builds :class:`FeatureRoles` from it.
:func:`check_frame` checks a frame to score with :func:`~civicml.data.validate_data` and raises
civicml's one-line error for what would make the predictions wrong: a feature column that is
missing or holds values of the wrong type. Extra columns are ignored; empty values are allowed
(the model imputes them, as ``civicml predict`` allows blanks); values outside the training
range and unseen categories are scored as they are (the data package's warnings).

Examples
--------
>>> import pandas as pd
>>> train = pd.DataFrame({"case_id": ["C1", "C2", "C3", "C4"], "age": [30, 41, 52, 60],
...                       "region": ["N", "S", "N", "S"], "note": ["a", "b", "c", "d"]})
>>> learned = learn_frame(train, {"note": "drop"})
>>> learned.roles.features, learned.contract.dropped
(['region', 'age'], ('case_id', 'note'))
>>> check_frame(pd.DataFrame({"age": [33], "region": ["N"], "more": [1]}), learned).columns.tolist()
['region', 'age']
>>> check_frame(pd.DataFrame({"region": ["N"]}), learned, where="AutoClassifier.predict")
Traceback (most recent call last):
...
civicml._errors.ContractError: The frame given to AutoClassifier.predict does not match the columns the model was fitted on: age: Column 'age' (numeric) is missing. Expected the columns ['region', 'age'] (any order; others are ignored); got ['region']. Add the missing columns (empty values are allowed) and give each the type it had in training.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from civicml._errors import ContractError, DataError, SpecError
from civicml.data import DataContract, drop_constant_columns, infer_contract, validate_data
from civicml.learn._preprocess import FeatureRoles

__all__ = ["ROLE_CHOICES", "LearnedFrame", "check_frame", "feature_frame", "learn_frame"]

#: The roles ``roles=`` may give a column (``id`` and ``drop``: not a model input).
ROLE_CHOICES: tuple[str, ...] = ("numeric", "categorical", "text", "date", "id", "drop")
#: Rules of :func:`civicml.data.validate_data` that stop scoring (the others are scored as is).
_STOPS = frozenset({"missing_column", "type_mismatch"})
_NUMBERS = frozenset({"integer", "float"})


@dataclass(frozen=True)
class LearnedFrame:
    """What fitting learned about the training frame.

    Attributes
    ----------
    contract : the inferred contract, feature columns only (every other column of the training
        frame is listed as ``dropped``, so it is neither required nor reported when scoring)
    roles : the feature columns by role, as ``civicml train`` builds them
    """

    contract: DataContract
    roles: FeatureRoles


def learn_frame(X: pd.DataFrame, roles: Mapping[str, str] | None = None) -> LearnedFrame:
    """Infer the contract and roles of ``X`` exactly as the workflow does; ``roles`` (column ->
    one of :data:`ROLE_CHOICES`) overrides the inference for the columns it names.

    Raises
    ------
    SpecError
        ``roles`` names a column that is not in ``X``, gives an unknown role, or declares a
        column of text numeric.
    DataError
        No feature column is left (every column is an id, dropped or single-valued).
    """
    declared = _declared(X, roles or {})
    by_role: dict[str, list[str]] = {r: [] for r in ROLE_CHOICES}
    for col, role in declared.items():
        by_role[role].append(col)
    contract = infer_contract(
        X,
        id_columns=by_role["id"],
        text_columns=by_role["text"],
        date_columns=by_role["date"],
        categorical_columns=by_role["categorical"],
        drop_columns=by_role["drop"],
        # as the workflow does: declared ids and free text keep their type but no values
        personal_columns=[*by_role["id"], *by_role["text"]],
    )
    contract = _as_numeric(contract, by_role["numeric"])
    contract = drop_constant_columns(contract)  # a single value cannot help; not an input
    roles_found = FeatureRoles.from_mapping({c.name: c.role for c in contract.columns})
    if not roles_found.features:
        raise DataError.build(
            "No usable feature column is left: every column is an id, dropped or holds a "
            "single value",
            got={c.name: c.role for c in contract.columns} or list(X.columns)[:10],
            fix="Give at least one column a feature role with roles={column: 'numeric'} or "
            "'categorical', 'text', 'date'",
        )
    features = set(roles_found.features)
    kept = tuple(c for c in contract.columns if c.name in features)
    others = tuple(str(c) for c in X.columns if c not in features)
    return LearnedFrame(replace(contract, columns=kept, dropped=others), roles_found)


def _declared(X: pd.DataFrame, roles: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(roles, Mapping):
        raise SpecError.build(
            "roles must map column names to roles",
            expected=f"a dict such as {{'postcode': 'id'}} with roles from {list(ROLE_CHOICES)}",
            got=type(roles).__name__,
        )
    columns = [str(c) for c in X.columns]
    out: dict[str, str] = {}
    for col, role in roles.items():
        if col not in columns:
            near = difflib.get_close_matches(str(col), columns, n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise SpecError.build(
                f"roles names the column {col!r}, which is not in X.{hint}",
                expected=f"one of {columns[:20]}",
                got=col,
                fix="Name only columns of the frame passed to fit",
            )
        if role not in ROLE_CHOICES:
            raise SpecError.build(
                f"roles gives the column {col!r} an unknown role",
                expected=f"one of {list(ROLE_CHOICES)}",
                got=role,
            )
        out[str(col)] = str(role)
    return out


def _as_numeric(contract: DataContract, names: list[str]) -> DataContract:
    """``contract`` with the columns declared numeric given that role (numbers only)."""
    if not names:
        return contract
    cols = []
    for c in contract.columns:
        if c.name in names:
            if c.dtype not in _NUMBERS:
                raise SpecError.build(
                    f"roles declares the column {c.name!r} numeric, but it holds {c.dtype} values",
                    expected="a column of numbers",
                    got=c.dtype,
                    fix="Give it the role 'categorical', 'text' or 'date', or convert it to "
                    "numbers first",
                )
            c = replace(c, role="numeric", categories=None)
        cols.append(c)
    return replace(contract, columns=tuple(cols))


def check_frame(X: pd.DataFrame, learned: LearnedFrame, *, where: str = "predict") -> pd.DataFrame:
    """``X``'s feature columns, in the fitted order, after checking them against the contract.

    Raises
    ------
    ContractError
        A feature column is missing, or holds values that do not parse as its training type:
        one line naming every such column.
    """
    report = validate_data(X, learned.contract)
    stops = [i for i in report.errors if i.rule in _STOPS]
    if stops:
        shown = "; ".join(f"{i.column}: {i.message.rstrip('.')}" for i in stops[:10])
        more = f"; and {len(stops) - 10} more" if len(stops) > 10 else ""
        features = learned.roles.features
        raise ContractError.build(
            f"The frame given to {where} does not match the columns the model was fitted on: "
            f"{shown}{more}",
            expected=f"the columns {features[:20]} (any order; others are ignored)",
            got=[str(c) for c in X.columns[:20]],
            fix="Add the missing columns (empty values are allowed) and give each the type it "
            "had in training",
        )
    return X[learned.roles.features]


def feature_frame(X: Any, names: list[str]) -> pd.DataFrame:
    """An array-like (or a frame without string column names) as a frame with the fitted
    column names, in the same order; each column's type is inferred.

    >>> f = feature_frame([[1.5, "N"], [2.0, None]], ["age", "region"])
    >>> f.columns.tolist(), str(f["age"].dtype), f["region"].isna().tolist()
    (['age', 'region'], 'float64', [False, True])
    """
    if isinstance(X, pd.DataFrame):
        return X.set_axis(names, axis=1)
    return pd.DataFrame(X, columns=names).infer_objects()
