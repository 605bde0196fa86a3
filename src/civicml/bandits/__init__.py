"""Contextual bandits for adaptive trials: policies, the decision log, OPE and the HTTP API."""

from civicml.bandits._app import BanditApp, bandit_app, bandit_mount
from civicml.bandits._bundle import save_bandit_bundle
from civicml.bandits._ope import (
    Estimate,
    GateResult,
    OPEResult,
    evaluate_candidate,
    evaluate_policy,
    may_replace,
)
from civicml.bandits._policies import (
    BanditPolicy,
    Choice,
    EpsilonGreedyPolicy,
    Feedback,
    LinUCBPolicy,
    ThompsonPolicy,
    apply_floor,
    make_policy,
)
from civicml.bandits._project import BanditProject, load_bandit_project, read_decision_log
from civicml.bandits._records import BanditLog, BanditRecord, LoggedDecision
from civicml.bandits._report import (
    allocation_fairness,
    bandit_report,
    bandit_report_html,
    bandit_summary,
)
from civicml.bandits._service import BanditService, InvalidInput
from civicml.bandits._sim import LetterEnvironment, SimulationResult, collect_log, simulate
from civicml.bandits._spec import BanditSpec, is_bandit_spec, load_bandit_spec
from civicml.bandits._store import BanditStore, display_uri, open_bandit_store

__all__ = [
    "BanditApp",
    "BanditLog",
    "BanditPolicy",
    "BanditProject",
    "BanditRecord",
    "BanditService",
    "BanditSpec",
    "BanditStore",
    "Choice",
    "EpsilonGreedyPolicy",
    "Estimate",
    "Feedback",
    "GateResult",
    "InvalidInput",
    "LetterEnvironment",
    "LinUCBPolicy",
    "LoggedDecision",
    "OPEResult",
    "SimulationResult",
    "ThompsonPolicy",
    "allocation_fairness",
    "apply_floor",
    "bandit_app",
    "bandit_mount",
    "bandit_report",
    "bandit_report_html",
    "bandit_summary",
    "collect_log",
    "display_uri",
    "evaluate_candidate",
    "evaluate_policy",
    "is_bandit_spec",
    "load_bandit_project",
    "load_bandit_spec",
    "make_policy",
    "may_replace",
    "open_bandit_store",
    "read_decision_log",
    "save_bandit_bundle",
    "simulate",
]
