"""The project spec: the civicml.yaml schema, loading and the commented template."""

from civicml.spec._load import load_spec, spec_from_dict
from civicml.spec._schema import (
    EQUALITY_ACT_CHARACTERISTICS,
    TASKS,
    Columns,
    Costs,
    DataSource,
    Owner,
    PersonalData,
    ProjectSpec,
    Selection,
)
from civicml.spec._template import TEMPLATE, write_template

__all__ = [
    "EQUALITY_ACT_CHARACTERISTICS",
    "TASKS",
    "TEMPLATE",
    "Columns",
    "Costs",
    "DataSource",
    "Owner",
    "PersonalData",
    "ProjectSpec",
    "Selection",
    "load_spec",
    "spec_from_dict",
    "write_template",
]
