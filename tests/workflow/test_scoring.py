"""Batch scoring: one file, and partitioned data streamed through every engine, resumably."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml._errors import DataError
from civicml.workflow._partitions import output_name
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


def trained_bundle(factory: pytest.TempPathFactory) -> Path:
    """A small binary bundle, trained once per test session (the CLI tests reuse it)."""
    from civicml.spec import spec_from_dict
    from civicml.workflow import run_training

    folder = factory.getbasetemp() / "scoring-project"
    if (folder / "bundle" / "manifest.json").exists():
        return folder / "bundle"
    folder.mkdir(exist_ok=True)
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
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_bundle(tmp_path_factory)


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
    assert res["rows_in"] == res["rows_out"] == res["rows"]
    manifest = json.loads((out / "_manifest.json").read_text())
    assert len(manifest["inputs"]) == 5 and "late.csv" in manifest["inputs"]
    assert {e["rows_in"] for e in manifest["inputs"].values()} == {120, 250, 251, 252, 253}
    # the same names on every engine: from each input's name and sha256, nothing else
    assert sorted(p.name for p in out.glob("part-*.parquet")) == sorted(
        output_name(n, e["input_sha256"]) for n, e in manifest["inputs"].items()
    )
    assert "month=2/data.parquet" in manifest["inputs"]
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

    # killed after two parts were recorded and a third was moved into place: the rerun
    # scores only what is not recorded (the unrecorded part is its own input's: redone)
    entries = list(manifest["inputs"].items())
    manifest["inputs"] = dict(entries[:2])
    (out / "_manifest.json").write_text(json.dumps(manifest))
    for _, e in entries[3:]:
        (out / e["output"]).unlink()
    again = score_partitions(bundle, dataset, out, engine=engine_spec)
    assert again["skipped"] == 2 and again["scored"] == 3
    assert again["rows_in"] == again["rows_out"] == len(whole)
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
    bucket = f"scoring-{uuid.uuid4().hex[:8]}"  # moto's state outlives one server
    s3fs.S3FileSystem().mkdir(bucket)
    try:
        yield bucket
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


# -- partitions keyed by the input's identity, a manifest, a rows check ------------------------


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def letters(tmp_path: Path) -> Path:
    """b, c and d: three Parquet partitions (1,000 rows each, as in the issue's report)."""
    root = tmp_path / "in"
    root.mkdir()
    for seed, name in enumerate("bcd", start=20):
        _frame(1000, seed).to_parquet(root / f"{name}.parquet", row_group_size=400)
    return root


def test_adding_an_input_never_changes_another_files_output(
    bundle: Path, letters: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scored"
    first = score_partitions(bundle, letters, out, batch_rows=300)
    assert first["rows_in"] == first["rows_out"] == 3000
    before = {p.name: (_sha(p), p.stat().st_mtime_ns) for p in out.glob("part-*.parquet")}
    _frame(1000, 30).to_parquet(letters / "a.parquet")  # sorts first: shifted every position
    again = score_partitions(bundle, letters, out, batch_rows=300)
    assert again["scored"] == 1 and again["skipped"] == 3
    assert again["rows_in"] == again["rows_out"] == 4000
    after = {p.name: (_sha(p), p.stat().st_mtime_ns) for p in out.glob("part-*.parquet")}
    assert {k: after[k] for k in before} == before  # b, c, d: not rewritten, not changed
    manifest = json.loads((out / "_manifest.json").read_text())
    assert sorted(manifest["inputs"]) == ["a.parquet", "b.parquet", "c.parquet", "d.parquet"]
    for name, e in manifest["inputs"].items():
        assert e["input_sha256"] == _sha(letters / name) and e["rows_in"] == e["rows_out"] == 1000
        assert e["output_sha256"] == _sha(out / e["output"]) and e["output"].startswith(
            f"part-{name[0]}-"
        )
    scored = pd.concat([pd.read_parquet(out / p) for p in sorted(after)], ignore_index=True)
    inputs = pd.concat([pd.read_parquet(letters / f"{x}.parquet") for x in "abcd"])
    assert len(scored) == 4000 and set(scored["case_id"]) == set(inputs["case_id"])


def test_a_changed_input_is_refused_until_its_part_is_deleted(
    bundle: Path, letters: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scored"
    score_partitions(bundle, letters, out)
    manifest = (out / "_manifest.json").read_bytes()
    old_part = json.loads(manifest)["inputs"]["c.parquet"]["output"]
    _frame(700, 99).to_parquet(letters / "c.parquet")  # same name, other rows
    with pytest.raises(DataError, match=r"changed since they were scored.*'c\.parquet'") as err:
        score_partitions(bundle, letters, out)
    assert old_part in str(err.value) and "Delete" in str(err.value)
    assert (out / "_manifest.json").read_bytes() == manifest  # nothing written
    (out / old_part).unlink()
    res = score_partitions(bundle, letters, out)
    assert res["scored"] == 1 and res["rows_in"] == res["rows_out"] == 2700
    assert not (out / old_part).exists()


def test_another_bundles_folder_foreign_and_unlisted_parts_are_refused(
    bundle: Path, letters: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scored"
    score_partitions(bundle, letters, out)
    manifest = json.loads((out / "_manifest.json").read_text())
    # only b and c this time: d's part would make the folder's rows differ from the input's
    with pytest.raises(DataError, match=r"parts of 1 input\(s\) that are not in this run.*d\."):
        score_partitions(bundle, str(letters / "[bc].parquet"), out)
    # a part the manifest does not list (copied in, or left by another tool)
    stray = out / "part-zz-0000000000000000.parquet"
    stray.write_bytes((out / manifest["inputs"]["b.parquet"]["output"]).read_bytes())
    with pytest.raises(DataError, match="does not list.*part-zz-"):
        score_partitions(bundle, letters, out)
    stray.unlink()
    # another bundle's predictions
    other = {**manifest, "bundle_sha256": "f" * 64}
    (out / "_manifest.json").write_text(json.dumps(other))
    with pytest.raises(DataError, match="another bundle"):
        score_partitions(bundle, letters, out)
    # a folder an earlier civicml wrote (parts named by position)
    (out / "_manifest.json").write_text(json.dumps({"partitions": {}}))
    with pytest.raises(DataError, match="earlier civicml"):
        score_partitions(bundle, letters, out)
    # predictions written among the inputs would be read back as inputs next time
    with pytest.raises(DataError, match="holds input partitions"):
        score_partitions(bundle, letters, letters)


def test_a_killed_runs_temporary_part_is_removed_and_the_partition_redone(
    bundle: Path, letters: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml.workflow import _scoring

    out = tmp_path / "scored"
    score_partitions(bundle, letters, out)
    manifest = json.loads((out / "_manifest.json").read_text())
    part = manifest["inputs"]["d.parquet"]["output"]
    (out / part).unlink()  # d to do again
    seen: dict[str, bytes] = {}

    def killed(*args: object, **kwargs: object) -> tuple[int, int]:
        args[1].write(b"PAR1 half a part")  # type: ignore[attr-defined]
        args[1].flush()  # type: ignore[attr-defined]
        seen.update({p.name: p.read_bytes() for p in out.iterdir() if p.name.startswith(".")})
        raise OSError("disk full")

    monkeypatch.setattr(_scoring, "_write_part", killed)
    with pytest.raises(OSError, match="disk full"):
        score_partitions(bundle, letters, out)
    # a failure while writing leaves no temporary file and no part ...
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert not (out / part).exists() and len(seen) == 1
    # ... but a kill -9 runs no cleanup: what it leaves is removed by the next run, which
    # scores d again
    for name, data in seen.items():
        (out / name).write_bytes(data)
    (out / "._manifest.json.0123456789ab.tmp").write_text("{")
    monkeypatch.undo()
    res = score_partitions(bundle, letters, out)
    assert res["cleaned"] == 2 and res["scored"] == 1 and res["skipped"] == 2
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert res["rows_in"] == res["rows_out"] == 3000
    assert _sha(out / part) == manifest["inputs"]["d.parquet"]["output_sha256"]


def test_a_damaged_part_is_scored_again(bundle: Path, letters: Path, tmp_path: Path) -> None:
    out = tmp_path / "scored"
    score_partitions(bundle, letters, out)
    manifest = json.loads((out / "_manifest.json").read_text())
    part = out / manifest["inputs"]["b.parquet"]["output"]
    pd.read_parquet(part).head(10).to_parquet(part)  # valid Parquet, 990 rows lost
    res = score_partitions(bundle, letters, out)
    assert res["rescored"] == 1 and res["scored"] == 1 and res["rows_out"] == 3000
    assert len(pd.read_parquet(part)) == 1000


def test_rows_in_must_equal_rows_out(
    bundle: Path, letters: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicml._errors import IntegrityError
    from civicml.workflow import _partitions, _scoring

    out = tmp_path / "scored"
    score_partitions(bundle, letters, out)
    doc = json.loads((out / "_manifest.json").read_text())
    fs, root = _partitions.open_location(str(out))
    names = sorted(doc["inputs"])
    assert _partitions.check_rows(fs, root, str(out), doc, names) == (3000, 3000)
    # a part that lost rows behind the manifest's back, a missing part, an unscored input
    part = out / doc["inputs"]["c.parquet"]["output"]
    pd.read_parquet(part).head(5).to_parquet(part)
    with pytest.raises(IntegrityError, match=r"3,000 in, 2,005 out.*holds 5 rows"):
        _partitions.check_rows(fs, root, str(out), doc, names)
    part.unlink()
    with pytest.raises(IntegrityError, match="is missing"):
        _partitions.check_rows(fs, root, str(out), doc, names)
    with pytest.raises(IntegrityError, match="'e.parquet' has no part"):
        _partitions.check_rows(fs, root, str(out), doc, [*names, "e.parquet"])

    # a scorer that drops a row: the part is not recorded and the run fails loudly
    real = _scoring._write_part

    def lossy(*args: object, **kwargs: object) -> tuple[int, int]:
        n, written = real(*args, **kwargs)  # type: ignore[arg-type]
        return n, written - 1

    monkeypatch.setattr(_scoring, "_write_part", lossy)
    with pytest.raises(IntegrityError, match="read 1,000 rows and wrote 999"):
        score_partitions(bundle, letters, out)
    monkeypatch.undo()  # the rerun finds c's part (its own, and it verifies) and checks
    res = score_partitions(bundle, letters, out)
    assert res["rows_in"] == res["rows_out"] == 3000


def test_output_to_s3_is_keyed_checked_and_resumed_like_a_folder(
    bundle: Path, letters: Path, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    monkeypatch.chdir(tmp_path)  # a URL must never become a local folder named 's3:'
    fs = s3fs.S3FileSystem()
    url = f"s3://{s3_bucket}/scored/"
    res = score_partitions(bundle, letters, url, batch_rows=300)
    assert res["scored"] == 3 and res["rows_in"] == res["rows_out"] == 3000
    local = tmp_path / "local"
    score_partitions(bundle, letters, local, batch_rows=300)
    listed = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{s3_bucket}/scored"))
    assert listed == ["_manifest.json", *sorted(p.name for p in local.glob("part-*.parquet"))]
    for name in listed[1:]:  # the same bytes as a local run: same names, same parts
        assert fs.cat_file(f"{s3_bucket}/scored/{name}") == (local / name).read_bytes()
    manifest = json.loads(fs.cat_file(f"{s3_bucket}/scored/_manifest.json"))
    assert manifest == json.loads((local / "_manifest.json").read_text())

    # inputs on S3 too; a file added there is the only one scored, a leftover temp is removed
    for f in sorted(letters.glob("*.parquet")):
        fs.put(str(f), f"{s3_bucket}/in/{f.name}")
    remote_out = f"s3://{s3_bucket}/from-s3"
    assert score_partitions(bundle, f"s3://{s3_bucket}/in/", remote_out)["scored"] == 3
    fs.pipe(f"{s3_bucket}/from-s3/.part-x-0123.parquet.0123456789ab.tmp", b"PAR1")
    _frame(1000, 31).to_parquet(tmp_path / "a.parquet")
    fs.put(str(tmp_path / "a.parquet"), f"{s3_bucket}/in/a.parquet")
    again = score_partitions(bundle, f"s3://{s3_bucket}/in/", remote_out + "/")
    assert (again["scored"], again["skipped"], again["cleaned"]) == (1, 3, 1)
    assert again["rows_in"] == again["rows_out"] == 4000
    assert not [p for p in fs.ls(f"{s3_bucket}/from-s3") if p.rsplit("/", 1)[-1][0] == "."]

    # one file to one object
    assert score_file(bundle, letters / "b.parquet", f"s3://{s3_bucket}/one/p.parquet") == 1000
    with fs.open(f"{s3_bucket}/one/p.parquet", "rb") as fh:
        assert len(pd.read_parquet(fh)) == 1000
    assert not (tmp_path / "s3:").exists()
