"""One URL normalisation for every store, and a display form that never shows a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicml._errors import RegistryError
from civicml.storage import dialect_of, display_url, is_memory_url, normalise_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u:pw@h/db", "postgresql+psycopg://u:pw@h/db"),
        (
            "postgresql+psycopg2://u@h/db?sslmode=require",
            "postgresql+psycopg://u@h/db?sslmode=require",
        ),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite+pysqlite:///x.db", "sqlite:///x.db"),
        ("x.db", "sqlite:///x.db"),
        ("data/registry.db", "sqlite:///data/registry.db"),
        ("/srv/civicml/registry.db", "sqlite:////srv/civicml/registry.db"),
        ("  sqlite:///x.db ", "sqlite:///x.db"),
    ],
)
def test_normalise(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_a_bare_path_expands_the_home_folder() -> None:
    assert normalise_url("~/r.db") == f"sqlite:///{Path.home() / 'r.db'}"


def test_psycopg2_and_psycopg3_spellings_reach_the_same_driver() -> None:
    urls = {
        normalise_url(f"{s}://u@h/db") for s in ("postgres", "postgresql", "postgresql+psycopg2")
    }
    assert urls == {"postgresql+psycopg://u@h/db"}


@pytest.mark.parametrize("url", ["mysql://u:s3cret@h/db", "mssql+pyodbc://h/db", "", "http://x"])
def test_unsupported_urls_are_refused_without_the_password(url: str) -> None:
    with pytest.raises(RegistryError) as err:
        normalise_url(url, what="registry database", setting="--registry")
    text = str(err.value)
    assert "The registry database URL" in text and "is not supported" in text
    assert "s3cret" not in text and "--registry" in text and "postgresql://" in text


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgresql://ann:s3cret@db:5432/reg", "postgresql://ann:***@db:5432/reg"),
        ("postgres://ann:s3cret@db/reg", "postgres://ann:***@db/reg"),
        ("postgresql+psycopg2://ann:s3cret@db/reg", "postgresql+psycopg2://ann:***@db/reg"),
        ("postgresql+psycopg://ann:s3cret@db/reg", "postgresql+psycopg://ann:***@db/reg"),
        ("postgresql://ann@db/reg", "postgresql://ann@db/reg"),
        ("sqlite:///.civicml/registry.db", "sqlite:///.civicml/registry.db"),
        ("registry.db", "registry.db"),
    ],
)
def test_display_hides_the_password(given: str, shown: str) -> None:
    assert display_url(given) == shown
    assert "s3cret" not in display_url(normalise_url(given))


def test_display_of_an_unparsable_url_hides_everything_before_the_host() -> None:
    shown = display_url("weird://ann:s3cret@@db")
    assert "s3cret" not in shown and shown.startswith("weird://")


def test_memory_and_dialect() -> None:
    assert is_memory_url("sqlite://") and is_memory_url("sqlite:///:memory:")
    assert not is_memory_url("sqlite:///x.db")
    assert dialect_of(normalise_url("postgres://h/db")) == "postgresql"
    assert dialect_of("sqlite://") == "sqlite"
