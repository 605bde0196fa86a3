"""Test helpers for the ATRS gate on serving aliases (see tests/registry/test_atrs_gate.py).

A serving alias needs a complete ATRS record or a recorded exemption. Tests about other things
either give the registry a check that finds the record complete (:func:`no_atrs_gaps`) or
record an exemption as a second person (:func:`exempt`), and say which in a comment.
"""

from __future__ import annotations

from typing import Any


def no_atrs_gaps(registry: Any, version: Any) -> list[str]:
    """An ATRS check that finds every record complete (for tests about everything else)."""
    return []


def exempt(registry: Any, name: str, version: int, by: str = "ATRS Exemptor") -> None:
    """Record an exemption from the ATRS record for ``name`` ``version`` as ``by``."""
    registry.record_atrs_exemption(
        name, version, reason="Test fixture: exempt from the ATRS record", actor=by
    )


def cli_exempt(name: str, version: int, *extra: str) -> None:
    """Record an exemption through ``civicml atrs exempt`` as the current OS login (the
    registry named by ``$CIVICML_REGISTRY``, or ``extra`` options such as ``--registry``)."""
    from typer.testing import CliRunner

    from civicml.cli._app import app

    args = ["atrs", "exempt", name, str(version), "--reason", "Test fixture: exempt", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
