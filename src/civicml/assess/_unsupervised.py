"""What the report shows for clustering and anomaly models, and the checks that gate them.

:func:`assess_unsupervised` turns a clustering or anomaly :class:`~civicml.learn.TrainResult`
into the JSON-able ``assessment.json`` document; :func:`unsupervised_checks` gives the
``checks.json`` gates; :func:`unsupervised_html` renders the report section (an HTML fragment
in GOV.UK Design System classes, every value escaped).
"""

from __future__ import annotations

from html import escape
from typing import Any

from civicml.assess._checks import Check, _finding_text

__all__ = ["assess_unsupervised", "unsupervised_checks", "unsupervised_html"]


def _m(value: Any) -> dict[str, Any]:
    v = None if value is None or value != value else float(value)
    return {"value": v, "ci": None}


def assess_unsupervised(result: Any) -> dict[str, Any]:
    """The assessment document of a clustering or anomaly result.

    Keys: ``task``, ``metrics`` (``{name: {"value", "ci"}}`` like supervised assessments),
    ``fairness`` (empty: not assessed for unsupervised tasks), and for clustering
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
        "fairness": {
            "characteristics": [],
            "not_assessed": [],
            "note": "fairness is not assessed for unsupervised models",
        },
    }
    if result.task == "clustering":
        doc["clusters"] = ex.get("profiles", [])
        doc["validation"] = {
            k: result.test_metrics[k] for k in ("ari", "nmi") if k in result.test_metrics
        }
        doc["labels_column"] = result.target or None
        doc["noise_share"] = result.test_metrics.get("noise_share", 0.0)
        doc["notes"] = [str(p["summary"]) for p in doc["clusters"]]
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
        doc["notes"] = [
            f"{(doc['anomaly_rate'] or 0):.1%} of training rows are flagged as anomalies "
            f"(contamination {doc['contamination']}); the most unusual: "
            + " | ".join(f"row {e['row']}: {e['reasons']}" for e in doc["anomalies"][:3])
        ]
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
    resamples). Anomaly: ``anomaly_rate`` within ``rate_tolerance`` of a numeric
    contamination (with ``auto``: at most 0.2), ``roc_auc`` ≥ ``min_roc_auc`` on known
    anomalies (passed with "no labels" when none). Both: ``data_quality``.

    Examples
    --------
    >>> doc = {"task": "anomaly", "metrics": {}, "anomaly_rate": 0.06, "contamination": 0.05}
    >>> [(c.name, c.passed) for c in unsupervised_checks(doc)]
    [('anomaly_rate', True), ('roc_auc', True), ('data_quality', True)]
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
    findings = [_finding_text(f) for f in (data_findings or [])]
    out.append(
        Check(
            "data_quality",
            not findings,
            "; ".join(findings)[:500] if findings else "no data-quality or personal-data findings",
        )
    )
    return out


def _num(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    return escape(str(v))


def unsupervised_html(doc: dict[str, Any]) -> str:
    """The report section for a clustering or anomaly assessment, as an HTML fragment.

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
        f'<tr class="govuk-table__row"><th class="govuk-table__header">{escape(k)}</th>'
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
    return "\n".join(parts)
