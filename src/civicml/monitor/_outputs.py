"""Output drift of clustering and anomaly models: cluster shares and the anomaly flag rate.

A supervised model's score and decision are tested column by column beside its inputs
(:class:`~civicml.monitor.DriftDetector`). An unsupervised model's outputs are tested against
the reference its bundle keeps in ``monitoring.json`` (written at training time):

* **clustering** — the share of logged rows in each cluster against the share of training rows
  the service would put there. Drift when the chi-squared goodness-of-fit test gives
  p < :data:`CLUSTER_P_VALUE` **and** the population stability index is at least
  :data:`CLUSTER_MIN_PSI` (significant and large enough to matter).
* **anomaly** — the share of logged rows flagged against the reference rate (training rows
  scored out of fold). Drift when a two-sided binomial test gives p < :data:`RATE_P_VALUE`
  **and** the ratio of the two rates is outside :data:`RATE_RATIO_BAND`.

Bundles without ``monitoring.json`` fall back to scoring their reference sample with the
bundle itself (for anomaly detectors, in sample: a local outlier factor then looks too calm).

Examples
--------
>>> d = cluster_share_drift({0: 0.5, 1: 0.5}, [0] * 80 + [1] * 20, n_reference=400)
>>> d.drifted, round(d.psi, 3), d.test
(True, 0.416, 'chi-square goodness of fit')
>>> flag_rate_drift(0.05, [1] * 5 + [0] * 95, n_reference=400).drifted
False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from civicml._errors import DataError
from civicml.monitor._stattests import chisquare_pvalue, psi_from_counts

if TYPE_CHECKING:  # pragma: no cover
    from civicml.bundle import Bundle

__all__ = [
    "CLUSTER_MIN_PSI",
    "CLUSTER_P_VALUE",
    "RATE_P_VALUE",
    "RATE_RATIO_BAND",
    "OutputDrift",
    "cluster_share_drift",
    "flag_rate_drift",
    "monitoring_plan",
    "output_reference",
]

#: Cluster shares drift when the chi-squared p-value is below this ...
CLUSTER_P_VALUE = 0.05
#: ... and the PSI of the shares is at least this (0.1: a moderate shift).
CLUSTER_MIN_PSI = 0.1
#: The anomaly flag rate drifts when the binomial p-value is below this ...
RATE_P_VALUE = 0.05
#: ... and the current rate over the reference rate is outside this band.
RATE_RATIO_BAND = (0.8, 1.25)
UNSUPERVISED_TASKS = ("clustering", "anomaly")


@dataclass(frozen=True)
class OutputDrift:
    """Whether an unsupervised model's outputs moved from its reference, with the evidence.

    ``table`` holds one row per cluster (``reference_share``, ``current_share``,
    ``difference``) or one row for the flag rate (``reference_rate``, ``current_rate``,
    ``ratio``); ``rule`` states the drift rule in words.
    """

    task: str
    measure: str
    test: str
    p_value: float | None
    psi: float
    drifted: bool
    rule: str
    message: str
    n_reference: int
    n_current: int
    table: list[dict[str, Any]] = field(default_factory=list)
    ratio: float | None = None
    reference_source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields (NaN becomes ``None``)."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float) and not np.isfinite(v):
                out[k] = None
        return out


def _counts(values: Any, what: str) -> np.ndarray:
    arr = pd.to_numeric(pd.Series(np.asarray(values).ravel()), errors="coerce")
    if arr.isna().any():
        raise DataError.build(
            f"The logged {what} values are not all numbers",
            got=list(pd.Series(np.asarray(values).ravel())[arr.isna()].astype(str).unique()[:5]),
            fix="Monitor the decision log civicml serve writes for this bundle.",
        )
    return arr.to_numpy(dtype=np.int64)


def cluster_share_drift(
    reference_shares: Mapping[int, float],
    current: Any,
    *,
    n_reference: int,
    names: Mapping[int, str] | None = None,
    reference_source: str = "",
) -> OutputDrift:
    """Compare the clusters of logged rows with the reference shares.

    Parameters
    ----------
    reference_shares : mapping
        Cluster number -> share of reference rows (sums to 1).
    current : array of int
        The cluster of each logged row.
    n_reference : int
        Reference rows (for the PSI's and the report's counts).

    Raises
    ------
    DataError
        No reference shares, no logged rows, or clusters that are not numbers.
    """
    ref = {int(k): float(v) for k, v in reference_shares.items()}
    if not ref or sum(ref.values()) <= 0:
        raise DataError.build(
            "The clustering bundle has no reference cluster shares",
            expected="at least one cluster with a share above 0",
            got=reference_shares,
            fix="Retrain with a current civicml; it writes monitoring.json.",
        )
    cur = _counts(current, "cluster")
    if cur.size == 0:
        raise DataError.build(
            "There are no logged clusters to compare", fix="Widen --since/--until."
        )
    clusters = sorted(set(ref) | set(cur.tolist()))
    total = sum(ref.values())
    ref_share = np.array([ref.get(c, 0.0) / total for c in clusters])
    cur_counts = np.array([int((cur == c).sum()) for c in clusters], dtype=np.int64)
    ref_counts = np.round(ref_share * n_reference).astype(np.int64)
    n = int(cur.size)
    # goodness of fit against the shares themselves (not rounded counts)
    p = chisquare_pvalue(np.maximum(ref_share * 1e6, 0).astype(np.int64), cur_counts)
    psi = psi_from_counts(
        np.maximum(ref_share * n_reference, 0), cur_counts, n_ref=n_reference, n_cur=n
    )
    drifted = bool(np.isfinite(p) and p < CLUSTER_P_VALUE and psi >= CLUSTER_MIN_PSI)
    label = dict(names or {})
    table: list[dict[str, Any]] = [
        {
            "cluster": int(c),
            "name": label.get(int(c), f"Cluster {int(c)}"),
            "reference_share": float(r),
            "reference_rows": int(rc),
            "current_rows": int(k),
            "current_share": float(k / n),
            "difference": float(k / n - r),
        }
        for c, r, rc, k in zip(clusters, ref_share, ref_counts, cur_counts, strict=True)
    ]
    moved = max(table, key=lambda r: abs(r["difference"]))
    rule = (
        f"Cluster shares drift when a chi-squared goodness-of-fit test against the reference "
        f"shares gives p < {CLUSTER_P_VALUE:g} and the PSI is at least {CLUSTER_MIN_PSI:g}."
    )
    message = (
        f"Cluster shares {'moved' if drifted else 'held'}: chi-squared p {_g(p)}, PSI "
        f"{psi:.3f}; largest change {moved['name']} {moved['reference_share']:.0%} → "
        f"{moved['current_share']:.0%} of rows."
    )
    return OutputDrift(
        task="clustering",
        measure="cluster shares",
        test="chi-square goodness of fit",
        p_value=float(p) if np.isfinite(p) else None,
        psi=float(psi),
        drifted=drifted,
        rule=rule,
        message=message,
        n_reference=int(n_reference),
        n_current=n,
        table=table,
        reference_source=reference_source,
    )


def flag_rate_drift(
    reference_rate: Any,
    current: Any,
    *,
    n_reference: int,
    reference_source: str = "",
) -> OutputDrift:
    """Compare the share of logged rows flagged as anomalies with the reference rate.

    Raises
    ------
    DataError
        A reference rate outside [0, 1], no logged rows, or flags that are not 0/1.
    """
    try:
        ref = float(reference_rate)
    except (TypeError, ValueError):
        ref = float("nan")
    if not 0.0 <= ref <= 1.0:
        raise DataError.build(
            "The anomaly bundle's reference flag rate is not a share",
            expected="a number between 0 and 1",
            got=reference_rate,
            fix="Retrain with a current civicml; it writes monitoring.json.",
        )
    flags = _counts(current, "is_anomaly")
    if flags.size == 0:
        raise DataError.build("There are no logged flags to compare", fix="Widen --since/--until.")
    if not set(np.unique(flags).tolist()) <= {0, 1}:
        raise DataError.build(
            "The logged is_anomaly values are not 0/1",
            got=sorted(set(np.unique(flags).tolist()))[:5],
            fix="Monitor the decision log civicml serve writes for this bundle.",
        )
    n, k = int(flags.size), int(flags.sum())
    rate = k / n
    from scipy.stats import binomtest

    if 0.0 < ref < 1.0:
        p: float = float(binomtest(k, n, ref).pvalue)
    else:
        p = 0.0 if (k > 0) != (ref > 0) else 1.0
    ratio = rate / ref if ref > 0 else (float("inf") if k else 1.0)
    lo, hi = RATE_RATIO_BAND
    psi = psi_from_counts(
        np.array([ref * n_reference, (1 - ref) * n_reference]),
        np.array([k, n - k]),
        n_ref=n_reference,
        n_cur=n,
    )
    drifted = bool(p < RATE_P_VALUE and not lo <= ratio <= hi)
    rule = (
        f"The flag rate drifts when a two-sided binomial test against the reference rate gives "
        f"p < {RATE_P_VALUE:g} and the ratio of the rates is outside {lo:g}–{hi:g}."
    )
    message = (
        f"The anomaly flag rate {'moved' if drifted else 'held'}: {rate:.1%} of {n:,} rows "
        f"flagged against {ref:.1%} expected (ratio {_g(ratio)}, binomial p {_g(p)})."
    )
    table = [
        {
            "measure": "flag rate",
            "reference_rate": ref,
            "current_rate": rate,
            "current_flagged": k,
            "current_rows": n,
            "ratio": ratio if np.isfinite(ratio) else None,
        }
    ]
    return OutputDrift(
        task="anomaly",
        measure="flag rate",
        test="binomial test",
        p_value=p,
        psi=float(psi),
        drifted=drifted,
        rule=rule,
        message=message,
        n_reference=int(n_reference),
        n_current=n,
        table=table,
        ratio=ratio if np.isfinite(ratio) else None,
        reference_source=reference_source,
    )


def _g(v: float | None) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.3g}"


def output_reference(
    bundle: Bundle, reference: pd.DataFrame | None = None
) -> dict[str, Any] | None:
    """The bundle's output reference (``monitoring.json``), or one made from its reference sample.

    ``None`` for supervised bundles. The fallback scores ``reference`` (the bundle's
    ``reference.parquet`` sample) with the bundle: cluster shares as served, and the in-sample
    flag rate (for a local outlier factor lower than on new rows: it says so in ``source``).
    """
    info = bundle.info
    task = str(info.get("task"))
    if task not in UNSUPERVISED_TASKS:
        return None
    if bundle.has("monitoring.json"):
        outputs = (bundle.read_json("monitoring.json") or {}).get("outputs")
        if outputs:
            return dict(outputs)
    if reference is None:
        reference = bundle.read_table("reference.parquet")
    from civicml.bundle import Predictor

    scored = Predictor(bundle).predict(reference)
    n = len(scored)
    if task == "clustering":
        names = {int(c["cluster"]): str(c["name"]) for c in info.get("clusters", [])}
        counts = scored["cluster"].value_counts()
        return {
            "task": task,
            "n": n,
            "clusters": [
                {
                    "cluster": int(c),
                    "name": names.get(int(c), f"Cluster {int(c)}"),
                    "n": int(k),
                    "share": float(k / n),
                }
                for c, k in sorted(counts.items())
            ],
            "source": "the bundle's reference sample, assigned by the bundle (older bundle)",
        }
    rate = float(scored["is_anomaly"].mean())
    return {
        "task": task,
        "n": n,
        "threshold": info.get("threshold"),
        "flag_rate": rate,
        "in_sample_rate": rate,
        "source": "the bundle's reference sample scored in sample (older bundle)",
    }


def output_drift(outputs: Mapping[str, Any], log: pd.DataFrame) -> OutputDrift | None:
    """Output drift of a decision log against ``outputs`` (:func:`output_reference`).

    ``None`` when the log lacks the output column (``cluster`` / ``is_anomaly``).
    """
    task = outputs.get("task")
    n_ref = int(outputs.get("n") or 0) or 1
    source = str(outputs.get("source", ""))
    if task == "clustering" and "cluster" in log.columns:
        clusters = outputs.get("clusters") or []
        return cluster_share_drift(
            {int(c["cluster"]): float(c["share"]) for c in clusters},
            log["cluster"].dropna(),
            n_reference=n_ref,
            names={int(c["cluster"]): str(c["name"]) for c in clusters},
            reference_source=source,
        )
    if task == "anomaly" and "is_anomaly" in log.columns:
        return flag_rate_drift(
            outputs.get("flag_rate"),
            log["is_anomaly"].dropna(),
            n_reference=n_ref,
            reference_source=source,
        )
    return None


def monitoring_plan(info: Mapping[str, Any], outputs: Mapping[str, Any] | None = None) -> str:
    """One paragraph: what ``civicml monitor`` watches for this model, and the thresholds.

    Examples
    --------
    >>> monitoring_plan({"task": "anomaly"}, {"flag_rate": 0.05}).split(". ")[1][:40]
    'Outputs: the share of rows flagged as an'
    """
    task = info.get("task")
    inputs = (
        "civicml monitor compares the logged inputs with the training reference column by "
        "column (Evidently's rules: up to 1,000 reference rows, K-S, chi-squared or Z-test at "
        "p < 0.05; above, normed Wasserstein or Jensen–Shannon distance at 0.1; dataset drift "
        "when at least half the columns drift)"
    )
    if task == "clustering":
        out = (
            f"Outputs: the share of rows in each cluster against the training shares (drift "
            f"when a chi-squared goodness-of-fit test gives p < {CLUSTER_P_VALUE:g} and the PSI "
            f"is at least {CLUSTER_MIN_PSI:g})"
        )
    elif task == "anomaly":
        ref = (outputs or {}).get("flag_rate")
        lo, hi = RATE_RATIO_BAND
        out = (
            "Outputs: the share of rows flagged as anomalies against the reference rate"
            + (f" of {float(ref):.1%}" if isinstance(ref, int | float) else "")
            + f" (drift when a binomial test gives p < {RATE_P_VALUE:g} and the ratio of the "
            f"rates is outside {lo:g}–{hi:g}); with labels delivered by 'civicml monitor "
            "labels', precision, recall and ROC AUC on the labelled rows, alerting when ROC AUC "
            "falls more than 0.05 below its out-of-fold value"
        )
    else:
        return inputs + "."
    return (
        f"{inputs}. {out}. An alert makes 'civicml monitor' exit 1, for cron or CI to act on; "
        "run it on a schedule (for example nightly with --since 1d)."
    )
