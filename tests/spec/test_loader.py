"""The YAML spec loader at the edges: deep nesting, self-referring aliases, CR-only lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from civicml._errors import SpecError
from civicml.spec import load_spec
from civicml.spec._loader import MAX_SPEC_DEPTH, nesting_depth_over, read_spec_file


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "civicml.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_spec_nested_past_the_recursion_limit_is_one_spec_error(tmp_path: Path) -> None:
    """PyYAML composes nodes recursively: 5,000 levels hit Python's recursion limit (the CLI
    test takes the issue's 20,000)."""
    path = _write(tmp_path, "name: t\nx: " + "[" * 5_000 + "]" * 5_000 + "\n")
    with pytest.raises(SpecError, match=f"nested more than {MAX_SPEC_DEPTH} levels deep"):
        read_spec_file(path)
    assert sys.getrecursionlimit() >= 1000  # nothing left changed


def test_spec_nested_past_the_limit_but_parseable_is_refused(tmp_path: Path) -> None:
    deep = "[" * (MAX_SPEC_DEPTH + 5) + "]" * (MAX_SPEC_DEPTH + 5)
    path = _write(tmp_path, f"name: t\ndata: {{path: a.csv}}\ntarget: y\nx: {deep}\n")
    with pytest.raises(SpecError, match="nested more than") as info:
        load_spec(path)
    assert "\n" not in str(info.value)


def test_block_style_nesting_is_refused_too(tmp_path: Path) -> None:
    lines = ["name: t"] + [("  " * k) + f"k{k}:" for k in range(MAX_SPEC_DEPTH + 3)]
    path = _write(tmp_path, "\n".join(lines) + " 1\n")
    with pytest.raises(SpecError, match="nested more than"):
        read_spec_file(path)


def test_alias_to_its_own_anchor_is_refused_not_walked_forever(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: t\nloop: &a [1, *a]\n")
    with pytest.raises(SpecError, match="nested more than"):
        read_spec_file(path)


def test_shared_aliases_are_walked_once_per_depth() -> None:
    """A 'billion laughs' shape: 9 references per level, 12 levels, checked in a moment."""
    node: list = ["lol"]
    for _ in range(12):
        node = [node] * 9
    assert not nesting_depth_over({"x": node}, MAX_SPEC_DEPTH)


def test_a_normal_spec_is_not_too_deep(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: t\nsources:\n  a: {path: a.csv}\ntransform:\n  - map_categories:\n"
        "      region: {N: north}\ntarget: y\n",
    )
    doc, _ = read_spec_file(path)
    assert doc["transform"][0]["map_categories"]["region"] == {"N": "north"}


def test_cr_only_line_endings_read_as_lines(tmp_path: Path) -> None:
    """Old Mac files end lines with a bare CR; YAML treats it as a line break."""
    path = _write(tmp_path, b"name: t\r# a comment\rdata:\r  path: a.csv\rtarget: y\r")
    spec = load_spec(path)
    assert (spec.name, spec.target, spec.data.path) == ("t", "y", "a.csv")
