"""civicml: governed, explainable machine learning for UK public-sector teams.

The public API is re-exported here. Names load lazily (PEP 562) so that ``civicml --help`` and
the serving process do not import scikit-learn or pandas until they need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "CivicMLError": "civicml._errors",
    "SpecError": "civicml._errors",
    "DataError": "civicml._errors",
    "ContractError": "civicml._errors",
    "PersonalDataError": "civicml._errors",
    "TrainingError": "civicml._errors",
    "BundleError": "civicml._errors",
    "IntegrityError": "civicml._errors",
    "ProjectSpec": "civicml.spec",
    "load_spec": "civicml.spec",
    "read_table": "civicml.data",
    "load_data": "civicml.data",
    "DataContract": "civicml.data",
    "infer_contract": "civicml.data",
    "validate_data": "civicml.data",
    "scan_personal_data": "civicml.data",
    "train": "civicml.learn",
    "AutoClassifier": "civicml.learn",
    "AutoRegressor": "civicml.learn",
    "assess_model": "civicml.assess",
    "write_report": "civicml.report",
    "open_registry": "civicml.registry",
    "Predictor": "civicml.bundle",
    "run_training": "civicml.workflow",
    "run_project": "civicml.workflow",
    "TrainResult": "civicml.learn",
    "Leaderboard": "civicml.learn",
    "Bundle": "civicml.bundle",
    "save_bundle": "civicml.bundle",
    "load_bundle": "civicml.bundle",
    "verify_bundle": "civicml.bundle",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:  # pragma: no cover
    from civicml._errors import (
        BundleError,
        CivicMLError,
        ContractError,
        DataError,
        IntegrityError,
        PersonalDataError,
        SpecError,
        TrainingError,
    )
    from civicml.assess import assess_model
    from civicml.bundle import Bundle, Predictor, load_bundle, save_bundle, verify_bundle
    from civicml.data import (
        DataContract,
        infer_contract,
        load_data,
        read_table,
        scan_personal_data,
        validate_data,
    )
    from civicml.learn import AutoClassifier, AutoRegressor, Leaderboard, TrainResult, train
    from civicml.registry import open_registry
    from civicml.report import write_report
    from civicml.spec import ProjectSpec, load_spec
    from civicml.workflow import run_project, run_training


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'civicml' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
