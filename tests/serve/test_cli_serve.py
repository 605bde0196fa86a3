"""The serve command module mounts on a Typer app and validates its options."""

from __future__ import annotations

from typer.testing import CliRunner

from serve._support import serve_cli


def test_help_lists_options() -> None:
    r = CliRunner().invoke(serve_cli(), ["serve", "--help"])
    assert r.exit_code == 0
    for opt in ("--model", "--bundle", "--port", "--certfile", "--max-batch-size"):
        assert opt in r.output


def test_bad_policy_is_one_line_error() -> None:
    r = CliRunner().invoke(serve_cli(), ["serve", "--bundle", ".", "--extra-columns", "maybe"])
    assert r.exit_code == 2


def test_bundle_as_argument_and_its_name(bundle_dir) -> None:
    from civicml.serve import bundle_name

    assert bundle_name(bundle_dir) == "claims"  # the model's name, not the folder's
    r = CliRunner().invoke(serve_cli(), ["serve", str(bundle_dir), "--model", "claims@production"])
    assert r.exit_code == 2 and "both a bundle and --model" in r.output
    r = CliRunner().invoke(serve_cli(), ["serve", str(bundle_dir), "--bundle", "elsewhere"])
    assert r.exit_code == 2 and "two bundles" in r.output
    r = CliRunner().invoke(serve_cli(), ["serve", str(bundle_dir), "--runtime", "gpu"])
    assert r.exit_code == 2 and "--runtime" in r.output
