"""The dashboard's monitoring page: the verdict ``civicml monitor`` gives, per deployed model.

Nothing is computed here: :func:`monitoring_status` finds the model's decision log, hands it
and the production bundle to :func:`civicml.monitor.monitor_decision_log` (the computation
behind ``civicml monitor NAME`` and its HTML report) with the CLI's defaults (the whole log,
1-day windows, the default alert policy, late labels where the project keeps them), and shows
the report's verdict. So the page and the command cannot disagree about one decision log.
A model with no logged predictions shows as "no monitoring data yet".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civicml.monitor import MonitorReport, Verdict
    from civicml.registry import ModelVersion, Registry

__all__ = ["DriftPlot", "MonitoringStatus", "monitoring_status"]

NO_DATA = "no-data"
UNAVAILABLE = "unavailable"
OK = "ok"
#: the page's word for the monitor's "alert" verdict (the tag the templates colour red)
DRIFT = "drift"


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
    ``"ok"`` or ``"drift"`` (the monitor's verdict is ``"alert"``: ``civicml monitor`` exits 1).
    ``message`` is the verdict's sentence, word for word what ``civicml monitor`` prints;
    ``verdict`` the whole verdict (with the columns left out of drift and why).
    """

    version: ModelVersion
    state: str
    message: str
    n_reference: int = 0
    n_current: int = 0
    columns: list[dict[str, Any]] = field(default_factory=list)
    plots: list[DriftPlot] = field(default_factory=list)
    report: Any = None
    verdict: Verdict | None = None

    @property
    def has_data(self) -> bool:
        return self.state in (OK, DRIFT)

    @property
    def left_out(self) -> dict[str, str]:
        """Input columns not compared for drift, and why (dates, free text, redacted data)."""
        return dict(self.verdict.left_out) if self.verdict is not None else {}


def _log_folder(log_root: Path, name: str) -> Path | None:
    """The model's decision-log folder: ``log_root/NAME`` (as ``civicml serve`` lays them out
    under ``.civicml/decisions``), else ``log_root`` itself."""
    for folder in (log_root / name, log_root):
        if (folder / "predictions").is_dir():
            return folder
    return None


def _labels_project(log_root: Path, project_dir: str | Path | None) -> Path | None:
    """The project whose ``.civicml/labels`` the CLI reads: given, or the one the default
    decision-log folder (``PROJECT/.civicml/decisions``) sits in."""
    if project_dir is not None:
        return Path(project_dir)
    for folder in (log_root, log_root.parent):
        if folder.name == "decisions" and folder.parent.name == ".civicml":
            return folder.parent.parent
    return None


def monitoring_status(
    registry: Registry,
    version: ModelVersion,
    log_root: str | Path | None,
    *,
    plots: bool = True,
    project_dir: str | Path | None = None,
) -> MonitoringStatus:
    """The monitoring verdict of ``version`` on its decision log, as ``civicml monitor`` gives it.

    Parameters
    ----------
    registry : Registry
    version : ModelVersion
        The deployed (production) version.
    log_root : path or None
        The decision-log folder, or a folder holding one per model name.
    plots : bool
        Draw reference-against-current plots (matplotlib SVG).
    project_dir : path, optional
        The project whose late labels (``.civicml/labels/NAME``) count, as the CLI's
        ``--project-dir``; by default the one the decision log sits in, if any.
    """
    try:
        from civicml.monitor import monitor_decision_log, read_labels
    except ImportError:
        return MonitoringStatus(version, NO_DATA, "No monitoring data yet.")
    if log_root is None:
        return MonitoringStatus(
            version, NO_DATA, "No monitoring data yet: no decision log is configured."
        )
    from civicml._errors import CivicMLError, DataError

    folder = _log_folder(Path(log_root), version.name)
    if folder is None:
        return MonitoringStatus(
            version, NO_DATA, "No monitoring data yet: no predictions are logged."
        )
    try:
        bundle = registry.load_version(version.ref)
        if not bundle.has("reference.parquet"):
            return MonitoringStatus(
                version, NO_DATA, "No monitoring data yet: the bundle has no reference sample."
            )
        project = _labels_project(Path(log_root), project_dir)
        labels = read_labels(version.name, project_dir=project) if project is not None else None
        report = monitor_decision_log(
            bundle, folder, model=version.name, version=str(version.version), labels=labels
        )
    except DataError as exc:
        first = str(exc).splitlines()[0]
        if "predictions" in first:  # no rows of this version in the log
            return MonitoringStatus(version, NO_DATA, f"No monitoring data yet: {first}")
        return MonitoringStatus(version, UNAVAILABLE, first)
    except (CivicMLError, OSError, ValueError, KeyError) as exc:
        return MonitoringStatus(version, UNAVAILABLE, str(exc).splitlines()[0])
    return _status(version, report, plots=plots)


def _status(version: ModelVersion, report: MonitorReport, *, plots: bool) -> MonitoringStatus:
    """The page's view of a monitoring report: its verdict, columns and plots."""
    verdict = report.verdict
    drift = report.drift
    status = MonitoringStatus(
        version,
        DRIFT if verdict.state == "alert" else OK,
        verdict.message,
        n_reference=drift.n_reference if drift is not None else 0,
        # every decision in the period, not only the sample the monitors compared
        n_current=int((report.sample or {}).get("rows") or (drift.n_current if drift else 0)),
        columns=[
            {k: v for k, v in c.to_dict().items() if k != "distribution"}
            for c in (drift.columns if drift is not None else [])
        ],
        report=report,
        verdict=verdict,
    )
    if plots and drift is not None:
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
