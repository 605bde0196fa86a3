"""The hashed lock files in requirements/ agree with pyproject.toml (CI fails when they drift).

``tools/lock.sh`` writes them; ``make`` installs ``requirements/dev.lock`` with
``--require-hashes`` and ``civicml deploy generate``'s images install a serve lock.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {
    # lock file -> the extras of pyproject.toml it must cover (besides the core dependencies)
    "requirements/dev.lock": ("dev", "deep"),
    "src/civicml/deploy/locks/serve.lock": ("scale",),
    "src/civicml/deploy/locks/serve-deep.lock": ("scale", "deep"),
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def parse_lock(text: str) -> dict[str, tuple[str, int]]:
    """Package -> (pinned version, number of sha256 hashes) from a pip-compile lock."""
    pins: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in text.splitlines():
        m = _PIN.match(line)
        if m:
            current = canonicalize_name(m.group(1))
            pins[current] = (m.group(2), 0)
        elif line.startswith((" ", "\t")) and current is not None:
            found = len(_HASH.findall(line))
            version, n = pins[current]
            pins[current] = (version, n + found)
        elif line.strip() and not line.lstrip().startswith("#"):
            current = None
    return pins


def _project(root: Path) -> dict[str, list[str]]:
    doc = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {"": doc["dependencies"], **doc["optional-dependencies"]}


def _problems(lock: str, extras: tuple[str, ...], root: Path = ROOT) -> list[str]:
    pins = parse_lock((root / lock).read_text(encoding="utf-8"))
    deps = _project(root)
    problems = [f"{name} has no sha256 hash" for name, (_, n) in pins.items() if n == 0]
    for group in ("", *extras):
        for raw in deps[group]:
            req = Requirement(raw)
            name = canonicalize_name(req.name)
            where = f"pyproject.toml [{group or 'dependencies'}] {raw!r}"
            if name not in pins:
                problems.append(f"{where} is not in {lock}")
            elif not req.specifier.contains(Version(pins[name][0]), prereleases=True):
                problems.append(f"{where} does not allow the locked {name}=={pins[name][0]}")
    return problems


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_covers_pyproject_with_hashes(lock: str) -> None:
    problems = _problems(lock, LOCKS[lock])
    assert not problems, f"{lock} disagrees with pyproject.toml (run tools/lock.sh): " + "; ".join(
        problems
    )


def test_serve_locks_pin_what_dev_lock_pins() -> None:
    """A model trained in the dev environment is served with the same package versions."""
    dev = parse_lock((ROOT / "requirements" / "dev.lock").read_text(encoding="utf-8"))
    for lock in ("serve.lock", "serve-deep.lock"):
        pins = parse_lock((ROOT / "src/civicml/deploy/locks" / lock).read_text(encoding="utf-8"))
        differ = {n: (v, dev[n][0]) for n, (v, _) in pins.items() if n in dev and dev[n][0] != v}
        assert not differ, f"{lock} pins differ from dev.lock: {differ}"


def test_the_check_finds_a_drifted_lock(tmp_path: Path) -> None:
    """The check is not vacuous: a dependency raised past its pin, or a pin without a hash, fails."""
    text = (ROOT / "requirements" / "dev.lock").read_text(encoding="utf-8")
    pins = parse_lock(text)
    assert len(pins) > 50 and pins[canonicalize_name("duckdb")][1] >= 1
    (tmp_path / "requirements").mkdir()
    drifted = re.sub(r"(?m)^duckdb==\S+", "duckdb==0.1.0 \\\\", text)
    drifted = re.sub(r"(?m)^(pyyaml==\S+) \\\n(?:\s+--hash=\S+(?: \\)?\n)+", r"\1\n", drifted)
    (tmp_path / "requirements" / "dev.lock").write_text(drifted, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    problems = " ".join(_problems("requirements/dev.lock", ("dev", "deep"), tmp_path))
    assert "does not allow the locked duckdb==0.1.0" in problems
    assert "pyyaml has no sha256 hash" in problems


def test_make_installs_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements/dev.lock" in makefile
    assert "--no-deps -e ." in makefile


@pytest.mark.skipif(
    os.environ.get("CIVICML_REQUIRE_LOCKED_ENV") != "1",
    reason="checks the environment make built; CI sets CIVICML_REQUIRE_LOCKED_ENV=1",
)
def test_the_environment_is_the_lock() -> None:
    pins = parse_lock((ROOT / "requirements" / "dev.lock").read_text(encoding="utf-8"))
    wrong = {}
    for name, (version, _) in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or Version(installed) != Version(version):
            wrong[name] = (version, installed)
    assert not wrong, f"installed packages differ from requirements/dev.lock: {wrong}"
