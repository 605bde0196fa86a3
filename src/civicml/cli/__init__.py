"""The command line interface (Typer)."""

from civicml.cli._app import app, main

__all__ = ["app", "main"]
