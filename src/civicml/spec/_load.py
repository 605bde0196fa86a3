"""Load civicml.yaml into a :class:`ProjectSpec`, turning pydantic's errors into one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from civicml.spec._loader import read_spec_file, validate_spec_model
from civicml.spec._schema import ProjectSpec

__all__ = ["load_spec", "spec_from_dict"]


def load_spec(path: str | Path) -> ProjectSpec:
    """Read and validate a civicml.yaml file (a folder means its civicml.yaml).

    Relative data paths in the file resolve against the file's folder.

    Raises
    ------
    SpecError
        The file is missing, not YAML, or does not match the schema.
    """
    raw, p = read_spec_file(path)
    return spec_from_dict(raw, base_dir=p.parent, source=p.name)


def spec_from_dict(
    raw: dict[str, Any], *, base_dir: str | Path = ".", source: str = "civicml.yaml"
) -> ProjectSpec:
    """Validate a mapping against the schema.

    Examples
    --------
    >>> spec_from_dict({"name": "x", "data": {"path": "a.csv"}, "target": "y"}).target
    'y'
    >>> spec_from_dict({"name": "x", "data": {"path": "a.csv"}, "target": "y", "budget": 3})
    Traceback (most recent call last):
    ...
    civicml._errors.SpecError: Unknown key 'budget' in civicml.yaml. Expected one of [...]; got 'budget'. Did you mean 'budget_seconds'?
    """
    return validate_spec_model(ProjectSpec, {**raw, "base_dir": Path(base_dir)}, source=source)
