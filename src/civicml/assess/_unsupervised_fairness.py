"""Fairness of clustering and anomaly models: cluster composition and flag rates by group.

Measured on the training rows, over the groups the supervised path uses
(:func:`~civicml.assess._fairness.protected_groups`: the spec's ``protected`` columns, ages in
bands, intersections of two characteristics). :func:`cluster_fairness` compares each group's
share of each cluster with its share of all rows; :func:`anomaly_fairness` compares each
group's flag rate with the overall rate (and, with known anomalies, recall and ROC AUC);
:func:`fairness_checks` turns either into the promotion check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import DataError
from civicml.assess._checks import Check
from civicml.assess._fairness import protected_groups

__all__ = [
    "UnsupervisedFairnessRules",
    "anomaly_fairness",
    "cluster_fairness",
    "fairness_checks",
]


@dataclass(frozen=True)
class UnsupervisedFairnessRules:
    """When a group's place in the clusters, or its flag rate, earns a warning or fails a check.

    Parameters
    ----------
    min_group_size : int
        Groups (and clusters) with fewer rows are shown but not judged.
    max_share_difference : float
        Clustering: a cluster is flagged for a group when the group's share of the cluster
        differs from its share of all rows by more than this (0.10 = 10 percentage points)
        **and** the ratio of the two shares is outside ``[min_ratio, max_ratio]``.
    min_ratio, max_ratio : float
        The band of acceptable ratios: a group's share of a cluster over its overall share
        (clustering), or its flag rate over the overall flag rate (anomaly: flagged outside it).
    max_gap : float
        Clustering check ``max_fairness_gap``: fails when a group's share of a cluster differs
        from its overall share by more than this (judged groups and clusters only).
    p_value : float
        Anomaly check ``flag_rate_ratio``: fails when a judged group's ratio is outside the band
        **and** a two-sided binomial test of its flag count against the overall rate gives a
        p-value below this (so chance alone in a small group does not block promotion).
    """

    min_group_size: int = 30
    max_share_difference: float = 0.1
    min_ratio: float = 0.8
    max_ratio: float = 1.25
    max_gap: float = 0.2
    p_value: float = 0.05


def _check_inputs(frame: Any, values: Any, what: str) -> np.ndarray:
    if not isinstance(frame, pd.DataFrame):
        raise DataError.build(
            f"The rows for {what} must be a pandas DataFrame",
            got=type(frame).__name__,
            fix="Pass the training table holding the protected columns",
        )
    arr = np.asarray(values)
    if arr.ndim != 1 or len(arr) != len(frame):
        raise DataError.build(
            f"The {what} values do not line up with the rows",
            expected=f"one value per row ({len(frame)})",
            got=f"shape {arr.shape}",
            fix="Pass one value per row of the frame, in the same order",
        )
    return arr


def _ratio(share: float, overall: float) -> float | None:
    return None if overall <= 0 else share / overall


def cluster_fairness(
    frame: pd.DataFrame,
    clusters: Any,
    *,
    protected: dict[str, str],
    names: dict[int, str] | None = None,
    rules: UnsupervisedFairnessRules | None = None,
) -> dict[str, Any]:
    """How each protected group is represented in each cluster, against its overall share.

    A cell (cluster × group) is flagged ``"over"`` (the cluster is dominated by the group) or
    ``"under"`` (it under-represents or excludes the group) when both the cluster and the group
    hold at least ``rules.min_group_size`` rows, the group's share of the cluster differs from
    its overall share by more than ``rules.max_share_difference`` and the ratio of the two
    shares is outside ``[rules.min_ratio, rules.max_ratio]``.

    Parameters
    ----------
    frame : DataFrame
        The rows that were clustered, holding the protected columns.
    clusters : array of int
        Each row's cluster (``-1``: noise).
    protected : dict
        Equality Act characteristic -> column, as in ``ProjectSpec.protected``.
    names : dict, optional
        Cluster number -> name shown (default ``"Cluster N"``, ``-1`` ``"Noise"``).

    Returns
    -------
    dict
        ``characteristics`` (one table per characteristic and intersection: ``groups`` with
        each group's ``n`` and overall ``share``; ``clusters`` with their ``cells``;
        ``largest_disparity``; ``warnings``), ``not_assessed``, ``largest_disparity`` over every
        single characteristic, ``rules`` and ``rule`` (the flag rule in words).

    Examples
    --------
    >>> f = pd.DataFrame({"sex": ["f"] * 40 + ["m"] * 40})
    >>> k = [0] * 30 + [1] * 10 + [1] * 40
    >>> t = cluster_fairness(f, k, protected={"sex": "sex"})["characteristics"][0]
    >>> [(c["cluster"], g["group"], round(g["share"], 2), g["flag"])
    ...  for c in t["clusters"] for g in c["cells"]]
    [(0, 'f', 1.0, 'over'), (0, 'm', 0.0, 'under'), (1, 'f', 0.2, 'under'), (1, 'm', 0.8, 'over')]
    """
    th = rules or UnsupervisedFairnessRules()
    k = _check_inputs(frame, clusters, "cluster").astype(int)
    groups, not_assessed = protected_groups(
        frame, protected, min_group_size=th.min_group_size, where="the training data"
    )
    label = dict(names or {})
    label.setdefault(-1, "Noise")
    n_all = len(k)
    tables: list[dict[str, Any]] = []
    for g in groups:
        lab = g["labels"].to_numpy()
        values = sorted(set(lab))
        overall = {v: int((lab == v).sum()) for v in values}
        rows: list[dict[str, Any]] = [
            {
                "group": str(v),
                "n": overall[v],
                "share": overall[v] / n_all if n_all else 0.0,
                "small": overall[v] < th.min_group_size,
            }
            for v in values
        ]
        cl_rows, warnings, cells_all = [], [], []
        for c in sorted(set(k.tolist()), key=lambda x: (x < 0, x)):
            m = k == c
            n_c = int(m.sum())
            cells = []
            for r in rows:
                n_cg = int((lab[m] == r["group"]).sum()) if n_c else 0
                share = n_cg / n_c if n_c else 0.0
                diff = share - r["share"]
                ratio = _ratio(share, r["share"])
                judged = n_c >= th.min_group_size and not r["small"]
                outside = ratio is not None and not (th.min_ratio <= ratio <= th.max_ratio)
                flag = None
                if judged and abs(diff) > th.max_share_difference and outside:
                    flag = "over" if diff > 0 else "under"
                cell = {
                    "group": r["group"],
                    "n": n_cg,
                    "share": share,
                    "overall_share": r["share"],
                    "difference": diff,
                    "ratio": ratio,
                    "judged": judged,
                    "flag": flag,
                }
                cells.append(cell)
                cells_all.append({**cell, "cluster": c, "cluster_name": _cname(c, label)})
                if flag:
                    warnings.append(_cell_text(g["name"], _cname(c, label), n_c, cell))
            cl_rows.append(
                {
                    "cluster": c,
                    "name": _cname(c, label),
                    "n": n_c,
                    "small": n_c < th.min_group_size,
                    "cells": cells,
                }
            )
        tables.append(
            {
                "name": g["name"],
                "characteristic": g["characteristic"],
                "column": g["column"],
                "kind": g["kind"],
                "groups": rows,
                "clusters": cl_rows,
                "largest_disparity": _largest(cells_all),
                "warnings": warnings,
            }
        )
    singles = [t["largest_disparity"] for t in tables if t["kind"] == "single"]
    worst = max(
        (d for d in singles if d is not None and d["judged"]),
        key=lambda d: abs(d["difference"]),
        default=None,
    )
    return {
        "task": "clustering",
        "characteristics": tables,
        "not_assessed": not_assessed,
        "largest_disparity": worst,
        "rules": asdict(th),
        "rule": (
            f"A cluster is flagged for a group when the group's share of the cluster differs "
            f"from its share of all rows by more than {th.max_share_difference * 100:.0f} "
            f"percentage points and the ratio of the two shares is outside "
            f"{th.min_ratio:g}–{th.max_ratio:g}; clusters and groups under "
            f"{th.min_group_size} rows are shown but not judged."
        ),
    }


def _cname(c: int, names: dict[int, str]) -> str:
    return names.get(c, f"Cluster {c}")


def _largest(cells: list[dict[str, Any]]) -> dict[str, Any] | None:
    judged = [c for c in cells if c["judged"]] or cells
    return max(judged, key=lambda c: abs(c["difference"]), default=None)


def _cell_text(name: str, cluster: str, n_c: int, cell: dict[str, Any]) -> str:
    share, overall = cell["share"], cell["overall_share"]
    ratio = cell["ratio"]
    if cell["flag"] == "over":
        verb = "is dominated by"
    elif share == 0:
        verb = "excludes"
    else:
        verb = "under-represents"
    return (
        f"{cluster} {verb} {name} = {cell['group']}: {share:.0%} of its {n_c} rows against "
        f"{overall:.0%} of all rows (ratio {ratio:.2f})."
    )


def _wilson(k: int, n: int) -> list[float | None]:
    if n == 0:
        return [None, None]
    z, p = 1.959964, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def _binom_p(k: int, n: int, p: float) -> float | None:
    if n == 0 or not (0 < p < 1):
        return None
    from scipy.stats import binomtest

    return float(binomtest(k, n, p).pvalue)


def anomaly_fairness(
    frame: pd.DataFrame,
    flagged: Any,
    *,
    protected: dict[str, str],
    scores: Any = None,
    known: Any = None,
    threshold: float | None = None,
    rules: UnsupervisedFairnessRules | None = None,
) -> dict[str, Any]:
    """Each protected group's anomaly flag rate against the overall rate (disparate impact).

    A judged group (at least ``rules.min_group_size`` rows) is flagged when its flag rate over
    the overall flag rate is below ``rules.min_ratio`` or above ``rules.max_ratio``;
    ``p_value`` (two-sided binomial test of the group's flag count against the overall rate)
    says how likely chance alone is. With known anomalies (``known``, 0/1) and ``scores``
    (higher is stranger), each group also gets ``known_anomalies``, ``recall`` and
    ``precision`` (of ``scores > threshold``) and ``roc_auc`` (when the group holds both kinds).

    Parameters
    ----------
    frame : DataFrame
        The rows scored, holding the protected columns.
    flagged : array of bool
        Whether each row is flagged as an anomaly.
    protected : dict
        Equality Act characteristic -> column.
    scores, known : array, optional
        Anomaly scores and known anomalies (0/1) for the per-group label metrics.
    threshold : float, optional
        Score above which ``scores`` count as flagged (default: use ``flagged``).

    Examples
    --------
    >>> f = pd.DataFrame({"sex": ["f"] * 40 + ["m"] * 60})
    >>> flags = [1] * 8 + [0] * 32 + [1] * 2 + [0] * 58
    >>> t = anomaly_fairness(f, flags, protected={"sex": "sex"})["characteristics"][0]
    >>> [(g["group"], round(g["flag_rate"], 3), round(g["ratio"], 2), g["flag"])
    ...  for g in t["groups"]]
    [('f', 0.2, 2.0, 'above'), ('m', 0.033, 0.33, 'below')]
    """
    th = rules or UnsupervisedFairnessRules()
    flags = _check_inputs(frame, flagged, "anomaly flag").astype(bool)
    s = None if scores is None else _check_inputs(frame, scores, "anomaly score").astype(float)
    y = None if known is None else _check_inputs(frame, known, "known anomaly").astype(int)
    pred = flags if (s is None or threshold is None) else s > float(threshold)
    groups, not_assessed = protected_groups(
        frame, protected, min_group_size=th.min_group_size, where="the training data"
    )
    n_all = len(flags)
    overall = float(flags.mean()) if n_all else 0.0
    tables: list[dict[str, Any]] = []
    for g in groups:
        lab = g["labels"].to_numpy()
        rows, warnings = [], []
        for v in sorted(set(lab)):
            m = lab == v
            n = int(m.sum())
            k = int(flags[m].sum())
            rate = k / n if n else 0.0
            ratio = _ratio(rate, overall)
            judged = n >= th.min_group_size
            flag = None
            if judged and ratio is not None and ratio < th.min_ratio:
                flag = "below"
            elif judged and ratio is not None and ratio > th.max_ratio:
                flag = "above"
            row: dict[str, Any] = {
                "group": str(v),
                "n": n,
                "small": not judged,
                "flagged": k,
                "flag_rate": rate,
                "selection_rate": rate,  # the shared summary reads selection rates
                "flag_rate_ci": _wilson(k, n),
                "ratio": ratio,
                "p_value": _binom_p(k, n, overall),
                "flag": flag,
            }
            if y is not None:
                row.update(_label_metrics(y[m], pred[m], None if s is None else s[m]))
            rows.append(row)
            if flag:
                p = row["p_value"]
                warnings.append(
                    f"Rows with {g['name']} = {v} are flagged at {rate:.1%} against "
                    f"{overall:.1%} overall (ratio {ratio:.2f}, outside "
                    f"{th.min_ratio:g}–{th.max_ratio:g}"
                    + (f"; binomial p = {p:.3g}" if p is not None else "")
                    + ")."
                )
        judged_rows = [r for r in rows if not r["small"] and r["ratio"] is not None]
        worst = max(judged_rows, key=lambda r: abs(np.log(max(r["ratio"], 1e-9))), default=None)
        tables.append(
            {
                "name": g["name"],
                "characteristic": g["characteristic"],
                "column": g["column"],
                "kind": g["kind"],
                "groups": rows,
                "largest_disparity": None if worst is None else {**worst},
                "warnings": warnings,
            }
        )
    singles = [
        t["largest_disparity"]
        for t in tables
        if t["kind"] == "single" and t["largest_disparity"] is not None
    ]
    worst_all = max(singles, key=lambda r: abs(np.log(max(r["ratio"], 1e-9))), default=None)
    return {
        "task": "anomaly",
        "overall_rate": overall,
        "n": n_all,
        "labelled": y is not None,
        "characteristics": tables,
        "not_assessed": not_assessed,
        "largest_disparity": worst_all,
        "rules": asdict(th),
        "rule": (
            f"A group is flagged when its flag rate over the overall rate is below "
            f"{th.min_ratio:g} or above {th.max_ratio:g}; groups under {th.min_group_size} rows "
            "are shown but not judged."
        ),
    }


def _label_metrics(y: np.ndarray, pred: np.ndarray, s: np.ndarray | None) -> dict[str, Any]:
    pos = int(y.sum())
    tp = int((pred & (y == 1)).sum())
    out: dict[str, Any] = {
        "known_anomalies": pos,
        "recall": tp / pos if pos else None,
        "precision": tp / int(pred.sum()) if pred.sum() else None,
        "roc_auc": None,
    }
    if s is not None and 0 < pos < len(y):
        from sklearn.metrics import roc_auc_score

        out["roc_auc"] = float(roc_auc_score(y, s))
    return out


def fairness_checks(
    doc: dict[str, Any], rules: UnsupervisedFairnessRules | None = None
) -> list[Check]:
    """The fairness gate of an unsupervised assessment (what ``unsupervised_checks`` adds).

    Clustering: ``max_fairness_gap`` (as for supervised models): the largest difference between
    a judged group's share of a judged cluster and its share of all rows, at most
    ``rules.max_gap``. Anomaly: ``flag_rate_ratio``: no judged group's flag rate over the
    overall rate outside ``[rules.min_ratio, rules.max_ratio]`` with a binomial p-value below
    ``rules.p_value``. Passed, saying so, when no characteristic could be assessed.

    Examples
    --------
    >>> fairness_checks({"task": "anomaly", "fairness": {"characteristics": []}})[0].evidence
    "No protected characteristic could be assessed; see the report's 'not assessed' list."
    """
    th = rules or UnsupervisedFairnessRules(**(doc.get("fairness") or {}).get("rules", {}))
    tables = [
        t for t in (doc.get("fairness") or {}).get("characteristics", []) if t["kind"] == "single"
    ]
    none = "No protected characteristic could be assessed; see the report's 'not assessed' list."
    if doc.get("task") == "clustering":
        cells = [
            {**c, "cluster_name": cl["name"], "name": t["name"]}
            for t in tables
            for cl in t.get("clusters", [])
            for c in cl["cells"]
            if c["judged"]
        ]
        if not tables:
            return [Check("max_fairness_gap", True, none, None, th.max_gap)]
        if not cells:
            return [
                Check(
                    "max_fairness_gap",
                    True,
                    f"No group and cluster both hold {th.min_group_size} rows; nothing to judge.",
                    None,
                    th.max_gap,
                )
            ]
        w = max(cells, key=lambda c: abs(c["difference"]))
        gap = abs(w["difference"])
        return [
            Check(
                "max_fairness_gap",
                bool(gap <= th.max_gap),
                f"The largest representation gap is {gap:.3f} ({w['name']} = {w['group']} in "
                f"{w['cluster_name']}: {w['share']:.0%} of the cluster against "
                f"{w['overall_share']:.0%} of all rows); the limit is {th.max_gap:.3f}.",
                gap,
                th.max_gap,
            )
        ]
    rows = [
        {**g, "name": t["name"]}
        for t in tables
        for g in t.get("groups", [])
        if not g["small"] and g.get("ratio") is not None
    ]
    if not tables:
        return [Check("flag_rate_ratio", True, none, None, th.min_ratio)]
    if not rows:
        return [
            Check(
                "flag_rate_ratio",
                True,
                f"No group holds {th.min_group_size} rows (or nothing was flagged); "
                "nothing to judge.",
                None,
                th.min_ratio,
            )
        ]
    w = max(rows, key=lambda r: abs(np.log(max(r["ratio"], 1e-9))))
    bad = [
        r for r in rows if r["flag"] and r.get("p_value") is not None and r["p_value"] < th.p_value
    ]
    shown = bad[0] if bad else w
    p = shown.get("p_value")
    return [
        Check(
            "flag_rate_ratio",
            not bad,
            f"{len(bad)} group(s) flagged at a rate outside {th.min_ratio:g}–{th.max_ratio:g} of "
            f"the overall rate beyond chance (binomial p < {th.p_value:g}); furthest: "
            f"{shown['name']} = {shown['group']} at {shown['flag_rate']:.1%} "
            f"(ratio {shown['ratio']:.2f}" + (f", p = {p:.3g}" if p is not None else "") + ").",
            float(shown["ratio"]),
            th.min_ratio,
        )
    ]
