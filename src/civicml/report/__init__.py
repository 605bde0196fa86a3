"""Stakeholder reports: the HTML report (and PDF), the model card and the ATRS record."""

from civicml.report._atrs import (
    NEEDS_HUMAN,
    ATRSRecord,
    atrs_json_schema,
    build_atrs,
    mark_complete,
    missing_fields,
)
from civicml.report._model_card import model_card
from civicml.report._render import ReportPaths, render_pdf, write_report
from civicml.report._summary import plain_summary

__all__ = [
    "NEEDS_HUMAN",
    "ATRSRecord",
    "ReportPaths",
    "atrs_json_schema",
    "build_atrs",
    "mark_complete",
    "missing_fields",
    "model_card",
    "plain_summary",
    "render_pdf",
    "write_report",
]
