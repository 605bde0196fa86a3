"""The sandbox for spec SQL: every escape is refused with one line, legitimate SQL still runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from civicml import DataError
from civicml.cli import app
from civicml.data import read_sql, run_etl
from civicml.data._sandbox import ALLOWED_DIRS_ENV, prepare_sql, sandbox, sql_folders
from civicml.spec import ProjectSpec

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with CSV and Parquet data, and a secret file beside (not in) it."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    ids = list(range(1, 9))
    pd.DataFrame({"id": ids, "x": [i / 2 for i in ids], "y": [i % 2 for i in ids]}).to_csv(
        folder / "data" / "cases.csv", index=False
    )
    pd.DataFrame({"id": ids, "region": list("NSEWNSEW")}).to_parquet(
        folder / "data" / "areas.parquet"
    )
    (tmp_path / "secret.txt").write_text("the secret\n")
    return folder


def _spec(folder: Path, query: str) -> Path:
    doc = {"name": "p", "data": {"query": query}, "target": "y", "task": "binary"}
    path = folder / "civicml.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _validate(folder: Path, query: str) -> tuple[int, str]:
    out = runner.invoke(app, ["validate", "--spec", str(_spec(folder, query))])
    return out.exit_code, out.output


ESCAPES = [
    ("COPY (SELECT 42 AS x) TO 'written.csv'", "COPY writes files"),
    ("COPY (SELECT 42 AS x) TO '{outside}/written.csv' (FORMAT csv)", "COPY writes files"),
    ("EXPORT DATABASE 'exported'", "EXPORT DATABASE writes files"),
    ("ATTACH '{outside}/new.db' AS evil", "ATTACH opens or creates"),
    ("DETACH evil", "DETACH"),
    ("INSTALL httpfs", "INSTALL and LOAD"),
    ("LOAD httpfs", "INSTALL and LOAD"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("SET enable_external_access = true", "SET, RESET"),
    ("RESET allowed_directories", "SET, RESET"),
    ("CALL pragma_version()", "CALL runs procedures"),
    ("CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", "CREATE"),
    ("SELECT 1 AS y; COPY (SELECT 1) TO 'x.csv'", "holds 2 statements"),
    ("SELECT * FROM read_text('/etc/passwd')", "reads '/etc/passwd', outside"),
    ("SELECT * FROM read_csv('/etc/passwd')", "reads '/etc/passwd', outside"),
    ("SELECT * FROM read_text('{outside}/secret.txt')", "outside the project's data folders"),
    ("SELECT * FROM read_blob('data/../../secret.txt')", "outside the project's data folders"),
    ("SELECT * FROM '../secret.txt'", "outside the project's data folders"),
    ("SELECT * FROM glob('/etc/*')", "outside the project's data folders"),
    ("SELECT * FROM read_csv('https://example.com/a.csv')", "a URL"),
    # dynamic names and nested queries get past the text check; the engine refuses them
    ("SELECT * FROM read_text('/etc/' || 'passwd')", "tried to reach a file"),
    ("SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')", "tried to reach a file"),
]


@pytest.mark.parametrize(("query", "says"), ESCAPES)
def test_each_escape_is_refused_before_anything_happens(
    project: Path, query: str, says: str
) -> None:
    sql = query.format(outside=project.parent)
    with pytest.raises(DataError) as err:
        read_sql(sql, base_dir=project)
    msg = str(err.value)
    assert "\n" not in msg and says in msg and "refused" in msg, msg
    assert "the secret" not in msg and "root:" not in msg
    assert sorted(p.name for p in project.parent.iterdir()) == ["project", "secret.txt"]
    assert sorted(p.name for p in project.iterdir()) == ["data"]


@pytest.mark.parametrize(
    "query",
    [
        "COPY (SELECT 1 AS y) TO 'written.csv'",
        "ATTACH 'new.db' AS evil",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('{outside}/secret.txt')",
        "SELECT * FROM read_text('/etc/' || 'passwd')",
    ],
)
def test_validate_spec_refuses_escapes_with_exit_2(project: Path, query: str) -> None:
    code, output = _validate(project, query.format(outside=project.parent))
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "refused" in lines[0], output
    assert not (project / "written.csv").exists() and not (project / "new.db").exists()
    assert "root:" not in output and "the secret" not in output


def test_validate_spec_accepts_a_join_of_project_files(project: Path) -> None:
    query = (
        "SELECT c.id, c.x, a.region, c.y FROM read_csv('data/cases.csv') c "
        "JOIN 'data/areas.parquet' a USING (id) ORDER BY c.id"
    )
    code, output = _validate(project, query)
    assert code == 0, output
    df = read_sql(query, base_dir=project)
    assert df["region"].tolist() == list("NSEWNSEW")


def _etl_spec(folder: Path, sql: str) -> ProjectSpec:
    return ProjectSpec(
        name="p",
        sources={"cases": {"path": "data/cases.csv"}},
        transform=[{"sql": sql}],
        target="y",
        base_dir=folder,
    )


def test_etl_steps_run_in_the_sandbox(project: Path) -> None:
    ok = _etl_spec(project, "SELECT * FROM cases JOIN 'data/areas.parquet' USING (id) ORDER BY id")
    assert run_etl(ok).frame["region"].tolist() == list("NSEWNSEW")
    with pytest.raises(DataError, match=r"transform step 1 \(sql\) is refused"):
        run_etl(_etl_spec(project, "SELECT * FROM cases, read_text('/etc/passwd')"))
    with pytest.raises(DataError, match="ATTACH"):
        run_etl(_etl_spec(project, "ATTACH 'x.db'"))
    assert sorted(p.name for p in project.iterdir()) == ["data"]


def test_relative_names_come_from_the_spec_folder_not_the_working_directory(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "cwd"
    (elsewhere / "data").mkdir(parents=True)
    (elsewhere / "data" / "cases.csv").write_text("id,x,y\n99,9.9,1\n")
    monkeypatch.chdir(elsewhere)
    df = read_sql("SELECT * FROM 'data/cases.csv'", base_dir=project)
    assert df["id"].tolist() == list(range(1, 9))


def test_extra_folders_from_the_environment(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    pd.DataFrame({"id": [1], "k": [7]}).to_parquet(shared / "k.parquet")
    query = f"SELECT * FROM '{shared}/k.parquet'"
    with pytest.raises(DataError, match="outside the project's data folders"):
        read_sql(query, base_dir=project)
    monkeypatch.setenv(ALLOWED_DIRS_ENV, str(shared))
    assert read_sql(query, base_dir=project)["k"].tolist() == [7]


def test_the_configuration_is_locked(project: Path) -> None:
    folders = sql_folders(project)
    with sandbox(folders) as con:
        with pytest.raises(Exception, match="locked"):
            con.execute("SET enable_external_access = true")
        setting = con.execute("SELECT current_setting('enable_external_access')").fetchone()
        assert setting == (False,)


def test_string_literals_that_are_not_file_names_are_left_alone(project: Path) -> None:
    sql = "SELECT 'data/x.csv' AS s, * FROM json_each('{\"a\": 1}')"
    assert prepare_sql(sql, sql_folders(project)) == sql


def test_sqlite_sources_open_read_only(tmp_path: Path) -> None:
    db = tmp_path / "claims.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE claims (id INTEGER)")
        con.execute("INSERT INTO claims VALUES (1)")
    url = f"sqlite:///{db}"
    with pytest.raises(DataError, match="readonly|read-only"):
        read_sql("INSERT INTO claims VALUES (2) RETURNING id", url=url)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM claims").fetchone() == (1,)
    assert read_sql("SELECT * FROM claims", url=url)["id"].tolist() == [1]


def _postgres() -> str:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    try:
        psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=2)
    except psycopg.Error:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    return url


def test_postgres_sources_open_read_only() -> None:
    url = _postgres()
    table = "civicml_sandbox_probe"
    with psycopg.connect("host=127.0.0.1 dbname=test user=postgres", autocommit=True) as con:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"CREATE TABLE {table} (id int)")
        con.execute(f"INSERT INTO {table} VALUES (1)")
    try:
        with pytest.raises(DataError, match="read-only"):
            read_sql(f"INSERT INTO {table} VALUES (2) RETURNING id", url=url)
        sneak = f"SET TRANSACTION READ WRITE; INSERT INTO {table} VALUES (3); COMMIT; SELECT 1"
        with pytest.raises(DataError, match="multiple commands"):
            read_sql(sneak, url=url)
        assert read_sql(f"SELECT * FROM {table}", url=url)["id"].tolist() == [1]
    finally:
        with psycopg.connect("host=127.0.0.1 dbname=test user=postgres", autocommit=True) as con:
            con.execute(f"DROP TABLE IF EXISTS {table}")
