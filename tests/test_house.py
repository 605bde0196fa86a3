"""The house stays one house: no import cycles, no reach into another package's private module,
no function over 100 lines, no signature over 10 parameters (``tools/house_check.py``)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "house_check.py"

_spec = importlib.util.spec_from_file_location("house_check", TOOL)
assert _spec is not None and _spec.loader is not None
house_check = importlib.util.module_from_spec(_spec)
sys.modules["house_check"] = house_check
_spec.loader.exec_module(house_check)


def test_src_has_no_cycles_private_imports_or_long_functions() -> None:
    found = house_check.check(REPO / "src" / "civicml")
    assert found.modules > 100
    assert found.cycles == []
    assert found.private_imports == []
    assert found.long_functions == []
    assert found.long_signatures == []


#: What each package may import (docs/design.md, "The house"). A new arrow is a design change:
#: change the table there and here in the same commit, and say why.
MAY_IMPORT: dict[str, set[str]] = {
    "__main__": {"cli"},
    "spec": {"_errors"},
    "data": {"_errors"},
    "storage": {"_errors"},
    "asgi": {"_errors"},
    "engines": {"_errors"},
    "components": {"_errors"},
    "energy": {"_errors"},
    "deploy": {"_errors"},
    "learn": {"_errors", "data", "components", "engines"},
    "assess": {"_errors", "learn", "spec"},
    "bundle": {"_errors", "data", "components"},
    "registry": {"_errors", "bundle", "storage"},
    "tracking": {"_errors", "data", "registry", "storage"},
    "serve": {
        "_errors",
        "asgi",
        "bundle",
        "components",
        "registry",
        "storage",
        "assess",
        "bandits",
    },
    "bandits": {"_errors", "asgi", "bundle", "data", "spec", "storage"},
    "monitor": {"_errors", "bundle", "data", "registry", "serve"},
    "report": {"_errors", "assess", "bundle", "energy", "monitor"},
    "workflow": {
        "_errors",
        "assess",
        "bandits",
        "bundle",
        "data",
        "energy",
        "engines",
        "learn",
        "monitor",
        "registry",
        "report",
        "serve",
        "spec",
        "tracking",
    },
    "web": {"_errors", "asgi", "monitor", "registry", "report", "serve", "tracking"},
    "server": {"_errors", "asgi", "bundle", "registry", "storage", "tracking", "web"},
    "cli": {
        "_errors",
        "asgi",
        "bandits",
        "bundle",
        "data",
        "deploy",
        "monitor",
        "registry",
        "report",
        "serve",
        "server",
        "spec",
        "tracking",
        "web",
        "workflow",
    },
}


#: the shared foundations every package may import: the error template, private files
#: (0600/0700 whatever the umask), model scopes and terminal- and spreadsheet-safe text; they
#: import nothing but the error template
FOUNDATIONS = {"_errors", "_files", "_scopes", "_text"}


def test_each_package_imports_only_what_the_design_allows() -> None:
    found = house_check.package_imports(REPO / "src" / "civicml")
    extra = {
        pkg: sorted(set(uses) - MAY_IMPORT.get(pkg, set()) - FOUNDATIONS)
        for pkg, uses in found.items()
    }
    assert {pkg: uses for pkg, uses in extra.items() if uses} == {}
    for foundation in FOUNDATIONS:  # a foundation imports no other part of civicml but errors
        assert set(found.get(foundation) or ()) <= {"_errors"} - {foundation}, (
            foundation,
            found.get(foundation),
        )


def test_no_stage_reaches_back_up_the_flow() -> None:
    """The flow's own promises, spelled out: serving never needs learning, components need
    nothing of civicml, learning knows nothing of the registry or serving."""
    assert "learn" not in MAY_IMPORT["serve"] and "learn" not in MAY_IMPORT["bundle"]
    assert MAY_IMPORT["components"] == {"_errors"} and MAY_IMPORT["engines"] == {"_errors"}
    assert not MAY_IMPORT["learn"] & {"registry", "serve", "monitor", "workflow", "cli", "web"}


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in {"__init__.py": "", **files}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return root


def test_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/_one.py": "from pkg.a._two import g\n",
            "a/_two.py": "def g():\n    from pkg.a._one import x\n    return x\n",
        },
    )
    assert house_check.check(root).cycles == [["pkg.a._one", "pkg.a._two"]]


def test_type_checking_imports_and_init_reexports_are_not_cycles(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "a/__init__.py": "from pkg.a._one import x\n",
            "a/_one.py": "from typing import TYPE_CHECKING\nx = 1\nif TYPE_CHECKING:\n"
            "    from pkg.a._two import g\n",
            "a/_two.py": "from pkg.a import x\n",
        },
    )
    assert house_check.check(root).ok


def test_imports_by_name_count(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/_app.py": "import importlib\n\ndef f():\n"
            '    return importlib.import_module("pkg.b._x")\n',
            "a/_srv.py": 'FACTORY = "pkg.b._x:make"\nTRUSTED = "pkg.b._x.Type"\n',
            "b/__init__.py": "",
            "b/_x.py": "import pkg.a._app\n\ndef make():\n    return 1\n",
        },
    )
    found = house_check.check(root)
    assert found.private_imports == [
        "pkg.a._app -> pkg.b._x",
        "pkg.a._srv -> pkg.b._x",
        "pkg.b._x -> pkg.a._app",
    ]
    assert found.cycles == [["pkg.a._app", "pkg.b._x"]]


def test_finds_a_private_import_across_packages_only(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/_inner.py": "y = 1\n",
            "a/_sibling.py": "from pkg.a._inner import y\n",
            "b/__init__.py": "",
            "b/_user.py": "from ..a._inner import y\n",
        },
    )
    assert house_check.check(root).private_imports == ["pkg.b._user -> pkg.a._inner"]


def test_finds_long_functions_and_wide_signatures(tmp_path: Path) -> None:
    body = "\n".join(f"    v{i} = {i}" for i in range(101))
    params = ", ".join(f"p{i}" for i in range(11))
    ten = ", ".join(f"p{i}" for i in range(10))
    root = _package(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/_long.py": f'def f():\n    """Doc."""\n{body}\n',
            "a/_wide.py": f"def g(self, {ten}):\n    pass\n\ndef h({params}):\n    pass\n",
            "a/_est.py": f"class Est:\n    def __init__(self, {params}):\n        pass\n\n"
            "    def fit(self, X):\n        return self\n\n"
            f"class NotEst:\n    def __init__(self, {params}):\n        pass\n",
            "cli/__init__.py": "",
            "cli/_cmd.py": f"def command({params}):\n    pass\n",
        },
    )
    found = house_check.check(root)
    assert [x.split()[1:] for x in found.long_functions] == [["f", "101", "lines"]]
    assert sorted(
        x.split()[0].split("/")[-1].split(":")[0] + " " + x.split()[1]
        for x in found.long_signatures
    ) == ["_est.py __init__", "_wide.py h"]


def test_cli_exit_codes(tmp_path: Path) -> None:
    bad = _package(
        tmp_path,
        {"a/__init__.py": "", "a/_x.py": "import pkg.a._y\n", "a/_y.py": "import pkg.a._x\n"},
    )
    run = [sys.executable, str(TOOL)]
    out = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert out.returncode == 1 and "cycle: pkg.a._x pkg.a._y" in out.stdout
    out = subprocess.run([*run, str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert out.returncode == 2 and "not a package folder" in out.stderr


def test_json_output(tmp_path: Path) -> None:
    root = _package(tmp_path, {"a/__init__.py": ""})
    out = subprocess.run(
        [sys.executable, str(TOOL), str(root), "--json"], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout)["ok"] is True
