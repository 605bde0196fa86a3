"""Batch scoring: one file, and partitioned data streamed through every engine, resumably."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml._errors import DataError
from civicml.workflow._scoring import list_partitions, score_file, score_partitions


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # clipped: training reaches both ends, so scoring data stays in range (predict refuses
    # out-of-range numbers by default, as serve does)
    x1, x2 = rng.normal(size=n).clip(-2, 2), rng.normal(size=n).clip(-2, 2)
    region = rng.choice(["north", "south", "east"], size=n)
    y = np.where(x1 + 0.5 * x2 + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    return pd.DataFrame(
        {
            "case_id": [f"C{seed}-{i:05d}" for i in range(n)],
            "x1": x1,
            "x2": x2,
            "region": region,
            "y": y,
        }
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from civicml.spec import spec_from_dict
    from civicml.workflow import run_training

    folder = tmp_path_factory.mktemp("project")
    _frame(300, 0).to_csv(folder / "train.csv", index=False)
    spec = spec_from_dict(
        {
            "name": "scoring",
            "data": {"path": "train.csv"},
            "target": "y",
            "task": "binary",
            "max_trials": 1,
            "cv_folds": 2,
            "test_size": 0.25,
            "columns": {"id": ["case_id"]},
            "personal_data": {"scan": False},
        },
        base_dir=folder,
    )
    with pytest.MonkeyPatch.context() as env:  # never leak into later tests
        env.setenv("CIVICML_REGISTRY", f"sqlite:///{folder / 'registry.db'}")
        run_training(spec, folder / "bundle", track=False)
    return folder / "bundle"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four Parquet partitions (one hive-style sub-folder) and one CSV partition."""
    root = tmp_path_factory.mktemp("data")
    for i in range(4):
        sub = root / f"month={i}"
        sub.mkdir()
        _frame(250 + i, i + 1).to_parquet(sub / "data.parquet", row_group_size=100)
    _frame(120, 9).to_csv(root / "late.csv", index=False)
    (root / "_SUCCESS").write_text("")
    return root


def _read_parts(out: Path) -> pd.DataFrame:
    parts = sorted(out.glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def test_partitions_are_listed_in_a_stable_order(dataset: Path) -> None:
    files = list_partitions(dataset)
    assert [f.name for f in files] == ["late.csv"] + ["data.parquet"] * 4
    assert list_partitions(str(dataset / "month=*" / "*.parquet")) == files[1:]
    with pytest.raises(DataError, match="glob"):
        list_partitions(dataset / "nothing-*.parquet")


@pytest.fixture(params=["local", "dask"])
def engine_spec(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "local":
        yield "local"
        return
    pytest.importorskip("distributed")
    external = os.environ.get("CIVICML_DASK_SCHEDULER")
    if external:
        yield "dask://" + external.split("://", 1)[-1]
        return
    from civicml.engines import DaskProcesses

    with DaskProcesses(n_workers=2) as procs:
        yield str(procs.address)


def test_partitioned_scoring_matches_the_pipeline_and_resumes(
    bundle: Path, dataset: Path, tmp_path: Path, engine_spec: str
) -> None:
    from civicml.bundle import Predictor, load_bundle

    out = tmp_path / "scored"
    res = score_partitions(bundle, dataset, out, engine=engine_spec, batch_rows=64)
    assert res["scored"] == 5 and res["skipped"] == 0 and res["rows"] == 4 * 251.5 + 120
    manifest = json.loads((out / "_manifest.json").read_text())
    assert len(manifest["partitions"]) == 5
    scored = _read_parts(out)
    assert set(scored.columns) == {"case_id", "prediction", "score", "decision", "probability"}

    # same outputs as the skops pipeline (the ONNX path is parity-tested at export)
    frames = []
    for f in list_partitions(dataset):
        frames.append(pd.read_csv(f) if f.suffix == ".csv" else pd.read_parquet(f))
    whole = pd.concat(frames, ignore_index=True)
    expected = Predictor(load_bundle(bundle)).predict(whole)
    assert scored["case_id"].tolist() == whole["case_id"].tolist()
    np.testing.assert_allclose(scored["score"], expected["score"], atol=1e-5)
    assert (scored["prediction"] == expected["prediction"]).mean() > 0.99

    # a crash after two parts: the rerun scores only what is missing
    manifest["partitions"] = dict(list(manifest["partitions"].items())[:2])
    (out / "_manifest.json").write_text(json.dumps(manifest))
    (out / "part-00004.parquet").unlink()
    again = score_partitions(bundle, dataset, out, engine=engine_spec)
    assert again["skipped"] == 2 and again["scored"] == 3
    assert _read_parts(out)["case_id"].tolist() == whole["case_id"].tolist()
    assert score_partitions(bundle, dataset, out, engine=engine_spec)["scored"] == 0


def test_skops_runtime_gives_the_same_columns(bundle: Path, dataset: Path, tmp_path: Path) -> None:
    a = score_partitions(bundle, dataset, tmp_path / "a", runtime="skops")
    assert a["runtime"] == "skops"
    score_partitions(bundle, dataset, tmp_path / "b")
    fa, fb = _read_parts(tmp_path / "a"), _read_parts(tmp_path / "b")
    assert list(fa.columns) == list(fb.columns)
    np.testing.assert_allclose(fa["score"], fb["score"], atol=1e-5)


def test_missing_columns_are_one_line(bundle: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    _frame(10, 3).drop(columns=["x1"]).to_parquet(bad)
    with pytest.raises(DataError, match="lacks 1 column"):
        score_partitions(bundle, bad, tmp_path / "out")


def test_single_file_scoring_still_works(bundle: Path, tmp_path: Path) -> None:
    data = tmp_path / "one.csv"
    _frame(90, 5).to_csv(data, index=False)
    assert score_file(bundle, data, tmp_path / "p.csv", batch_rows=40) == 90
    assert len(pd.read_csv(tmp_path / "p.csv")) == 90


def test_quoted_text_with_delimiters_streams_correctly(tmp_path) -> None:
    """A pandas-written CSV of quoted free text (commas and semicolons inside) keeps its columns."""
    import pandas as pd

    from civicml.bundle import iter_batches

    frame = pd.DataFrame({"text": ['It is, "really" good; yes', "bad, bad"] * 10, "n": range(20)})
    path = tmp_path / "reviews.csv"
    frame.to_csv(path, index=False)
    batches = list(iter_batches(path, batch_rows=7))
    assert [list(b.columns) for b in batches] == [["text", "n"]] * 3
    assert pd.concat(batches)["text"].tolist() == frame["text"].tolist()


@pytest.fixture()
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bucket on a moto S3 server (127.0.0.1), reached through the standard AWS variables."""
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
    s3fs.S3FileSystem().mkdir("scoring")
    try:
        yield "scoring"
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def test_partitions_on_s3_score_like_local_ones_and_resume(
    bundle: Path, dataset: Path, s3_bucket: str, tmp_path: Path
) -> None:
    import s3fs

    fs = s3fs.S3FileSystem()
    for i in range(4):
        fs.put(
            str(dataset / f"month={i}" / "data.parquet"), f"{s3_bucket}/in/month={i}/data.parquet"
        )
    fs.pipe(f"{s3_bucket}/in/_SUCCESS", b"")
    url = f"s3://{s3_bucket}/in/"
    assert list_partitions(url) == [f"{url}month={i}/data.parquet" for i in range(4)]
    remote = score_partitions(bundle, url, tmp_path / "remote")
    local = score_partitions(bundle, str(dataset / "month=*" / "*.parquet"), tmp_path / "local")
    assert remote["rows"] == local["rows"] == sum(250 + i for i in range(4))
    pd.testing.assert_frame_equal(_read_parts(tmp_path / "remote"), _read_parts(tmp_path / "local"))
    again = score_partitions(bundle, url, tmp_path / "remote")
    assert again["skipped"] == 4 and again["scored"] == 0

    fs.put(str(dataset / "late.csv"), f"{s3_bucket}/csv/late.csv")
    with pytest.raises(DataError, match="remote inputs must be Parquet"):
        list_partitions(f"s3://{s3_bucket}/csv/")
    with pytest.raises(DataError, match="No Parquet objects match"):
        list_partitions(f"s3://{s3_bucket}/nothing/")


def test_kept_formula_cells_are_guarded_in_the_csv(bundle: Path, tmp_path: Path) -> None:
    """CSV injection: text a spreadsheet would run (=, +, -, @, tab, CR) gets a leading quote;
    numbers, and text that is just a number, stay as they are."""
    frame = _frame(6, 7)
    frame["note"] = ['=HYPERLINK("http://x")', "+44 20 7946", "-2+3", "@SUM(A1)", "\tx", "ok"]
    frame["amount"] = [-3.5, 2.0, -1.0, 0.5, 4.0, -0.25]
    frame["code"] = ["-3.5", "+1", "x", "y", "z", "w"]
    data = tmp_path / "in.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "p.csv"
    score_file(bundle, data, out, keep=["note", "amount", "code"])
    got = pd.read_csv(out)
    assert got["note"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+44 20 7946",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "ok",
    ]
    assert got["amount"].dtype.kind == "f" and got["amount"].tolist()[0] == -3.5
    assert got["code"].tolist()[:2] == ["-3.5", "+1"]
    text = out.read_text(encoding="utf-8")
    assert "\n=" not in text and ",=" not in text and ",@" not in text


def test_formula_column_names_are_guarded(bundle: Path, tmp_path: Path) -> None:
    frame = _frame(4, 8)
    frame["=cmd|' /C calc'!A0"] = ["a", "b", "c", "d"]
    data = tmp_path / "in.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "p.csv"
    score_file(bundle, data, out, keep=["=cmd|' /C calc'!A0"], batch_rows=2)
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert "'=cmd|' /C calc'!A0" in header.split(",")
    assert len(pd.read_csv(out)) == 4  # two batches, one header
