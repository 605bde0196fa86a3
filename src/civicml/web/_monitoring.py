"""A small adapter over ``civicml.monitor``: drift status per deployed model for the dashboard.

It compares the serving decision log (``civicml serve --decision-log``) of a model's production
version with the reference sample saved in its bundle. Whatever the monitor package does not
offer yet, or a model with no logged predictions, shows as "no monitoring data yet".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civicml.registry import ModelVersion, Registry

__all__ = ["DriftPlot", "MonitoringStatus", "monitoring_status"]

NO_DATA = "no-data"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class DriftPlot:
    """Reference against current distribution of one column, with its text alternative."""

    column: str
    svg: str
    alt: str


@dataclass
class MonitoringStatus:
    """Monitoring of one deployed version.

    ``state`` is ``"no-data"``, ``"unavailable"`` (the monitor could not run; see ``message``),
    ``"ok"`` or ``"drift"``.
    """

    version: ModelVersion
    state: str
    message: str
    n_reference: int = 0
    n_current: int = 0
    columns: list[dict[str, Any]] = field(default_factory=list)
    plots: list[DriftPlot] = field(default_factory=list)
    report: Any = None

    @property
    def has_data(self) -> bool:
        return self.state in ("ok", "drift")


def _log_rows(log_root: Path, version: ModelVersion) -> Any:
    from civicml.serve import read_decision_log

    frames = []
    for folder in (log_root / version.name, log_root):
        if (folder / "predictions").is_dir():
            df = read_decision_log(folder)
            if "model_sha256" in df.columns and df["model_sha256"].notna().any():
                df = df[df["model_sha256"].astype(str).str.startswith(version.digest[:12])]
            elif "model_version" in df.columns:
                df = df[df["model_version"].astype(str) == str(version.version)]
            frames.append(df)
    if not frames:
        return None
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def _reference(bundle: Any) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The bundle's public reference rows and the sketches of its private columns.

    An older bundle kept raw rows of every input: its personal, special-category, protected and
    free-text columns are turned into sketches here, so the page never shows one of their values.
    """
    from civicml.monitor import REFERENCE_DOCUMENT, private_columns, private_sketches

    reference = bundle.read_table("reference.parquet")
    if bundle.has(REFERENCE_DOCUMENT):
        doc = bundle.read_json(REFERENCE_DOCUMENT) or {}
        sketches = {str(k): dict(v) for k, v in (doc.get("columns") or {}).items()}
    else:
        sketches = {}
    spec = bundle.read_json("spec.json") if bundle.has("spec.json") else {}
    contract = bundle.read_json("contract.json") if bundle.has("contract.json") else {}
    roles = {str(c["name"]): str(c.get("role") or "") for c in contract.get("columns", [])}
    found = []
    if bundle.has("personal_data.json"):
        found = [
            str(f.get("column")) for f in bundle.read_json("personal_data.json").get("findings", [])
        ]
    private = private_columns(
        list(reference.columns),
        spec=spec or {},
        roles=roles,
        special=bundle.info.get("special_category") or {},
        found=found,
    )
    public, made = private_sketches(reference, private)
    return public, {**made, **sketches}


def _redacted(values: Any) -> bool:
    """True when the log redacted every value of a column (nothing to compare)."""
    from civicml.serve import REDACTED

    return bool(len(values)) and bool((values.astype(str) == REDACTED).all())


def monitoring_status(
    registry: Registry, version: ModelVersion, log_root: str | Path | None, *, plots: bool = True
) -> MonitoringStatus:
    """Drift of ``version``'s logged inputs and outputs against its training reference.

    Parameters
    ----------
    registry : Registry
    version : ModelVersion
        The deployed (production) version.
    log_root : path or None
        The decision-log folder, or a folder holding one per model name.
    plots : bool
        Draw reference-against-current plots (matplotlib SVG).
    """
    try:
        from civicml.monitor import DriftDetector, MonitorReport, build_report
    except ImportError:
        return MonitoringStatus(version, NO_DATA, "No monitoring data yet.")
    if log_root is None:
        return MonitoringStatus(
            version, NO_DATA, "No monitoring data yet: no decision log is configured."
        )
    from civicml._errors import CivicMLError

    try:
        current = _log_rows(Path(log_root), version)
        if current is None or len(current) == 0:
            return MonitoringStatus(
                version, NO_DATA, "No monitoring data yet: no predictions are logged."
            )
        bundle = registry.load_version(version.ref)
        if not bundle.has("reference.parquet"):
            return MonitoringStatus(
                version, NO_DATA, "No monitoring data yet: the bundle has no reference sample."
            )
        reference, sketches = _reference(bundle)
        target = bundle.info.get("target")
        cols = [
            c
            for c in [*reference.columns, *sketches]
            if c in current.columns and c != target and not _redacted(current[c])
        ]
        public = [c for c in cols if c in reference.columns]
        detector = DriftDetector(columns=cols).fit(reference[public], sketches=sketches)
        drift = detector.detect(current[[c for c in cols if c in detector.feature_names_in_]])
        report = build_report(
            MonitorReport(model=version.name, version=str(version.version), drift=drift)
        )
    except (CivicMLError, OSError, ValueError, KeyError) as exc:
        return MonitoringStatus(version, UNAVAILABLE, str(exc).splitlines()[0])
    status = MonitoringStatus(
        version,
        "drift" if drift.dataset_drift or drift.prediction_drift else "ok",
        f"{drift.n_drifted} of {len(drift.features)} input columns drifted.",
        n_reference=drift.n_reference,
        n_current=drift.n_current,
        columns=[
            {k: v for k, v in c.to_dict().items() if k != "distribution"} for c in drift.columns
        ],
        report=report,
    )
    if plots:
        status.plots = _plots(drift)
    return status


def _plots(drift: Any) -> list[DriftPlot]:
    try:
        from civicml.monitor import distribution_svg
    except ImportError:
        return []
    out = []
    for c in drift.columns:
        if c.distribution:
            svg, alt = distribution_svg(c.column, c.distribution)
            out.append(DriftPlot(c.column, svg, alt))
    return out
