"""Data in: reading sources, data contracts and validation, the UK personal-data scan, and the
checks a training table must pass."""

from civicml.data._checks import (
    check_training_table,
    detect_task,
    drop_constant_columns,
    quality_findings,
)
from civicml.data._contract import (
    CONTRACT_VERSION,
    ColumnContract,
    DataContract,
    infer_contract,
)
from civicml.data._etl import (
    DataVersion,
    EtlResult,
    StepLog,
    fingerprint,
    load_sources,
    run_etl,
)
from civicml.data._hashing import file_sha256, frame_sha256
from civicml.data._load import load_data
from civicml.data._outofcore import (
    infer_contract_duckdb,
    is_large,
    partition_plan,
    rows_that_fit,
    sample_for_search,
    scan_sql,
    train_lightgbm_stream,
    validate_source,
)
from civicml.data._pii import (
    PII_KINDS,
    PIIFinding,
    check_personal_data,
    is_driving_licence,
    is_email,
    is_nhs_number,
    is_nino,
    is_passport,
    is_postcode,
    is_sort_code,
    is_uk_phone,
    is_utr,
    is_vat_number,
    scan_personal_data,
)
from civicml.data._profile import profile_data
from civicml.data._profile_card import dataset_card, dataset_card_data
from civicml.data._sources import FORMATS, read_sql, read_table, sniff_csv
from civicml.data._spec_check import SpecCheck, check_spec_data, large_spec_source
from civicml.data._special import (
    SPECIAL_CATEGORIES,
    SpecialFinding,
    find_special_categories,
    special_category_by_name,
    special_category_by_values,
    special_category_record,
)
from civicml.data._validate import RULES, ValidationIssue, ValidationReport, validate_data

__all__ = [
    "SpecCheck",
    "check_spec_data",
    "large_spec_source",
    "infer_contract_duckdb",
    "is_large",
    "dataset_card",
    "dataset_card_data",
    "profile_data",
    "rows_that_fit",
    "validate_source",
    "partition_plan",
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
    "drop_constant_columns",
    "detect_task",
    "file_sha256",
    "fingerprint",
    "frame_sha256",
    "infer_contract",
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
    "quality_findings",
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
]
