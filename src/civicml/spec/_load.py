"""Load civicml.yaml into a :class:`ProjectSpec`, turning pydantic's errors into one clear line."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from civicml._errors import SpecError, format_error
from civicml.spec._schema import ProjectSpec

__all__ = ["load_spec", "spec_from_dict"]


def load_spec(path: str | Path) -> ProjectSpec:
    """Read and validate a civicml.yaml file.

    Relative data paths in the file resolve against the file's folder.

    Raises
    ------
    SpecError
        The file is missing, not YAML, or does not match the schema.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "civicml.yaml"
    if not p.is_file():
        raise SpecError.build(
            f"The project spec {str(p)!r} does not exist",
            fix="Run 'civicml init DIR' to write one, or pass the path to your civicml.yaml",
        )
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        detail = str(exc).replace("\n", " ")
        raise SpecError.build(
            f"{p} is not valid YAML ({detail})", fix="Fix the syntax at the line named"
        ) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SpecError.build(
            f"{p} must hold a mapping of keys",
            expected="'key: value' lines",
            got=type(raw).__name__,
        )
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
    civicml._errors.SpecError: Unknown key 'budget' in civicml.yaml. Expected one of ['budget_seconds', ...
    """
    try:
        return ProjectSpec.model_validate({**raw, "base_dir": Path(base_dir)})
    except ValidationError as exc:
        raise _friendly(exc, raw, source) from None


def _friendly(exc: ValidationError, raw: dict[str, Any], source: str) -> SpecError:
    errors = exc.errors()
    first = errors[0]
    more = f" ({len(errors) - 1} more problem(s) after fixing this one)" if len(errors) > 1 else ""
    loc = tuple(str(part) for part in first["loc"])
    key = ".".join(loc) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(loc[-1], allowed, n=1)
        hint = f"Did you mean {close[0]!r}?" if close else "Remove it or fix its spelling."
        shown = allowed if len(str(allowed)) < 200 else [*allowed[:8], "..."]
        return SpecError(
            format_error(
                f"Unknown key {key!r} in {source}", expected=f"one of {shown}", got=loc[-1]
            )
            + f" {hint}{more}"
        )
    if kind == "missing":
        return SpecError(
            format_error(f"The key {key!r} is missing from {source}", fix=f"Add '{loc[-1]}: ...'")
            + more
        )
    msg = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    if kind == "value_error":
        where = f"The key {key!r} in {source}" if loc else source
        return SpecError(
            format_error(f"{where} is invalid: {msg}", fix=f"Edit {source} accordingly") + more
        )
    what = f"The key {key!r} in {source} has an invalid value" if loc else f"{source} is invalid"
    return SpecError(
        format_error(what, expected=_expected(msg), got=got, fix=f"Change '{key}' in {source}")
        + more
    )


def _expected(msg: str) -> str:
    text = msg[0].lower() + msg[1:] if msg else msg
    return text.removeprefix("input should be ").removeprefix("input should ")


def _allowed_keys(loc: tuple[str, ...]) -> list[str]:
    """The keys allowed at ``loc``, walking into sections, lists of sections (``transform.0``)
    and mappings of sections (``sources.claims``)."""
    model: type[BaseModel] = ProjectSpec
    pending: type[BaseModel] | None = None  # a list item or mapping value still to step into
    for part in loc:
        if pending is not None:
            model, pending = pending, None
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        inner = _model_in(field.annotation)
        if inner is None:
            return []
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            pending = inner
    if pending is not None:
        return []
    return sorted(k for k, f in model.model_fields.items() if not f.exclude)


def _model_in(ann: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``ann`` (``M``, ``M | None``, ``list[M]``, ``dict[str, M]``)."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in get_args(ann):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
