"""Fairness across protected characteristics: per-group rates, gaps, intervals and proxies.

Point estimates come from Fairlearn's :class:`~fairlearn.metrics.MetricFrame`; the 95% intervals
come from a vectorised bootstrap that resamples rows within each group (fast enough to run on
every training job). Small groups are flagged, never dropped; characteristics the spec does not
name, or whose column is missing, are listed as "not assessed".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "AGE_BANDS",
    "FairnessThresholds",
    "band_age",
    "fairness_table",
    "group_labels",
    "mitigation_tradeoff",
    "protected_groups",
    "proxy_check",
]

#: Age bands used when an age column is numeric: (upper bound exclusive, label).
AGE_BANDS: tuple[tuple[float, str], ...] = (
    (25, "under 25"),
    (35, "25 to 34"),
    (45, "35 to 44"),
    (55, "45 to 54"),
    (float("inf"), "55 and over"),
)

GROUP_METRICS = ("selection_rate", "precision", "recall", "fpr", "fnr")


@dataclass(frozen=True)
class FairnessThresholds:
    """When a fairness number earns a warning. All are configurable.

    Parameters
    ----------
    max_difference : float
        Largest acceptable gap (absolute difference) between groups in a rate.
    min_ratio : float
        Smallest acceptable ratio of the lowest to the highest selection rate. 0.8 is the US
        "four-fifths rule" -- a heuristic only; it is not a test in UK law.
    min_group_size : int
        Groups smaller than this are flagged as too small to judge; they are still shown.
    """

    max_difference: float = 0.1
    min_ratio: float = 0.8
    min_group_size: int = 30


def band_age(values: pd.Series) -> pd.Series:
    """Put numeric ages into bands; missing ages become ``"unknown"``.

    Examples
    --------
    >>> band_age(pd.Series([19, 25, 40, 60, None])).tolist()
    ['under 25', '25 to 34', '35 to 44', '55 and over', 'unknown']
    """
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    out = np.full(len(num), "unknown", dtype=object)
    lower = -np.inf
    for upper, label in AGE_BANDS:
        out[(num >= lower) & (num < upper)] = label
        lower = upper
    return pd.Series(out, index=values.index, name=values.name)


_YES_NO = {"yes", "no", "y", "n", "true", "false", "t", "f", "0", "1"}


def group_labels(values: pd.Series, characteristic: str) -> pd.Series:
    """Group labels for one protected column: ages are banded, many-valued numbers put in
    quartiles, everything else shown as text (missing as ``"unknown"``).

    Examples
    --------
    >>> group_labels(pd.Series([0, 1, 1]), "race").tolist()
    ['0', '1', '1']
    >>> group_labels(pd.Series(["no", "yes"], name="nwhite"), "race").tolist()
    ['nwhite: no', 'nwhite: yes']
    """
    if characteristic == "age" and pd.api.types.is_numeric_dtype(values):
        return band_age(values)
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 10:
        binned = pd.qcut(values, 4, duplicates="drop").astype(str)
        return binned.where(values.notna(), "unknown")
    out = values.astype("string").fillna("unknown").astype(str)
    if pd.api.types.is_float_dtype(values):
        out = out.str.replace(r"\.0$", "", regex=True)
    # yes/no-style codes mean nothing alone ("no / 45 to 54"): name the column ("nwhite: no")
    if values.name is not None and set(out.str.lower().unique()) - {"unknown"} <= _YES_NO:
        out = f"{values.name}: " + out
    return out


def protected_groups(
    frame: pd.DataFrame,
    protected: dict[str, str],
    *,
    intersections: bool = True,
    min_group_size: int = 30,
    where: str = "the test data",
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The groups every fairness table is computed over, found one way for every task.

    Each protected column becomes group labels (:func:`group_labels`: ages banded, many-valued
    numbers in quartiles); pairs of characteristics become intersections (``"female / 35 to
    44"``) when at least two intersection groups hold ``min_group_size`` rows.

    Parameters
    ----------
    frame : DataFrame
        Rows holding the protected columns.
    protected : dict
        Equality Act characteristic -> column name (``ProjectSpec.protected``).
    where : str
        Names ``frame`` in the "not assessed" reason for a missing column.

    Returns
    -------
    (list of dict, list of dict)
        Groupings, each ``{"name", "characteristic", "column", "kind", "labels"}`` (``kind``
        ``"single"`` or ``"intersection"``; ``labels`` a Series aligned with ``frame`` reset to
        0..n-1), and the characteristics not assessed, each ``{"characteristic", "reason"}``.

    Examples
    --------
    >>> f = pd.DataFrame({"sex": ["f", "m"] * 3, "age": [20, 30, 40, 50, 60, 70]})
    >>> groups, missing = protected_groups(f, {"sex": "sex", "age": "age"}, min_group_size=1)
    >>> [(g["name"], g["kind"]) for g in groups]
    [('sex', 'single'), ('age', 'single'), ('sex and age', 'intersection')]
    >>> groups[1]["labels"].tolist()[:2], len(missing)
    (['under 25', '25 to 34'], 7)
    """
    from civicml.spec import EQUALITY_ACT_CHARACTERISTICS

    frame = frame.reset_index(drop=True)
    out: list[dict[str, Any]] = []
    not_assessed: list[dict[str, str]] = []
    labels: dict[str, pd.Series] = {}
    for char, col in protected.items():
        if col not in frame.columns:
            not_assessed.append(
                {"characteristic": char, "reason": f"column {col!r} is not in {where}"}
            )
            continue
        labels[char] = group_labels(frame[col], char)
        out.append(
            {
                "name": char,
                "characteristic": char,
                "column": col,
                "kind": "single",
                "labels": labels[char],
            }
        )
    for char in EQUALITY_ACT_CHARACTERISTICS:
        if char not in protected:
            not_assessed.append(
                {"characteristic": char, "reason": "not named under 'protected' in civicml.yaml"}
            )
    if intersections:
        for a, b in combinations(labels, 2):
            inter = labels[a] + " / " + labels[b]
            sizes = inter.value_counts()
            if int((sizes >= min_group_size).sum()) < 2:
                continue
            out.append(
                {
                    "name": f"{a} and {b}",
                    "characteristic": f"{a} × {b}",
                    "column": None,
                    "kind": "intersection",
                    "labels": inter,
                }
            )
    return out, not_assessed


def _counts(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Confusion counts along the last axis (works on bootstrap matrices)."""
    tp = (y & p).sum(-1)
    fp = (~y & p).sum(-1)
    fn = (y & ~p).sum(-1)
    tn = (~y & ~p).sum(-1)
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


def _rates(c: dict[str, Any]) -> dict[str, Any]:
    with np.errstate(divide="ignore", invalid="ignore"):
        n = c["tp"] + c["fp"] + c["fn"] + c["tn"]
        return {
            "selection_rate": (c["tp"] + c["fp"]) / n,
            "precision": c["tp"] / (c["tp"] + c["fp"]),
            "recall": c["tp"] / (c["tp"] + c["fn"]),
            "fpr": c["fp"] / (c["fp"] + c["tn"]),
            "fnr": c["fn"] / (c["tp"] + c["fn"]),
        }


def _fl_metrics() -> dict[str, Any]:
    from fairlearn.metrics import (
        false_negative_rate,
        false_positive_rate,
        selection_rate,
    )
    from sklearn.metrics import precision_score, recall_score

    return {
        "selection_rate": selection_rate,
        "precision": lambda a, b: precision_score(a, b, zero_division=np.nan),
        "recall": lambda a, b: recall_score(a, b, zero_division=np.nan),
        "fpr": false_positive_rate,
        "fnr": false_negative_rate,
    }


def _calibration(y: np.ndarray, score: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: mean |observed - predicted| over equal-width bins."""
    if len(y) == 0:
        return float("nan")
    idx = np.minimum((score * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(idx):
        m = idx == b
        total += m.sum() * abs(y[m].mean() - score[m].mean())
    return float(total / len(y))


def _one_table(
    name: str,
    groups: pd.Series,
    y: np.ndarray,
    pred: np.ndarray,
    score: np.ndarray | None,
    th: FairnessThresholds,
    rng: np.random.Generator,
    n_boot: int,
) -> dict[str, Any]:
    import warnings

    from fairlearn.metrics import MetricFrame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mf = MetricFrame(
            metrics=_fl_metrics(),
            y_true=y.astype(int),
            y_pred=pred.astype(int),
            sensitive_features=groups.to_numpy(),
        )
    by_group = mf.by_group
    g_arr = groups.to_numpy()
    rows = []
    for label in by_group.index:
        m = g_arr == label
        n = int(m.sum())
        yg, pg = y[m], pred[m]
        row: dict[str, Any] = {"group": str(label), "n": n, "small": n < th.min_group_size}
        row["positives"] = int(yg.sum())
        for metric in GROUP_METRICS:
            row[metric] = _num(by_group.loc[label, metric])
        if n_boot and n:
            idx = rng.integers(0, n, size=(n_boot, n))
            boot = _rates(_counts(yg[idx], pg[idx]))
            for metric in GROUP_METRICS:
                vals = boot[metric][~np.isnan(boot[metric])]
                row[metric + "_ci"] = (
                    [float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))]
                    if len(vals)
                    else [None, None]
                )
        if score is not None:
            row["mean_score"] = float(score[m].mean()) if n else None
            row["observed_rate"] = float(yg.mean()) if n else None
            row["calibration_error"] = _calibration(yg.astype(float), score[m]) if n else None
        rows.append(row)
    big = [r for r in rows if not r["small"]]
    basis = big if len(big) >= 2 else rows
    gaps = _gaps(basis)
    warnings_out = []
    if gaps["demographic_parity_difference"] is not None and (
        gaps["demographic_parity_difference"] > th.max_difference
    ):
        warnings_out.append(
            f"Selection rates by {name} differ by "
            f"{gaps['demographic_parity_difference'] * 100:.0f} percentage points "
            f"(flagged for review above {th.max_difference * 100:.0f})."
        )
    if gaps["equalized_odds_difference"] is not None and (
        gaps["equalized_odds_difference"] > th.max_difference
    ):
        warnings_out.append(
            f"Error rates by {name} differ by {gaps['equalized_odds_difference'] * 100:.0f} "
            f"percentage points (equalised odds; flagged for review above "
            f"{th.max_difference * 100:.0f})."
        )
    small = [r["group"] for r in rows if r["small"]]
    if small:
        warnings_out.append(
            f"Groups by {name} with fewer than {th.min_group_size} people: "
            f"{', '.join(small)}. Their numbers are too uncertain to judge."
        )
    ratio = gaps["demographic_parity_ratio"]
    return {
        "name": name,
        "groups": rows,
        **gaps,
        "gap_basis": "groups of adequate size" if basis is big else "all groups",
        "four_fifths": {
            "ratio": ratio,
            "passes": None if ratio is None else bool(ratio >= 0.8),
            "note": "The US 'four-fifths rule' is a heuristic, not a test in UK law.",
        },
        "warnings": warnings_out,
    }


def _gaps(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def spread(metric: str) -> tuple[float | None, float | None]:
        vals = [r[metric] for r in rows if r[metric] is not None]
        if len(vals) < 2:
            return None, None
        lo, hi = min(vals), max(vals)
        return hi - lo, (lo / hi if hi > 0 else None)

    dp_diff, dp_ratio = spread("selection_rate")
    tpr_diff, _ = spread("recall")
    fpr_diff, _ = spread("fpr")
    eo = None if tpr_diff is None and fpr_diff is None else max(tpr_diff or 0.0, fpr_diff or 0.0)
    return {
        "demographic_parity_difference": dp_diff,
        "demographic_parity_ratio": dp_ratio,
        "equalized_odds_difference": eo,
        "tpr_difference": tpr_diff,
        "fpr_difference": fpr_diff,
    }


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def fairness_table(
    frame: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    protected: dict[str, str],
    score: np.ndarray | None = None,
    thresholds: FairnessThresholds | None = None,
    intersections: bool = True,
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Per-group rates and gaps for each protected characteristic (binary outcomes).

    Parameters
    ----------
    frame : DataFrame
        Held-out rows holding the protected columns (aligned with ``y_true``).
    y_true, y_pred : array of bool
        Whether each row really is, and is predicted, positive.
    protected : dict
        Equality Act characteristic -> column name.
    score : array, optional
        Predicted probability of the positive class, for calibration by group.

    Returns
    -------
    dict
        ``characteristics`` (one table each, plus intersections when sizes allow),
        ``not_assessed`` (characteristic and reason) and ``thresholds``.

    Examples
    --------
    >>> f = pd.DataFrame({"sex": ["f"] * 4 + ["m"] * 4})
    >>> y = np.array([1, 0, 1, 0, 1, 0, 1, 0], bool)
    >>> p = np.array([1, 1, 0, 0, 1, 0, 0, 0], bool)
    >>> t = fairness_table(f, y, p, protected={"sex": "sex"}, n_boot=0,
    ...                    thresholds=FairnessThresholds(min_group_size=1))
    >>> t["characteristics"][0]["demographic_parity_difference"]
    0.25
    """
    th = thresholds or FairnessThresholds()
    rng = np.random.default_rng(seed)
    y = np.asarray(y_true).astype(bool)
    pred = np.asarray(y_pred).astype(bool)
    s = None if score is None else np.asarray(score, dtype=float)
    groups, not_assessed = protected_groups(
        frame,
        protected,
        intersections=intersections,
        min_group_size=th.min_group_size,
        where="the test data",
    )
    tables: list[dict[str, Any]] = []
    for g in groups:
        t = _one_table(g["name"], g["labels"], y, pred, s, th, rng, n_boot)
        t.update(characteristic=g["characteristic"], column=g["column"], kind=g["kind"])
        tables.append(t)
    return {
        "characteristics": tables,
        "not_assessed": not_assessed,
        "thresholds": asdict(th),
    }


@dataclass
class _Proxy:
    feature: str
    characteristic: str
    strength: float
    flagged: bool = field(default=False)


def proxy_check(
    frame: pd.DataFrame,
    *,
    features: list[str],
    protected: dict[str, str],
    threshold: float = 0.3,
    max_rows: int = 2000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """How well each feature alone predicts each protected characteristic.

    ``strength`` is the balanced accuracy (on a held-out half) of a shallow tree, rescaled so that
    0 is chance and 1 is perfect. Features at or above ``threshold`` are flagged as possible
    proxies. The protected column itself is skipped.

    Examples
    --------
    >>> f = pd.DataFrame({"sex": list("fm") * 30, "height": [160, 180] * 30, "x": range(60)})
    >>> [p["feature"] for p in proxy_check(f, features=["height", "x"], protected={"sex": "sex"})
    ...  if p["flagged"]]
    ['height']
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    data = frame.sample(n=min(max_rows, len(frame)), random_state=seed) if len(frame) else frame
    out: list[dict[str, Any]] = []
    for char, col in protected.items():
        if col not in data.columns:
            continue
        target = group_labels(data[col], char)
        counts = target.value_counts()
        if len(counts) < 2 or counts.min() < 3:
            continue
        k = len(counts)
        t_arr = target.to_numpy()
        tr, te = train_test_split(
            np.arange(len(t_arr)), test_size=0.5, random_state=seed, stratify=t_arr
        )
        for feat in features:
            if feat == col or feat not in data.columns:
                continue
            x = data[feat]
            if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
                xv = pd.to_numeric(x, errors="coerce").fillna(x.median()).to_numpy(float)
            else:
                xv = pd.factorize(x.astype("string").fillna("?"))[0].astype(float)
            tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=5, random_state=seed)
            tree.fit(xv[tr].reshape(-1, 1), t_arr[tr])
            bal = balanced_accuracy_score(t_arr[te], tree.predict(xv[te].reshape(-1, 1)))
            strength = max(0.0, (bal - 1 / k) / (1 - 1 / k))
            out.append(
                asdict(_Proxy(feat, char, round(float(strength), 4), bool(strength >= threshold)))
            )
    out.sort(key=lambda p: -p["strength"])
    return out


def mitigation_tradeoff(
    model: Any,
    X_train: pd.DataFrame,
    y_train: Any,
    X_test: pd.DataFrame,
    y_test: Any,
    *,
    sensitive_train: pd.Series,
    sensitive_test: pd.Series,
    positive_label: Any = 1,
    constraint: str = "demographic_parity",
    seed: int = 0,
) -> dict[str, Any]:
    """What Fairlearn's ExponentiatedGradient mitigation costs in accuracy (optional).

    The fitted pipeline's preprocessing is reused; a logistic regression is trained with and
    without the constraint on the same features, so the comparison is like for like.

    Returns
    -------
    dict
        ``accuracy`` and ``demographic_parity_difference`` before and after, and
        ``accuracy_cost`` (before - after).
    """
    from fairlearn.metrics import demographic_parity_difference
    from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient
    from sklearn.linear_model import LogisticRegression

    prep = model[:-1] if hasattr(model, "steps") and len(model.steps) > 1 else None
    Xt_tr = prep.transform(X_train) if prep is not None else X_train
    Xt_te = prep.transform(X_test) if prep is not None else X_test
    ytr = (np.asarray(y_train) == positive_label).astype(int)
    yte = (np.asarray(y_test) == positive_label).astype(int)
    base = LogisticRegression(max_iter=500).fit(Xt_tr, ytr)
    cons = DemographicParity() if constraint == "demographic_parity" else EqualizedOdds()
    mitig = ExponentiatedGradient(LogisticRegression(max_iter=500), constraints=cons)
    mitig.fit(Xt_tr, ytr, sensitive_features=sensitive_train.astype(str).to_numpy())
    before = base.predict(Xt_te)
    after = mitig.predict(Xt_te, random_state=seed)
    s_te = sensitive_test.astype(str).to_numpy()
    acc_b, acc_a = float((before == yte).mean()), float((after == yte).mean())
    return {
        "constraint": constraint,
        "accuracy_before": acc_b,
        "accuracy_after": acc_a,
        "accuracy_cost": acc_b - acc_a,
        "demographic_parity_difference_before": float(
            demographic_parity_difference(yte, before, sensitive_features=s_te)
        ),
        "demographic_parity_difference_after": float(
            demographic_parity_difference(yte, after, sensitive_features=s_te)
        ),
    }
