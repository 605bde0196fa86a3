"""Stakeholder reports: the HTML report (and PDF), the model card and the ATRS record."""

from civicml.report._atrs import build_atrs
from civicml.report._atrs_bandit import build_bandit_atrs
from civicml.report._atrs_fill import apply_answers, normalise_answers
from civicml.report._atrs_publish import (
    PublishedATRS,
    bundle_atrs,
    publish_atrs,
    read_atrs_spreadsheet,
)
from civicml.report._atrs_schema import (
    NEEDS_HUMAN,
    ATRSField,
    ATRSRecord,
    Gap,
    answer_ids,
    atrs_json_schema,
    find_gaps,
    mark_complete,
    missing_fields,
    record_fields,
)
from civicml.report._bandit_card import bandit_model_card
from civicml.report._eqia import EqIAPaths, eqia_context, equality_states, write_eqia
from civicml.report._minimisation import (
    MINIMISATION_KINDS,
    MinimisationFinding,
    minimisation_findings,
)
from civicml.report._model_card import (
    CARD_SECTIONS,
    model_card,
    split_front_matter,
)
from civicml.report._page import page_context, report_env, wrap_tables
from civicml.report._profile_page import bars_svg, matrix_svg, profile_page, write_profile_page
from civicml.report._render import (
    ReportPaths,
    print_pdf,
    render_pdf,
    write_atrs,
    write_report,
)
from civicml.report._summary import plain_summary

__all__ = [
    "CARD_SECTIONS",
    "MINIMISATION_KINDS",
    "NEEDS_HUMAN",
    "ATRSField",
    "ATRSRecord",
    "EqIAPaths",
    "Gap",
    "MinimisationFinding",
    "PublishedATRS",
    "ReportPaths",
    "answer_ids",
    "apply_answers",
    "atrs_json_schema",
    "bars_svg",
    "bandit_model_card",
    "build_atrs",
    "build_bandit_atrs",
    "eqia_context",
    "equality_states",
    "bundle_atrs",
    "find_gaps",
    "mark_complete",
    "minimisation_findings",
    "missing_fields",
    "model_card",
    "normalise_answers",
    "page_context",
    "plain_summary",
    "print_pdf",
    "matrix_svg",
    "profile_page",
    "publish_atrs",
    "read_atrs_spreadsheet",
    "record_fields",
    "render_pdf",
    "report_env",
    "split_front_matter",
    "wrap_tables",
    "write_eqia",
    "write_atrs",
    "write_profile_page",
    "write_report",
]
