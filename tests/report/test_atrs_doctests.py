"""The ATRS modules' docstring examples run (the schema, the trial record, answers)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    ["civicml.report._atrs_schema", "civicml.report._atrs_bandit", "civicml.report._atrs_fill"],
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
