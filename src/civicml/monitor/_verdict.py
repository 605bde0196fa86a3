"""The one-line answer to "is this model all right?": the same in the CLI, dashboard and report.

:func:`make_verdict` turns a monitoring run's drift and alerts into a :class:`Verdict`:
``ok`` or ``alert``, "N of M input columns drifted", the alerts by severity, and the columns
left out of drift with the reason. ``civicml monitor`` prints it (and puts it in ``--json``),
the HTML report shows it, and the dashboard's monitoring page shows it, so none of them can
disagree about the same decision log.

Examples
--------
>>> from civicml.monitor._alerts import Alert
>>> v = make_verdict(None, [Alert("chunked_drift", "medium", "...")], {"opened": "a date"})
>>> v.state, v.message
('alert', 'No input column compared; 1 alert: chunked_drift (medium).')
>>> make_verdict(None, [], {}).state
'ok'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from civicml.monitor._alerts import Alert
    from civicml.monitor._drift import DriftReport

__all__ = ["Verdict", "make_verdict"]

_SEVERITY_ORDER = ("high", "medium", "low")


@dataclass(frozen=True)
class Verdict:
    """What one monitoring run concluded.

    Attributes
    ----------
    state : str
        ``"alert"`` when any alert fired (``civicml monitor`` then exits 1), else ``"ok"``.
    severity : str or None
        The most severe alert's severity.
    n_drifted, n_columns : int
        Drifted input columns, and input columns compared (scores and decisions not counted).
    dataset_drift : bool
        At least the drift share of the compared input columns drifted.
    prediction_drift : bool or None
        A score or decision column drifted (``None``: none was compared).
    alerts : list of str
        The alert kinds, most severe first.
    message : str
        The sentence every surface shows.
    left_out : dict
        Input columns not compared, and why.
    """

    state: str
    severity: str | None
    n_drifted: int
    n_columns: int
    dataset_drift: bool
    prediction_drift: bool | None
    alerts: list[str]
    message: str
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> str:
        """``"N of M columns drifted"`` as every surface words it."""
        return f"{self.n_drifted} of {self.n_columns} input columns drifted"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (what ``civicml monitor --json`` prints under ``verdict``)."""
        return asdict(self)


def make_verdict(
    drift: DriftReport | None, alerts: Sequence[Alert], left_out: Mapping[str, str]
) -> Verdict:
    """The verdict of a monitoring run from its drift report, alerts and left-out columns."""
    ranked = sorted(
        alerts,
        key=lambda a: (
            _SEVERITY_ORDER.index(a.severity)
            if a.severity in _SEVERITY_ORDER
            else len(_SEVERITY_ORDER)
        ),
    )
    n_drifted = drift.n_drifted if drift is not None else 0
    n_columns = len(drift.features) if drift is not None else 0
    if n_columns:
        head = f"{n_drifted} of {n_columns} input columns drifted"
    else:
        head = "No input column compared"
    if ranked:
        shown = ", ".join(f"{a.kind} ({a.severity})" for a in ranked)
        tail = f"{len(ranked)} alert{'s' if len(ranked) != 1 else ''}: {shown}"
    else:
        tail = "no alerts"
    return Verdict(
        state="alert" if ranked else "ok",
        severity=ranked[0].severity if ranked else None,
        n_drifted=n_drifted,
        n_columns=n_columns,
        dataset_drift=bool(drift.dataset_drift) if drift is not None else False,
        prediction_drift=drift.prediction_drift if drift is not None else None,
        alerts=[a.kind for a in ranked],
        message=f"{head}; {tail}.",
        left_out=dict(left_out),
    )
