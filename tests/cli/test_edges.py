"""The command line at the edges of input: deep specs, CR-only files, mixed encodings,
formula cells in written CSVs, and data values that would drive the terminal.

Each bad input is one line on stderr and exit 2 (never 3, civicml's "unexpected error").
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from civicml._text import guard_csv_cells, terminal_safe, terminal_text
from civicml.cli import app
from civicml.data import fingerprint
from civicml.tracking import open_runs, track_run

runner = CliRunner()


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output and "unexpected error" not in output
    return lines[0]


# -- the spec ---------------------------------------------------------------------------------


def test_spec_nested_20000_deep_exits_2_with_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "civicml.yaml"
    spec.write_text("name: t\nx: " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", "--spec", str(spec)])
    assert result.exit_code == 2, result.output
    assert "nested more than 32 levels deep" in _one_error_line(result.output)


def test_cr_only_spec_and_csv_validate(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_bytes(
        b"x,region,y\r" + b"".join(f"{i},{'ns'[i % 2]},{i % 2}\r".encode() for i in range(40))
    )
    spec = tmp_path / "civicml.yaml"
    spec.write_bytes(
        b"name: t\rdata:\r  path: data.csv\rtarget: y\rpersonal_data:\r  scan: false\r"
    )
    result = runner.invoke(app, ["validate", "--spec", str(spec)])
    assert result.exit_code == 0, result.output
    assert "40 rows × 3 columns" in " ".join(result.output.split())


# -- data files -------------------------------------------------------------------------------


def test_cr_only_csv_makes_a_contract(tmp_path: Path) -> None:
    data = tmp_path / "mac.csv"
    data.write_bytes(b"age,region\r41,north\r37,south\r")
    result = runner.invoke(app, ["contract", str(data), "-o", str(tmp_path / "c.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert "region" in json.dumps(doc)


def test_mixed_encoding_exits_2_naming_the_line(tmp_path: Path) -> None:
    data = tmp_path / "mixed.csv"
    text = "name,v\n" + "Zoë,1\n" * 12_000
    data.write_bytes(text.encode() + "Café,2\n".encode("cp1252"))
    result = runner.invoke(app, ["contract", str(data), "-o", str(tmp_path / "c.json")])
    assert result.exit_code == 2, result.output
    line = _one_error_line(result.output)
    assert "line 12,002" in line and "UTF-8" in line
    assert not (tmp_path / "c.json").exists()


def test_etl_output_csv_guards_formula_cells(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'r.db'}")
    pd.DataFrame({"id": [1, 2, 3], "note": ["=1+1", "-5", "fine"], "y": [0, 1, 0]}).to_csv(
        tmp_path / "a.csv", index=False
    )
    spec = {
        "name": "t",
        "sources": {"a": {"path": "a.csv"}},
        "target": "y",
        "personal_data": {"scan": False},
    }
    (tmp_path / "civicml.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = tmp_path / "table.csv"
    result = runner.invoke(app, ["data", "etl", str(tmp_path / "civicml.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    assert got["note"].tolist() == ["'=1+1", "-5", "fine"]
    assert got["id"].tolist() == [1, 2, 3]


# -- the terminal -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b]0;pwned\x07b", "a\\x1b]0;pwned\\x07b"),  # window title: ESC ... BEL
        ("a\x1b[2Jb", "a\\x1b[2Jb"),  # clear screen
        ("ok\rFAKE", "ok\\rFAKE"),  # overwrite the line
        ("a\x9b31mb", "a\\x9b31mb"),  # C1 CSI
        ("a\x00b\x7f", "a\\x00b\\x7f"),
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("x\u2066y\u2069", "x\\u2066y\\u2069"),  # isolates
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("Zoë Brontë £5 ✓", "Zoë Brontë £5 ✓"),  # ordinary text untouched
    ],
)
def test_terminal_safe_escapes_controls_and_bidi(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def test_a_5mb_cell_is_truncated_with_its_length() -> None:
    shown = terminal_safe("x" * 5_000_000)
    assert shown == "x" * 200 + "… (5,000,000 characters)"
    lines = terminal_text("head\n" + "y" * 5_000_000 + "\nend").splitlines()
    assert lines[0] == "head" and lines[2] == "end" and len(lines[1]) < 2_100


def test_data_diff_escapes_column_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'r.db'}")
    evil = "x\x1b]0;pwned\x07\u202e" + "z" * 500
    ids = []
    with open_runs() as store:
        for extra in (False, True):
            frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
            if extra:
                frame[evil] = [1, 2, 3]
            with track_run(project="demo", kind="train", spec={}, store=store) as tracker:
                tracker.add_data_versions([fingerprint(frame, "table")])
            ids.append(store.list_runs(limit=1)[0].id)
    result = runner.invoke(app, ["data", "diff", ids[0][:8], ids[1][:8], "--all"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b]0;pwned\\x07\\u202e" in out
    assert "(512 characters)" in " ".join(out.split())  # the console may wrap it


def test_guard_keeps_numbers_and_untouched_frames() -> None:
    df = pd.DataFrame({"n": [-1.5, 2.0], "s": ["a", "b"]})
    assert guard_csv_cells(df) is df
    guarded = guard_csv_cells(df.assign(s=["@x", "b"]))
    assert guarded["s"].tolist() == ["'@x", "b"] and guarded["n"].tolist() == [-1.5, 2.0]
