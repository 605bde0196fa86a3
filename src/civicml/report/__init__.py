"""Stakeholder reports: the HTML report (and PDF), the model card and the ATRS record."""

from civicml.report._atrs import build_atrs, build_bandit_atrs
from civicml.report._atrs_schema import (
    NEEDS_HUMAN,
    ATRSRecord,
    atrs_json_schema,
    mark_complete,
    missing_fields,
)
from civicml.report._model_card import bandit_model_card, model_card
from civicml.report._render import (
    ReportPaths,
    page_context,
    print_pdf,
    render_pdf,
    report_env,
    write_atrs,
    write_report,
)
from civicml.report._summary import plain_summary

__all__ = [
    "NEEDS_HUMAN",
    "ATRSRecord",
    "ReportPaths",
    "atrs_json_schema",
    "bandit_model_card",
    "build_atrs",
    "build_bandit_atrs",
    "mark_complete",
    "missing_fields",
    "model_card",
    "page_context",
    "plain_summary",
    "print_pdf",
    "render_pdf",
    "report_env",
    "write_atrs",
    "write_report",
]
