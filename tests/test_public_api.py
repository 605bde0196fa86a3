"""Pins the top-level public API so it never changes by accident."""

from __future__ import annotations

import subprocess
import sys

import civicml

EXPECTED = {
    "AutoClassifier",
    "AutoRegressor",
    "Bundle",
    "BundleError",
    "CivicMLError",
    "ContractError",
    "DataContract",
    "DataError",
    "IntegrityError",
    "Leaderboard",
    "PersonalDataError",
    "Predictor",
    "ProjectSpec",
    "SpecError",
    "TrainResult",
    "TrainingError",
    "__version__",
    "assess_model",
    "infer_contract",
    "load_bundle",
    "load_data",
    "load_spec",
    "open_registry",
    "read_table",
    "run_project",
    "run_training",
    "save_bundle",
    "scan_personal_data",
    "train",
    "validate_data",
    "verify_bundle",
    "write_report",
}


def test_exported_names_are_pinned() -> None:
    assert set(civicml.__all__) == EXPECTED


def test_every_exported_name_resolves() -> None:
    for name in civicml.__all__:
        assert getattr(civicml, name) is not None, name


def test_import_civicml_is_light() -> None:
    code = "import sys, civicml; print(any(m in sys.modules for m in ('pandas', 'sklearn')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
