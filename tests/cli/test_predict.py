"""``civicml predict``: partitioned output that cannot lose rows, to a folder or an S3 URL."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.workflow.test_scoring import _frame, trained_bundle
from typer.testing import CliRunner

from civicml.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_bundle(tmp_path_factory)


def _predict(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["predict", *args])
    return res.exit_code, res.output


def test_adding_a_file_scores_only_it_and_the_last_line_checks_the_rows(
    bundle: Path, tmp_path: Path
) -> None:
    data = tmp_path / "in"
    data.mkdir()
    for seed, name in enumerate("bcd", start=40):
        _frame(1000, seed).to_parquet(data / f"{name}.parquet")
    out = tmp_path / "scored"
    code, output = _predict(str(bundle), str(data), "-o", str(out))
    assert code == 0, output
    assert (
        output.strip()
        .splitlines()[-1]
        .startswith("Checked: 3 input(s), 3,000 rows in = 3,000 rows out")
    )
    _frame(1000, 50).to_parquet(data / "a.parquet")
    code, output = _predict(str(bundle), str(data), "-o", str(out))
    assert code == 0, output
    assert "in 1 partition(s)" in output and "(3 already done)" in output
    assert "4,000 rows in = 4,000 rows out" in output
    assert len(pd.read_parquet(out)) == 4000

    # a changed input: one line, exit 2, saying how to fix it; nothing written
    manifest = (out / "_manifest.json").read_bytes()
    _frame(10, 51).to_parquet(data / "b.parquet")
    code, output = _predict(str(bundle), str(data), "-o", str(out))
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert "'b.parquet'" in output and "Delete" in output
    assert (out / "_manifest.json").read_bytes() == manifest
    part = json.loads(manifest)["inputs"]["b.parquet"]["output"]
    (out / part).unlink()
    code, output = _predict(str(bundle), str(data), "-o", str(out))
    assert code == 0 and "3,010 rows in = 3,010 rows out" in output, output


def test_output_to_an_s3_url(bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s3fs = pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }.items():
        monkeypatch.setenv(key, value)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        fs = s3fs.S3FileSystem()
        fs.mkdir("preds")
        monkeypatch.chdir(tmp_path)
        data = tmp_path / "one.parquet"
        _frame(500, 60).to_parquet(data)
        code, output = _predict(str(bundle), str(data), "-o", "s3://preds/scored/")
        assert code == 0, output
        assert "500 rows in = 500 rows out" in output and "s3://preds/scored/" in output
        with fs.open("preds/scored/_manifest.json", "rb") as fh:
            assert json.load(fh)["inputs"]["one.parquet"]["rows_out"] == 500
        code, output = _predict(str(bundle), str(data), "-o", "s3://preds/single.csv")
        assert code == 0, output
        with fs.open("preds/single.csv", "rb") as fh:
            assert len(pd.read_csv(fh)) == 500
        assert not (tmp_path / "s3:").exists()
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()
