"""The civicml dashboard: a server-rendered GOV.UK-styled web face over the registry, reports
and monitoring (``civicml ui``). It parses, calls the library and renders; no logic lives here."""

from civicml.web._app import create_app
from civicml.web._assets import GOVUK_FRONTEND_VERSION, assets_dir, govuk_dist, install_assets
from civicml.web._auth import User
from civicml.web._context import WebConfig
from civicml.web._monitoring import MonitoringStatus, monitoring_status
from civicml.web._reports import answers_state, atrs_gaps, store_atrs_answers, version_atrs
from civicml.web._runs import RunView, run_view

__all__ = [
    "GOVUK_FRONTEND_VERSION",
    "MonitoringStatus",
    "RunView",
    "User",
    "WebConfig",
    "answers_state",
    "assets_dir",
    "atrs_gaps",
    "create_app",
    "govuk_dist",
    "install_assets",
    "monitoring_status",
    "run_view",
    "store_atrs_answers",
    "version_atrs",
]
