"""What the report shows for clustering and anomaly models, and the checks that gate them.

:func:`assess_unsupervised` turns a clustering or anomaly :class:`~civicml.learn.TrainResult`
into the JSON-able ``assessment.json`` document; :func:`unsupervised_checks` gives the
``checks.json`` gates; :func:`unsupervised_html` renders the report section (an HTML fragment
in GOV.UK Design System classes, every value escaped).

Fairness is measured on the training rows, over the groups the supervised path uses
(:func:`~civicml.assess._fairness.protected_groups`: the spec's ``protected`` columns, ages in
bands, intersections of two characteristics): :func:`cluster_fairness` compares each group's
share of each cluster with its share of all rows; :func:`anomaly_fairness` compares each
group's flag rate with the overall rate (and, with known anomalies, recall and ROC AUC).
"""

from __future__ import annotations

from dataclasses import asdict
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from civicml.assess._checks import Check, _data_quality_check
from civicml.assess._unsupervised_fairness import (
    UnsupervisedFairnessRules,
    anomaly_fairness,
    cluster_fairness,
    fairness_checks,
)

__all__ = [
    "UnsupervisedFairnessRules",
    "anomaly_fairness",
    "assess_unsupervised",
    "cluster_fairness",
    "fairness_checks",
    "unsupervised_checks",
    "unsupervised_html",
]


def _m(value: Any) -> dict[str, Any]:
    v = None if value is None or value != value else float(value)
    return {"value": v, "ci": None}


def assess_unsupervised(
    result: Any,
    *,
    frame: pd.DataFrame | None = None,
    protected: dict[str, str] | None = None,
    features: list[str] | None = None,
    rules: UnsupervisedFairnessRules | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The assessment document of a clustering or anomaly result.

    Keys: ``task``, ``metrics`` (``{name: {"value", "ci"}}`` like supervised assessments),
    ``fairness`` (:func:`cluster_fairness` or :func:`anomaly_fairness` on the training rows
    ``frame`` for the ``protected`` columns; every characteristic "not assessed" without
    them), ``proxies`` (features that predict a protected characteristic), and for clustering
    ``clusters`` (profiles), ``validation`` (ARI/NMI against known labels, when given),
    ``noise_share``; for anomaly ``threshold``, ``contamination``, ``anomaly_rate``,
    ``known_anomalies`` and ``anomalies`` (the most anomalous training rows with reasons).
    It also carries every key of a supervised assessment (empty where not measured) so the
    shared report renders; ``notes`` hold the cluster profiles or the anomaly summary.
    """
    ex = result.extra
    doc: dict[str, Any] = {
        # the keys of a supervised Assessment, so the shared report template renders
        "task": result.task,
        "n_test": result.n_train,
        "classes": [],
        "positive_label": None,
        "threshold": ex.get("threshold"),
        "curves": {},
        "confusion": {},
        "calibration": {},
        "proxies": [],
        "importance": {
            "method": "no method (not measured for unsupervised models)",
            "scoring": "none",
            "features": [],
        },
        "partial_dependence": [],
        "examples": [],
        "notes": [],
        "candidate": result.best,
        "n_rows": result.n_train,
        "metrics": {k: _m(v) for k, v in result.test_metrics.items()},
        "fairness": _fairness(result, frame, protected or {}, rules),
    }
    if frame is not None and protected:
        from civicml.assess._fairness import proxy_check

        try:
            doc["proxies"] = proxy_check(
                frame,
                features=list(features or result.roles.features),
                protected=protected,
                seed=seed,
            )
        except Exception as exc:  # a proxy check is a note, never a reason to lose a model
            doc["notes"].append(f"Proxy check skipped: {type(exc).__name__}: {exc}")
    if result.task == "clustering":
        doc["clusters"] = ex.get("profiles", [])
        doc["validation"] = {
            k: result.test_metrics[k] for k in ("ari", "nmi") if k in result.test_metrics
        }
        doc["labels_column"] = result.target or None
        doc["noise_share"] = result.test_metrics.get("noise_share", 0.0)
        doc["notes"] = [str(p["summary"]) for p in doc["clusters"]] + doc["notes"]
        if doc["validation"]:
            doc["notes"].append(
                f"Against the known labels in {result.target!r}: adjusted Rand index "
                f"{doc['validation']['ari']:.3f}, normalised mutual information "
                f"{doc['validation']['nmi']:.3f} (1 is perfect agreement, 0 is chance)."
            )
    else:
        doc["threshold"] = ex.get("threshold")
        doc["contamination"] = ex.get("contamination")
        doc["anomaly_rate"] = ex.get("anomaly_rate")
        doc["known_anomalies"] = ex.get("n_known_anomalies")
        doc["labels_column"] = result.target or None
        doc["anomalies"] = ex.get("examples", [])
        doc["notes"][:0] = [
            f"{(doc['anomaly_rate'] or 0):.1%} of training rows are flagged as anomalies "
            f"(contamination {doc['contamination']}); the most unusual: "
            + " | ".join(f"row {e['row']}: {e['reasons']}" for e in doc["anomalies"][:3])
        ]
    return doc


def _fairness(
    result: Any,
    frame: pd.DataFrame | None,
    protected: dict[str, str],
    rules: UnsupervisedFairnessRules | None,
) -> dict[str, Any]:
    """Fairness on the training rows: cluster composition or flag rates by group."""
    from civicml.spec import EQUALITY_ACT_CHARACTERISTICS

    if frame is None or not protected:
        return {
            "task": result.task,
            "characteristics": [],
            "not_assessed": [
                {
                    "characteristic": c,
                    "reason": "no training rows were given to assess"
                    if c in protected
                    else "not named under 'protected' in civicml.yaml",
                }
                for c in EQUALITY_ACT_CHARACTERISTICS
            ],
            "largest_disparity": None,
            "rules": asdict(rules or UnsupervisedFairnessRules()),
        }
    ex = result.extra
    frame = frame.reset_index(drop=True)
    if result.task == "clustering":
        names = {int(p["cluster"]): str(p.get("name")) for p in ex.get("profiles", [])}
        return cluster_fairness(
            frame, np.asarray(ex["labels"]), protected=protected, names=names, rules=rules
        )
    X = frame[list(result.roles.features)]
    scores = -np.asarray(result.pipeline.score_samples(X), dtype=float)
    flagged = scores > float(ex["threshold"])
    known = oof = None
    if result.target and result.target in frame.columns:
        from civicml.learn import anomaly_labels

        known = anomaly_labels(frame[result.target])
        oof = np.asarray(ex.get("scores") or scores, dtype=float)
    doc = anomaly_fairness(
        frame,
        flagged,
        protected=protected,
        scores=oof,
        known=known,
        threshold=float(ex["threshold"]) if oof is not None else None,
        rules=rules,
    )
    doc["source"] = "flag rates of the chosen detector on every training row" + (
        "; recall, precision and ROC AUC of the out-of-fold scores against the known "
        f"anomalies in {result.target!r}"
        if known is not None
        else ""
    )
    return doc


def unsupervised_checks(
    doc: dict[str, Any],
    *,
    min_silhouette: float = 0.1,
    min_cluster_share: float = 0.02,
    rate_tolerance: float = 0.05,
    min_roc_auc: float = 0.6,
    data_findings: list[Any] | None = None,
) -> list[Check]:
    """Pass/fail gates for an unsupervised assessment (the shape the registry reads).

    Clustering: ``separation`` (silhouette ≥ ``min_silhouette``), ``no_tiny_clusters`` (every
    cluster holds ≥ ``min_cluster_share`` of rows), ``stability`` (mean ARI ≥ 0.6 across
    resamples), ``max_fairness_gap`` (see :func:`fairness_checks`). Anomaly: ``anomaly_rate``
    within ``rate_tolerance`` of a numeric contamination (with ``auto``: at most 0.2),
    ``roc_auc`` ≥ ``min_roc_auc`` on known anomalies (passed with "no labels" when none),
    ``flag_rate_ratio``. Both: ``data_quality``.

    Examples
    --------
    >>> doc = {"task": "anomaly", "metrics": {}, "anomaly_rate": 0.06, "contamination": 0.05}
    >>> [(c.name, c.passed) for c in unsupervised_checks(doc)]
    [('anomaly_rate', True), ('roc_auc', True), ('flag_rate_ratio', True), ('data_quality', True)]
    """
    m = {k: (v or {}).get("value") for k, v in doc.get("metrics", {}).items()}
    out: list[Check] = []
    if doc.get("task") == "clustering":
        s = m.get("silhouette")
        out.append(
            Check(
                "separation",
                s is not None and s >= min_silhouette,
                f"silhouette {s:.3f} (limit {min_silhouette})" if s is not None else "no value",
                s,
                min_silhouette,
            )
        )
        shares = [c["share"] for c in doc.get("clusters", []) if c.get("cluster", 0) >= 0]
        small = min(shares) if shares else 0.0
        out.append(
            Check(
                "no_tiny_clusters",
                small >= min_cluster_share,
                f"smallest cluster holds {small:.1%} of rows (limit {min_cluster_share:.0%})",
                small,
                min_cluster_share,
            )
        )
        st = m.get("stability")
        out.append(
            Check(
                "stability",
                st is None or st >= 0.6,
                "not measured" if st is None else f"mean ARI across resamples {st:.3f} (limit 0.6)",
                st,
                0.6,
            )
        )
    else:
        rate, cont = doc.get("anomaly_rate") or 0.0, doc.get("contamination")
        if isinstance(cont, (int, float)):
            ok = abs(rate - cont) <= rate_tolerance
            ev = f"{rate:.1%} of rows flagged; contamination {cont:.1%} ± {rate_tolerance:.0%}"
        else:
            ok = rate <= 0.2
            ev = f"{rate:.1%} of rows flagged (contamination auto; limit 20%)"
        limit = float(cont) if isinstance(cont, (int, float)) else 0.2
        out.append(Check("anomaly_rate", ok, ev, rate, limit))
        auc = m.get("roc_auc")
        out.append(
            Check(
                "roc_auc",
                auc is None or auc >= min_roc_auc,
                "no known anomalies to score against"
                if auc is None
                else f"ROC AUC {auc:.3f} on known anomalies, out of fold (limit {min_roc_auc})",
                auc,
                min_roc_auc,
            )
        )
    out.extend(fairness_checks(doc))
    # the same rule as supervised bundles: problems fail it, notes (missing values) do not
    out.append(_data_quality_check(list(data_findings or [])))
    return out


def _num(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    return escape(str(v))


def _pct(v: Any) -> str:
    return "—" if v is None else f"{v:.0%}"


def _pct1(v: Any) -> str:
    return "—" if v is None else f"{v:.1%}"


def _tag(text: str, colour: str) -> str:
    return f'<strong class="govuk-tag govuk-tag--{colour}">{escape(text)}</strong>'


def _th_col(text: str, num: bool = False) -> str:
    cls = "govuk-table__header" + (" govuk-table__header--numeric" if num else "")
    return f'<th scope="col" class="{cls}">{text}</th>'


def _td(text: str, num: bool = False) -> str:
    cls = "govuk-table__cell" + (" govuk-table__cell--numeric" if num else "")
    return f'<td class="{cls}">{text}</td>'


def _table(caption: str, head: list[str], rows: list[str]) -> str:
    return (
        f'<table class="govuk-table"><caption class="govuk-table__caption '
        f'govuk-table__caption--s">{escape(caption)}</caption>'
        f'<thead class="govuk-table__head"><tr class="govuk-table__row">{"".join(head)}</tr>'
        f'</thead><tbody class="govuk-table__body">{"".join(rows)}</tbody></table>'
    )


def _row(header: str, cells: list[str]) -> str:
    return (
        f'<tr class="govuk-table__row"><th scope="row" class="govuk-table__header">{header}</th>'
        + "".join(cells)
        + "</tr>"
    )


def _cluster_fairness_html(t: dict[str, Any]) -> str:
    groups = t.get("groups", [])
    head = [_th_col("Cluster"), _th_col("Rows", True)] + [
        _th_col(escape(g["group"]), True) for g in groups
    ]
    rows = []
    for cl in t.get("clusters", []):
        cells = [_td(f"{cl['n']:,}", True)]
        for c in cl["cells"]:
            mark = ""
            if c["flag"] == "over":
                mark = " " + _tag("Over", "red")
            elif c["flag"] == "under":
                mark = " " + _tag("Under", "red")
            ratio = "" if c["ratio"] is None else f" (×{c['ratio']:.2f})"
            cells.append(_td(f"{_pct(c['share'])}{ratio}{mark}", True))
        small = " " + _tag("Small", "orange") if cl["small"] else ""
        rows.append(_row(escape(str(cl["name"])) + small, cells))
    n_all = sum(g["n"] for g in groups)
    rows.append(
        _row(
            "All rows",
            [_td(f"{n_all:,}", True)]
            + [
                _td(_pct(g["share"]) + (" " + _tag("Small", "orange") if g["small"] else ""), True)
                for g in groups
            ],
        )
    )
    return _table(
        f"Share of each {t['name']} group in each cluster (ratio to its share of all rows)",
        head,
        rows,
    )


def _anomaly_fairness_html(t: dict[str, Any], labelled: bool) -> str:
    head = [
        _th_col("Group"),
        _th_col("Rows", True),
        _th_col("Flagged", True),
        _th_col("Flag rate (95% interval)", True),
        _th_col("Ratio to overall", True),
        _th_col("Binomial p", True),
    ]
    if labelled:
        head += [
            _th_col("Known anomalies", True),
            _th_col("Recall", True),
            _th_col("Precision", True),
            _th_col("ROC AUC", True),
        ]
    head.append(_th_col("Result"))
    rows = []
    for g in t.get("groups", []):
        ci = g.get("flag_rate_ci") or [None, None]
        cells = [
            _td(f"{g['n']:,}", True),
            _td(f"{g['flagged']:,}", True),
            _td(f"{_pct1(g['flag_rate'])} ({_pct1(ci[0])} to {_pct1(ci[1])})", True),
            _td(_num(g.get("ratio")), True),
            _td("—" if g.get("p_value") is None else f"{g['p_value']:.3g}", True),
        ]
        if labelled:
            cells += [
                _td(str(g.get("known_anomalies", "—")), True),
                _td(_pct(g.get("recall")), True),
                _td(_pct(g.get("precision")), True),
                _td(_num(g.get("roc_auc")), True),
            ]
        if g["small"]:
            verdict = _tag("Small", "orange")
        elif g["flag"] == "above":
            verdict = _tag("Flagged more", "red")
        elif g["flag"] == "below":
            verdict = _tag("Flagged less", "red")
        else:
            verdict = _tag("Within", "green")
        cells.append(_td(verdict))
        rows.append(_row(escape(g["group"]), cells))
    return _table(f"Anomaly flag rate by {t['name']}", head, rows)


def _fairness_html(doc: dict[str, Any]) -> str:
    fair = doc.get("fairness") or {}
    tables = fair.get("characteristics", [])
    task = doc.get("task")
    parts = ['<h2 class="govuk-heading-l" id="unsupervised-fairness">Fairness by group</h2>']
    if task == "clustering":
        parts.append(
            '<p class="govuk-body">Measured on the training rows: each protected group\'s share '
            "of each cluster against its share of all rows. A cluster that groups people by a "
            "protected characteristic can lead to groups being treated differently if the "
            "clusters are used to target services.</p>"
        )
    else:
        parts.append(
            '<p class="govuk-body">Measured on the training rows: how often each protected '
            "group is flagged as unusual against the overall rate (disparate impact). Rows "
            "flagged more often are more likely to be reviewed or challenged.</p>"
        )
    if fair.get("rule"):
        parts.append(f'<p class="govuk-body">Rule: {escape(fair["rule"])}</p>')
    worst = fair.get("largest_disparity")
    if worst and task == "clustering":
        parts.append(
            '<p class="govuk-inset-text">Largest disparity: '
            f"{escape(str(worst.get('group')))} makes up {_pct(worst['share'])} of "
            f"{escape(str(worst.get('cluster_name')))} against {_pct(worst['overall_share'])} "
            f"of all rows ({(worst['difference']) * 100:+.0f} percentage points).</p>"
        )
    elif worst:
        parts.append(
            '<p class="govuk-inset-text">Largest disparity: '
            f"{escape(str(worst.get('group')))} is flagged at {_pct1(worst['flag_rate'])} against "
            f"{_pct1(fair.get('overall_rate'))} overall (ratio {_num(worst.get('ratio'))}).</p>"
        )
    if not tables:
        parts.append(
            '<p class="govuk-body">No protected characteristic was assessed: name the columns '
            "under <code>protected</code> in civicml.yaml.</p>"
        )
    for t in tables:
        where = f" (column “{escape(str(t['column']))}”)" if t.get("column") else ""
        parts.append(f'<h3 class="govuk-heading-m">By {escape(t["name"])}{where}</h3>')
        parts += [
            f'<div class="govuk-warning-text"><strong class="govuk-warning-text__text">'
            f"{escape(w)}</strong></div>"
            for w in t.get("warnings", [])
        ]
        if task == "clustering":
            parts.append(_cluster_fairness_html(t))
        else:
            parts.append(_anomaly_fairness_html(t, bool(fair.get("labelled"))))
    na = fair.get("not_assessed", [])
    if na:
        items = "".join(
            f"<li>{escape(n['characteristic'].replace('_', ' ').capitalize())}: "
            f"{escape(n['reason'])}</li>"
            for n in na
        )
        parts.append(
            '<h3 class="govuk-heading-m">Not assessed</h3>'
            f'<ul class="govuk-list govuk-list--bullet">{items}</ul>'
        )
    proxies = [p for p in doc.get("proxies", []) if p.get("strength", 0) >= 0.05][:15]
    if proxies:
        rows = [
            _row(
                escape(p["feature"]),
                [
                    _td(escape(p["characteristic"])),
                    _td(_num(p["strength"]), True),
                    _td(_tag("Possible proxy", "red") if p["flagged"] else "–"),
                ],
            )
            for p in proxies
        ]
        parts.append('<h3 class="govuk-heading-m">Possible proxies</h3>')
        parts.append(
            _table(
                "Features that predict a protected characteristic (0 = chance, 1 = perfectly)",
                [
                    _th_col("Feature"),
                    _th_col("Characteristic"),
                    _th_col("Strength", True),
                    _th_col("Flag"),
                ],
                rows,
            )
        )
    return "\n".join(parts)


def unsupervised_html(doc: dict[str, Any], *, plan: str | None = None) -> str:
    """The report section for a clustering or anomaly assessment, as an HTML fragment.

    ``plan`` is the monitoring plan sentence (what ``civicml monitor`` watches and its
    thresholds), shown under "Monitoring plan" when given.

    Examples
    --------
    >>> html = unsupervised_html({"task": "clustering", "metrics": {}, "clusters": [
    ...     {"cluster": 0, "summary": "Cluster 0 (3 rows, 50%): older", "size": 3, "share": 0.5}]})
    >>> "Cluster 0 (3 rows, 50%): older" in html
    True
    """
    task = doc.get("task")
    metrics = doc.get("metrics", {})
    rows = "".join(
        f'<tr class="govuk-table__row"><th scope="row" class="govuk-table__header">{escape(k)}</th>'
        f'<td class="govuk-table__cell">{_num((v or {}).get("value"))}</td></tr>'
        for k, v in metrics.items()
    )
    table = f'<table class="govuk-table"><tbody class="govuk-table__body">{rows}</tbody></table>'
    parts = []
    if task == "clustering":
        parts.append('<h2 class="govuk-heading-l">Clusters</h2>')
        parts.append(
            '<p class="govuk-body">Each cluster is described against all rows: numbers by their '
            "mean, categories by their most common value. Served rows get the number of the "
            "cluster they are closest to.</p>"
        )
        items = "".join(
            f"<li>{escape(str(c.get('summary', '')))}</li>" for c in doc.get("clusters", [])
        )
        parts.append(f'<ul class="govuk-list govuk-list--bullet">{items}</ul>')
        val = doc.get("validation") or {}
        if val:
            parts.append(
                f'<p class="govuk-body">Against the known labels in '
                f"{escape(str(doc.get('labels_column')))!s}: adjusted Rand index "
                f"{_num(val.get('ari'))}, normalised mutual information {_num(val.get('nmi'))} "
                "(1 is perfect agreement, 0 is chance).</p>"
            )
    else:
        parts.append('<h2 class="govuk-heading-l">Anomalies</h2>')
        parts.append(
            f'<p class="govuk-body">{_num((doc.get("anomaly_rate") or 0) * 100)}% of training '
            f"rows are flagged (anomaly score above {_num(doc.get('threshold'))}; "
            f"contamination {escape(str(doc.get('contamination')))}). Each flagged row names "
            "the features furthest from a typical training row.</p>"
        )
        ex = "".join(
            f'<tr class="govuk-table__row"><td class="govuk-table__cell">{e["row"]}</td>'
            f'<td class="govuk-table__cell">{_num(e["anomaly_score"])}</td>'
            f'<td class="govuk-table__cell">{escape(e["reasons"])}</td></tr>'
            for e in doc.get("anomalies", [])
        )
        parts.append(
            '<table class="govuk-table"><caption class="govuk-table__caption">The most anomalous '
            'training rows</caption><thead class="govuk-table__head"><tr class="govuk-table__row">'
            '<th class="govuk-table__header">Row</th><th class="govuk-table__header">Score</th>'
            '<th class="govuk-table__header">Reasons</th></tr></thead>'
            f'<tbody class="govuk-table__body">{ex}</tbody></table>'
        )
    parts.append('<h3 class="govuk-heading-m">Measures</h3>' + table)
    parts.append(_fairness_html(doc))
    if plan:
        parts.append(
            '<h2 class="govuk-heading-l" id="monitoring-plan">Monitoring plan</h2>'
            f'<p class="govuk-body">{escape(plan)}</p>'
        )
    return "\n".join(parts)
