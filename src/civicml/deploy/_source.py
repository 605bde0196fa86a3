"""Which civicml the image installs: this very civicml, never a guess from PyPI.

The generated Dockerfile installs the civicml that wrote it, in this order of preference:

1. a wheel passed explicitly (``--wheel dist/civicml-X-py3-none-any.whl``), copied beside the
   Dockerfile;
2. the source tree this civicml runs from (an editable or local-folder install: ``pip``'s
   ``direct_url.json`` names it), copied beside the Dockerfile as ``civicml-src/``
   (``pyproject.toml``, ``README.md`` and ``src/civicml``);
3. a wheel this civicml was installed from, when ``direct_url.json`` names one that exists;
4. otherwise the same version from the package index (``civicml==VERSION``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from civicml._errors import SpecError

__all__ = ["CivicmlSource", "civicml_source", "stage_source"]

SOURCE_DIR = "civicml-src"
WHEEL_DIR = "wheels"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".ruff_cache")


@dataclass(frozen=True)
class CivicmlSource:
    """Where the image gets civicml: ``kind`` is ``wheel``, ``source`` or ``index``."""

    kind: str
    version: str
    path: Path | None = None

    def describe(self) -> str:
        """One phrase for the Dockerfile's comment and the CLI.

        >>> CivicmlSource("index", "1.2.0").describe()
        'civicml 1.2.0 from the package index'
        """
        if self.kind == "index":
            return f"civicml {self.version} from the package index"
        return f"civicml {self.version} from the {self.kind} {self.path}"


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def _installed_from() -> tuple[str | None, Path | None]:
    """``("source", folder)`` or ``("wheel", file)`` from pip's ``direct_url.json``."""
    try:
        text = metadata.distribution("civicml").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        text = None
    if text:
        doc = json.loads(text)
        path = _local_path(str(doc.get("url", "")))
        if path is not None and "dir_info" in doc and (path / "pyproject.toml").is_file():
            return "source", path
        if path is not None and path.suffix == ".whl" and path.is_file():
            return "wheel", path
    import civicml

    here = Path(civicml.__file__).resolve().parents[2]  # src/civicml/__init__.py -> the repo
    if (here / "pyproject.toml").is_file() and (here / "src" / "civicml").is_dir():
        return "source", here
    return None, None


def civicml_source(wheel: str | Path | None = None) -> CivicmlSource:
    """The civicml the image should install (see the module docstring)."""
    from civicml import __version__

    if wheel is not None:
        path = Path(wheel)
        if not (path.is_file() and path.name.startswith("civicml-") and path.suffix == ".whl"):
            raise SpecError.build(
                "The --wheel is not a civicml wheel file",
                expected="a file named civicml-VERSION-...whl",
                got=str(wheel),
                fix="Build one with 'python -m build --wheel' and pass dist/civicml-*.whl",
            )
        version = path.name.split("-")[1]
        return CivicmlSource("wheel", version, path.resolve())
    kind, found = _installed_from()
    if kind is None:
        return CivicmlSource("index", __version__)
    return CivicmlSource(kind, __version__, found)


def stage_source(source: CivicmlSource, out: Path) -> tuple[list[str], str]:
    """Copy the wheel or source tree under ``out``; the Dockerfile's ``COPY`` lines and the
    ``pip install`` target (without extras)."""
    if source.kind == "wheel":
        assert source.path is not None
        (out / WHEEL_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy2(source.path, out / WHEEL_DIR / source.path.name)
        target = f"/opt/civicml/{source.path.name}"
        return [f"COPY {WHEEL_DIR}/{source.path.name} {target}"], target
    if source.kind == "source":
        assert source.path is not None
        dest = out / SOURCE_DIR
        if dest.exists():
            shutil.rmtree(dest)
        (dest / "src").mkdir(parents=True)
        for name in ("pyproject.toml", "README.md"):
            if (source.path / name).is_file():
                shutil.copy2(source.path / name, dest / name)
        shutil.copytree(source.path / "src" / "civicml", dest / "src" / "civicml", ignore=_IGNORE)
        return [f"COPY {SOURCE_DIR}/ /opt/civicml/"], "/opt/civicml"
    return [], f"civicml=={source.version}"
