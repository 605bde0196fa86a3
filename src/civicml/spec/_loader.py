"""The one loader for YAML specs (civicml.yaml, bandit.yaml): read the file, parse the YAML,
check it is a mapping, validate it with a pydantic model, and turn every failure into one
:class:`~civicml.SpecError` line that names the file, the line or the field path.

Examples
--------
>>> from pydantic import BaseModel, ConfigDict
>>> class Demo(BaseModel):
...     model_config = ConfigDict(extra="forbid")
...     name: str
...     seeds: list[int] = []
>>> validate_spec_model(Demo, {"name": "x", "seeds": [1, "b"]}, source="demo.yaml")
Traceback (most recent call last):
...
civicml._errors.SpecError: The key 'seeds.1' in demo.yaml has an invalid value. Expected a valid integer, unable to parse string as an integer; got 'b'. Change 'seeds.1' in demo.yaml.
>>> validate_spec_model(Demo, {"name": "x", "seed": [1]}, source="demo.yaml")
Traceback (most recent call last):
...
civicml._errors.SpecError: Unknown key 'seed' in demo.yaml. Expected one of ['name', 'seeds']; got 'seed'. Did you mean 'seeds'?
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from civicml._errors import SpecError, format_error

__all__ = [
    "MAX_SPEC_DEPTH",
    "SPEC_FILE",
    "nesting_depth_over",
    "read_spec_file",
    "validate_spec_model",
]

M = TypeVar("M", bound=BaseModel)

#: The file a project folder's spec lives in.
SPEC_FILE = "civicml.yaml"

#: The deepest nesting of mappings and lists a spec may hold (real specs use five or six).
MAX_SPEC_DEPTH = 32


def read_spec_file(
    path: str | Path,
    *,
    what: str = "project spec",
    missing_fix: str = "Run 'civicml init DIR' to write one, or pass the path to your civicml.yaml",
) -> tuple[dict[str, Any], Path]:
    """Read a YAML spec file into a mapping; a folder means its ``civicml.yaml``.

    Parameters
    ----------
    path : str or Path
        The file, or a folder holding ``civicml.yaml``.
    what : str
        What the file is, for the messages ("project spec", "bandit spec").
    missing_fix : str
        How to fix a missing file.

    Returns
    -------
    (dict, Path)
        The mapping (empty for an empty file) and the file it came from.

    Raises
    ------
    SpecError
        The file is missing or unreadable, is not YAML (naming the line and column), is nested
        more than :data:`MAX_SPEC_DEPTH` levels deep (or refers to itself), or does not hold a
        mapping.
    """
    import yaml

    p = Path(path)
    if p.is_dir():
        p = p / SPEC_FILE
    if not p.is_file():
        raise SpecError.build(f"The {what} {str(p)!r} does not exist", fix=missing_fix)
    too_deep = SpecError.build(
        f"The {what} {str(p)!r} is nested more than {MAX_SPEC_DEPTH} levels deep",
        expected=f"at most {MAX_SPEC_DEPTH} levels of mappings and lists",
        fix="Check the file is the right one; a spec needs only a few levels of indentation",
    )
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except RecursionError:  # PyYAML composes nested nodes recursively
        raise too_deep from None
    except yaml.YAMLError as exc:
        raise SpecError.build(
            f"The {what} {str(p)!r} is not valid YAML ({_yaml_problem(exc)})",
            fix="Fix the syntax at the line named",
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError.build(
            f"The {what} {str(p)!r} is not valid YAML (not UTF-8 text at byte {exc.start})",
            fix="Save the file as UTF-8",
        ) from None
    except OSError as exc:
        raise SpecError.build(
            f"The {what} {str(p)!r} cannot be read ({exc.strerror or type(exc).__name__})",
            fix="Check the file's permissions",
        ) from None
    if nesting_depth_over(doc, MAX_SPEC_DEPTH):
        raise too_deep
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise SpecError.build(
            f"The {what} {str(p)!r} must hold a mapping of keys",
            expected="'key: value' lines",
            got=type(doc).__name__,
        )
    return doc, p


def nesting_depth_over(doc: Any, limit: int) -> bool:
    """Whether mappings and lists in ``doc`` nest more than ``limit`` levels deep.

    Iterative, so any depth is safe to check; a structure that contains itself (a YAML alias
    to its own anchor) counts as too deep, and a node shared through aliases is walked again
    only when reached deeper than before.

    Examples
    --------
    >>> nesting_depth_over({"a": [1, {"b": 2}]}, 3), nesting_depth_over({"a": [1, {"b": 2}]}, 2)
    (False, True)
    >>> loop: list = []
    >>> loop.append(loop)
    >>> nesting_depth_over(loop, 32)
    True
    """
    deepest: dict[int, int] = {}
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple | set):
            children = node
        else:
            continue
        if depth > limit:
            return True
        if deepest.get(id(node), 0) >= depth:
            continue
        deepest[id(node)] = depth
        stack.extend((child, depth + 1) for child in children)
    return False


def _yaml_problem(exc: Exception) -> str:
    """``line L, column C: problem`` from a YAML error (its first line when it has no mark)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    text = str(exc).splitlines()
    return text[0] if text else "parse error"


def validate_spec_model(
    model: type[M],
    data: Mapping[str, Any],
    *,
    source: str,
    also_allowed: Sequence[str] = (),
) -> M:
    """Validate ``data`` with ``model``; the first problem becomes one :class:`SpecError` line.

    Parameters
    ----------
    model : pydantic model class
    data : mapping
    source : str
        The file name the messages name (e.g. ``civicml.yaml``).
    also_allowed : sequence of str
        Top-level keys the file may hold besides the model's fields (handled by the caller),
        offered as suggestions for a misspelt key.

    Raises
    ------
    SpecError
        Naming the field path (``columns.id``, ``candidates.0.policy``), what was expected and
        what was given, with a suggestion for a misspelt key.
    """
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise _friendly(exc, model, source, also_allowed) from None


def _friendly(
    exc: ValidationError, model: type[BaseModel], source: str, also_allowed: Sequence[str]
) -> SpecError:
    errors = exc.errors()
    first = errors[0]
    more = f" ({len(errors) - 1} more problem(s) after fixing this one)" if len(errors) > 1 else ""
    loc = tuple(str(part) for part in first["loc"])
    key = ".".join(loc) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        if len(loc) == 1:
            allowed = sorted({*allowed, *also_allowed})
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


def _allowed_keys(root: type[BaseModel], loc: tuple[str, ...]) -> list[str]:
    """The keys allowed at ``loc`` under ``root``, walking into sections, lists of sections
    (``transform.0``) and mappings of sections (``sources.claims``)."""
    model = root
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
