"""Checks a training table must pass before any model is fitted, and task detection.

:func:`check_training_table` raises a one-line :class:`~civicml.DataError` for a table no model
can learn from (the target missing or constant, a class with one row, an empty column, infinite
values, a column of numbers with stray text, a column with a huge number of categories) and
returns warnings for what is suspicious but not fatal (a column that alone predicts the target
almost perfectly: a leak).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from civicml._errors import DataError
from civicml.data._contract import (
    DataContract,
    closest,
    has_nested,
    is_text_dtype,
    show_columns,
    value_key,
)

__all__ = ["check_training_table", "detect_task", "drop_constant_columns", "quality_findings"]

TaskName = Literal["binary", "multiclass", "regression"]

#: At most this many distinct whole numbers make a classification target.
MAX_CLASSES: int = 20
_LEAK_SAMPLE = 20_000
_LEAK_LEVEL = 0.99
_MIXED_MIN_SHARE = 0.8


def detect_task(y: pd.Series | Iterable[object]) -> TaskName:
    """Guess the learning task from the target's values.

    Text, booleans and categoricals are classification; whole numbers with at most 20
    distinct values too; other numbers are regression, except a float column holding just two
    whole values (``0.0``/``1.0``), which is binary.

    Parameters
    ----------
    y : pandas.Series or iterable
        The target values; empty values are ignored.

    Returns
    -------
    {"binary", "multiclass", "regression"}

    Raises
    ------
    DataError
        The target has no values.

    Examples
    --------
    >>> detect_task(["yes", "no", "yes"]), detect_task([1, 2, 3, 2]), detect_task([0.5, 1.2, 3.3])
    ('binary', 'multiclass', 'regression')
    """
    s = y if isinstance(y, pd.Series) else pd.Series(list(y))
    vals = s.dropna()
    if vals.empty:
        raise DataError.build(
            "The target has no values (every row is empty)",
            fix="Check the target column in the data export, or set 'target' to another column",
        )
    n_unique = vals.nunique()
    if not pd.api.types.is_numeric_dtype(vals.dtype) or pd.api.types.is_bool_dtype(vals.dtype):
        return "binary" if n_unique <= 2 else "multiclass"
    whole = bool((vals % 1 == 0).all())
    if pd.api.types.is_integer_dtype(vals.dtype) or (whole and n_unique <= 2):
        if n_unique <= 2:
            return "binary"
        if n_unique <= MAX_CLASSES:
            return "multiclass"
    return "regression"


def _rows(mask: np.ndarray, limit: int = 5) -> list[int]:
    return [int(k) + 1 for k in np.flatnonzero(mask)[:limit]]


def check_training_table(
    df: pd.DataFrame,
    *,
    target: str | None,
    task: str = "auto",
    id_columns: Iterable[str] = (),
    drop_columns: Iterable[str] = (),
    text_columns: Iterable[str] = (),
    date_columns: Iterable[str] = (),
    categorical_columns: Iterable[str] = (),
    group: str | None = None,
    max_categories: int = 10_000,
) -> list[str]:
    """Refuse a table no model can learn from; warn about what looks wrong.

    Raises (in this order): the target (or a declared column) is not in the table; the target
    is empty or constant; the target does not suit ``task``; a class has a single row; a
    feature column is empty in every row; a numeric column holds inf/-inf; a column of numbers
    holds some text; a text column has more than ``max_categories`` distinct values and is not
    declared as id, text, date or drop.

    Warns about: rows without a target value; a column that alone predicts the target almost
    perfectly (rank AUC or Spearman correlation, or held-out accuracy or R² from its values,
    at least 0.99), a likely leak.

    Parameters
    ----------
    df : pandas.DataFrame
        The training table, rows in file order (row numbers in messages count from 1).
    target : str or None
        The target column; ``None`` for clustering.
    task : {"auto", "binary", "multiclass", "regression", "clustering"}, default "auto"
    id_columns, drop_columns : iterable of str
        Columns that are not features (not checked as features).
    text_columns, date_columns, categorical_columns : iterable of str
        Declared roles, exempt from the mixed-type and many-categories checks.
    group : str, optional
        The group column for grouped cross-validation (must exist).
    max_categories : int, default 10000
        Most distinct values an undeclared text column may have.

    Returns
    -------
    list of str
        Warnings, one line each.

    Raises
    ------
    DataError

    Examples
    --------
    >>> df = pd.DataFrame({"age": [30, 41, 52, 23, 35, 60], "y": ["a", "b", "a", "b", "a", "b"]})
    >>> check_training_table(df, target="y")
    []
    >>> check_training_table(df, target="outcome")
    Traceback (most recent call last):
    ...
    civicml._errors.DataError: The target column 'outcome' is not in the data. Columns are: ['age', 'y']. Set 'target' in civicml.yaml to one of them.
    """
    ids, drops = list(id_columns), list(drop_columns)
    exempt = set(text_columns) | set(date_columns) | set(categorical_columns)
    columns = list(df.columns)
    if target is not None and target not in df.columns:
        raise DataError.build(
            f"The target column {target!r} is not in the data.{closest(target, columns)} "
            f"Columns are: {show_columns(columns)}",
            fix="Set 'target' in civicml.yaml to one of them",
        )
    declared = {
        "columns.id": ids,
        "columns.drop": drops,
        "columns.text": list(text_columns),
        "columns.date": list(date_columns),
        "columns.categorical": list(categorical_columns),
        "columns.group": [group] if group is not None else [],
    }
    for key, names in declared.items():
        for name in names:
            if name not in df.columns:
                raise DataError.build(
                    f"The column {name!r} named under {key} is not in the data."
                    f"{closest(name, columns)} Columns are: {show_columns(columns)}",
                    fix=f"Correct or remove {name!r} under {key} in civicml.yaml",
                )

    warnings: list[str] = []
    y: pd.Series | None = None
    kind: str = task
    if target is not None and task != "clustering":
        y = df.iloc[:, columns.index(target)]
        kind = _check_target(y, target, task)
        missing = int(y.isna().sum())
        if missing:
            warnings.append(
                f"{missing:,} row{'s' if missing != 1 else ''} ({missing / len(y):.1%}) have no "
                f"value in the target {target!r} (e.g. rows {_rows(y.isna().to_numpy())}); "
                "they are left out of training."
            )

    skip = {target, group, *ids, *drops}
    features = [(i, c) for i, c in enumerate(columns) if c not in skip]
    for i, name in features:
        s = df.iloc[:, i]
        _check_feature(s, str(name), exempt=name in exempt, max_categories=max_categories)
    if y is not None and kind in ("binary", "multiclass", "regression"):
        known = y.notna().to_numpy()
        for i, name in features:
            note = _leak(df.iloc[:, i][known], y[known], kind)
            if note:
                warnings.append(
                    f"Column {name!r} alone predicts the target {target!r} almost perfectly "
                    f"({note}); it may leak the answer. Check how it is recorded, or add it to "
                    "columns.drop."
                )
    return warnings


def _check_target(y: pd.Series, target: str, task: str) -> str:
    vals = y.dropna()
    if vals.empty:
        raise DataError.build(
            f"The target column {target!r} is empty in every row",
            fix="Check the data export, or set 'target' to another column",
        )
    counts = vals.value_counts()
    if len(counts) == 1:
        raise DataError.build(
            f"The target column {target!r} has the same value in every row",
            expected="at least two different values",
            got=f"{value_key(counts.index[0])!r} in all {len(vals):,} rows",
            fix="Check the data export (a filter may have removed the other outcomes), or set "
            "'target' to another column",
        )
    kind = detect_task(vals) if task == "auto" else task
    if kind == "regression" and (
        not pd.api.types.is_numeric_dtype(vals.dtype) or pd.api.types.is_bool_dtype(vals.dtype)
    ):
        raise DataError.build(
            f"The target column {target!r} is not numeric, so it cannot be used for regression",
            expected="numbers",
            got=[value_key(v) for v in counts.index[:3]],
            fix="Set 'task' to binary or multiclass, or clean the target column",
        )
    if kind == "binary" and len(counts) > 2:
        raise DataError.build(
            f"The target column {target!r} has {len(counts)} classes, but task is 'binary'",
            expected="two classes",
            got=[value_key(v) for v in counts.index[:5]],
            fix="Set 'task' to multiclass (or auto), or merge the classes into two",
        )
    if kind in ("binary", "multiclass"):
        single = counts[counts < 2]
        if len(single):
            others = f" ({len(single)} classes have one row)" if len(single) > 1 else ""
            raise DataError.build(
                f"The target column {target!r} has a class with only one row: "
                f"{value_key(single.index[0])!r} (1 row){others}",
                expected="at least 2 rows per class",
                fix="Merge the rare class into another, remove its row, or collect more data",
            )
    return kind


def _check_feature(s: pd.Series, name: str, *, exempt: bool, max_categories: int) -> None:
    null = s.isna().to_numpy()
    if null.all():
        raise DataError.build(
            f"Column {name!r} is empty in every row",
            fix=f"Add {name!r} to columns.drop in civicml.yaml",
        )
    if has_nested(s):
        raise DataError.build(
            f"Column {name!r} holds nested values (lists or objects, e.g. from JSON)",
            expected="one plain value per cell",
            fix=f"Flatten {name!r} into plain columns before training, or add it to columns.drop",
        )
    if pd.api.types.is_bool_dtype(s.dtype):
        return
    if pd.api.types.is_numeric_dtype(s.dtype):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        inf = np.isinf(arr)
        if inf.any():
            raise DataError.build(
                f"Column {name!r} has {int(inf.sum()):,} infinite values (inf or -inf) at rows "
                f"{_rows(inf)}",
                expected="finite numbers or empty cells",
                fix="Replace them with empty cells or real values, or add the column to "
                "columns.drop",
            )
        return
    if not is_text_dtype(s) or exempt:
        return
    vals = s[~null]
    probe = vals.iloc[:1000]
    if pd.to_numeric(probe, errors="coerce").notna().mean() >= 0.5:
        numeric = pd.to_numeric(vals, errors="coerce").notna().to_numpy()
        share = float(numeric.mean())
        if _MIXED_MIN_SHARE <= share < 1.0:
            positions = np.flatnonzero(~null)[~numeric]
            bad_mask = np.zeros(len(s), dtype=bool)
            bad_mask[positions] = True
            examples = list(dict.fromkeys(str(v) for v in vals[~numeric].iloc[:50]))[:3]
            raise DataError.build(
                f"Column {name!r} is mostly numbers ({share:.1%}) but has "
                f"{int((~numeric).sum()):,} text values such as {examples} at rows "
                f"{_rows(bad_mask)}",
                expected="only numbers (or empty cells)",
                fix=f"Clean those values (leave the cells empty if unknown), or declare {name!r} "
                "under columns.categorical",
            )
    if len(vals) > max_categories:
        n_unique = int(vals.nunique())
        if n_unique > max_categories:
            raise DataError.build(
                f"Column {name!r} has {n_unique:,} distinct values, too many for a category",
                expected=f"at most {max_categories:,}",
                fix=f"Declare {name!r} under columns.id (an identifier), columns.text (free "
                "text), columns.date, or columns.drop",
            )


# --------------------------------------------------------------------------------------------
# leakage
# --------------------------------------------------------------------------------------------


def _leak(x: pd.Series, y: pd.Series, task: str) -> str | None:
    """A short note such as 'rank AUC 1.000' when x alone predicts y; else None."""
    n = len(x)
    if n < 20 or x.nunique(dropna=False) < 2:
        return None
    if n > _LEAK_SAMPLE:
        pick = np.sort(np.random.default_rng(0).choice(n, _LEAK_SAMPLE, replace=False))
        x, y = x.iloc[pick], y.iloc[pick]
    x = x.reset_index(drop=True)
    y = y.reset_index(drop=True)
    numeric = pd.api.types.is_numeric_dtype(x.dtype) and not pd.api.types.is_bool_dtype(x.dtype)
    if numeric:
        arr = x.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(arr)
        lowest = arr[finite].min() if finite.any() else 0.0
        order = np.where(finite, arr, lowest - 1.0)  # empty cells rank first: missingness counts
    else:
        keys = x.astype("str").fillna("\x00")
        if keys.nunique() / len(keys) < 0.9:
            return _leak_by_groups(keys, y, task)
        order = _rank(keys)  # id-like text: does its order leak?
    return _leak_by_order(order, y, task)


def _rank(values: np.ndarray | pd.Series) -> np.ndarray:
    """Average ranks (ties share their mean rank), as scipy's rankdata."""
    return pd.Series(values).rank(method="average").to_numpy(dtype="float64")


def _leak_by_order(order: np.ndarray, y: pd.Series, task: str) -> str | None:
    ranks = _rank(order)
    if task == "regression":
        ry = _rank(y.to_numpy(dtype="float64"))
        if np.std(ranks) == 0 or np.std(ry) == 0:
            return None
        rho = float(np.corrcoef(ranks, ry)[0, 1])
        return f"Spearman correlation {rho:.3f}" if abs(rho) >= _LEAK_LEVEL else None
    labels = y.map(value_key).to_numpy(dtype=object)
    classes = pd.unique(labels)
    if task == "binary" and len(classes) == 2:
        pos = labels == classes[0]
        n_pos, n_neg = int(pos.sum()), int((~pos).sum())
        auc = (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
        auc = max(auc, 1.0 - auc)
        return f"rank AUC {auc:.3f}" if auc >= _LEAK_LEVEL else None
    bins = pd.Series(pd.qcut(ranks, q=min(50, len(np.unique(ranks))), duplicates="drop"))
    return _leak_by_groups(bins.astype("str"), y, task)


def _leak_by_groups(keys: pd.Series, y: pd.Series, task: str) -> str | None:
    """Learn y per value on one half of the rows, score it on the other half."""
    n = len(keys)
    half = np.random.default_rng(1).permutation(n) < n // 2
    ka, kb = keys[half], keys[~half]
    ya, yb = y[half], y[~half]
    if task == "regression":
        means = ya.astype("float64").groupby(ka.to_numpy()).mean()
        pred = kb.map(means)
        seen = pred.notna().to_numpy()
        if seen.mean() < 0.5:
            return None
        truth = yb.to_numpy(dtype="float64")[seen]
        ss_tot = float(((truth - truth.mean()) ** 2).sum())
        if ss_tot == 0:
            return None
        r2 = 1.0 - float(((truth - pred.to_numpy(dtype="float64")[seen]) ** 2).sum()) / ss_tot
        return f"held-out R\u00b2 {r2:.3f} from its values" if r2 >= _LEAK_LEVEL else None
    la = ya.map(value_key)
    lb = yb.map(value_key)
    pairs = pd.DataFrame({"k": ka.to_numpy(), "y": la.to_numpy()}).value_counts()
    majority = pairs.reset_index().drop_duplicates("k").set_index("k")["y"]  # most common first
    pred = kb.map(majority)
    seen = pred.notna().to_numpy()
    if seen.mean() < 0.5:
        return None
    truth = lb.to_numpy(dtype=object)[seen]
    acc = float((pred.to_numpy(dtype=object)[seen] == truth).mean())
    base = float(pd.Series(truth).value_counts(normalize=True).iloc[0])
    if acc >= _LEAK_LEVEL and (1 - acc) <= 0.2 * (1 - base) and base < _LEAK_LEVEL:
        return f"held-out accuracy {acc:.3f} from its values, against {base:.3f} by chance"
    return None


_FEATURE_ROLES = ("numeric", "categorical", "text", "date")


def quality_findings(contract: DataContract) -> list[dict[str, object]]:
    """The data-quality findings of a training table, from its contract: one source for the
    promotion check, the report and the contract.

    A feature column with a single value is a problem (``"problem": True``): it cannot help the
    model, is dropped from its features (:func:`drop_constant_columns`) and may mean the export
    is wrong. A column with missing values is a note (``"problem": False``): the model imputes.

    Examples
    --------
    >>> from civicml.data import infer_contract
    >>> df = pd.DataFrame({"a": [1, 2, None, 4], "b": ["x"] * 4, "y": [0, 1, 0, 1]})
    >>> [f["message"] for f in quality_findings(infer_contract(df, target="y"))]
    ["'b' has a single value; it cannot help the model and is not used as an input", "'a' is 25% missing"]
    """
    constant = [
        {
            "column": c.name,
            "kind": "constant",
            "message": f"'{c.name}' has a single value; it cannot help the model and is not "
            "used as an input",
            "problem": True,
        }
        for c in contract.columns
        if c.role in _FEATURE_ROLES and c.n_unique <= 1
    ]
    missing = [
        {
            "column": c.name,
            "kind": "missing",
            "message": f"'{c.name}' is {c.null_share:.0%} missing",
            "problem": False,
        }
        for c in contract.columns
        if c.null_share
    ]
    return [*constant, *missing]


def drop_constant_columns(contract: DataContract) -> DataContract:
    """The contract without its single-valued feature columns: they are listed under
    ``dropped``, so they are neither model inputs nor required at serving. Take
    :func:`quality_findings` from the contract first: they say why.

    Examples
    --------
    >>> from civicml.data import infer_contract
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x"] * 4, "y": [0, 1, 0, 1]})
    >>> c = drop_constant_columns(infer_contract(df, target="y"))
    >>> c.names, c.dropped
    (['a', 'y'], ('b',))
    """
    gone = [c.name for c in contract.columns if c.role in _FEATURE_ROLES and c.n_unique <= 1]
    if not gone:
        return contract
    return replace(
        contract,
        columns=tuple(c for c in contract.columns if c.name not in gone),
        dropped=(*contract.dropped, *gone),
    )
