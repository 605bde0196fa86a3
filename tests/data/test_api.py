"""Pin civicml.data's public names so the API never changes by accident."""

from __future__ import annotations

import civicml.data

EXPECTED = {
    "SpecCheck",
    "check_spec_data",
    "large_spec_source",
    "partition_plan",
    "dataset_card",
    "dataset_card_data",
    "profile_data",
    "infer_contract_duckdb",
    "is_large",
    "rows_that_fit",
    "validate_source",
    "sample_for_search",
    "scan_sql",
    "sniff_csv",
    "train_lightgbm_stream",
    "CONTRACT_VERSION",
    "FORMATS",
    "PII_KINDS",
    "RULES",
    "ColumnContract",
    "DataContract",
    "DataVersion",
    "EtlResult",
    "PIIFinding",
    "StepLog",
    "ValidationIssue",
    "ValidationReport",
    "check_personal_data",
    "check_training_table",
    "detect_task",
    "drop_constant_columns",
    "file_sha256",
    "fingerprint",
    "frame_sha256",
    "infer_contract",
    "quality_findings",
    "is_driving_licence",
    "is_email",
    "is_nhs_number",
    "is_nino",
    "is_passport",
    "is_postcode",
    "is_sort_code",
    "is_uk_phone",
    "is_utr",
    "is_vat_number",
    "load_data",
    "load_sources",
    "read_sql",
    "read_table",
    "run_etl",
    "scan_personal_data",
    "validate_data",
    "SPECIAL_CATEGORIES",
    "SpecialFinding",
    "find_special_categories",
    "special_category_by_name",
    "special_category_by_values",
    "special_category_record",
}


def test_public_names() -> None:
    assert set(civicml.data.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(civicml.data, name) is not None
