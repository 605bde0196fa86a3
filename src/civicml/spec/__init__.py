"""The project spec: the civicml.yaml schema, loading and the commented template."""

from civicml.spec._load import load_spec, spec_from_dict
from civicml.spec._schema import (
    EQUALITY_ACT_CHARACTERISTICS,
    STEP_KINDS,
    TASKS,
    AgeFromDob,
    CapBounds,
    Columns,
    Costs,
    DataSource,
    DropDuplicates,
    Owner,
    PersonalData,
    ProjectSpec,
    Selection,
    TransformGuards,
    TransformStep,
)
from civicml.spec._template import TEMPLATE, write_template

__all__ = [
    "EQUALITY_ACT_CHARACTERISTICS",
    "STEP_KINDS",
    "TASKS",
    "TEMPLATE",
    "AgeFromDob",
    "CapBounds",
    "Columns",
    "Costs",
    "DataSource",
    "DropDuplicates",
    "Owner",
    "PersonalData",
    "ProjectSpec",
    "Selection",
    "TransformGuards",
    "TransformStep",
    "load_spec",
    "spec_from_dict",
    "write_template",
]
