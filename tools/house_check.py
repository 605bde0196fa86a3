"""The house check: does the code keep the shape docs/design.md draws?

It walks every module under a package folder and reports four things:

- **cycles**: groups of modules that import each other, counting imports inside functions and
  imports by name (``importlib.import_module("civicml.x")``, a ``"civicml.x:factory"`` string);
  only imports under ``if TYPE_CHECKING:`` are exempt, and a package ``__init__`` importing its
  own children is not a cycle of the design;
- **private imports**: a module importing another package's private module
  (``civicml.cli._serve`` doing ``from civicml.serve._app import X``); import from the package,
  whose ``__init__`` re-exports what others use;
- **long functions**: functions longer than ``--max-lines`` (100), docstring excluded;
- **long signatures**: functions taking more than ``--max-params`` (10) parameters,
  ``self``/``cls`` excluded; group them in an option object. Exempt: Typer commands (``cli/``
  declares one parameter per option) and a scikit-learn estimator's ``__init__`` (a class with
  ``fit``: one keyword parameter per hyper-parameter is its contract).

Usage::

    python3 tools/house_check.py src/civicml            # exit 1 when anything is found
    python3 tools/house_check.py src/civicml --json     # the same findings as JSON

``tests/test_house.py`` runs it on ``src/civicml``, so a new cycle, private import, long function
or long signature fails the suite.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["Findings", "check", "main", "package_imports"]

#: Packages whose functions may take one parameter per command-line option.
FACES_WITH_WIDE_SIGNATURES = ("cli",)


@dataclass
class Findings:
    """What the house check found; empty lists mean the house is in order."""

    modules: int = 0
    #: package -> the other packages of the tree it imports (``civicml.X`` -> ``X``)
    packages: dict[str, list[str]] = field(default_factory=dict)
    cycles: list[list[str]] = field(default_factory=list)
    private_imports: list[str] = field(default_factory=list)
    long_functions: list[str] = field(default_factory=list)
    long_signatures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.cycles or self.private_imports or self.long_functions or self.long_signatures
        )

    def summary(self) -> str:
        return (
            f"{self.modules} modules; cycles {len(self.cycles)}; cross-package private imports "
            f"{len(self.private_imports)}; long functions {len(self.long_functions)}; "
            f"long signatures {len(self.long_signatures)}"
        )


def _module_names(root: Path) -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.parts[-1] == "__init__" else rel.parts
        mods[".".join(parts)] = p
    return mods


def _under_type_checking(parents: list[ast.AST]) -> bool:
    return any(isinstance(a, ast.If) and "TYPE_CHECKING" in ast.unparse(a.test) for a in parents)


def _import_targets(node: ast.Import | ast.ImportFrom, name: str, path: Path) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join(parts + ([node.module] if node.module else []))
    return [base] + [f"{base}.{a.name}" for a in node.names]


def _named_import(node: ast.AST, pkg: str) -> str | None:
    """The module an import *by name* reaches: ``importlib.import_module("pkg.x")``,
    ``__import__("pkg.x")``, or a ``"pkg.x:factory"`` string (the factory-path convention)."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        fn = ast.unparse(node.func)
        arg = node.args[0].value
        if fn.split(".")[-1] in ("import_module", "__import__") and isinstance(arg, str):
            return arg
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value:
        m = re.match(rf"^({re.escape(pkg)}(?:\.[A-Za-z_]\w*)*):[A-Za-z_]\w*$", node.value)
        if m:
            return m.group(1)
    return None


def _is_private_reach(importer: str, target: str) -> bool:
    src_pkg = importer.split(".")[1] if importer.count(".") >= 1 else ""
    tp = target.split(".")
    return (
        len(tp) >= 3
        and tp[1] != src_pkg
        and any(x.startswith("_") and x != "__init__" for x in tp[2:])
    )


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return 0
    return (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1


def _param_count(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return len(names) + (a.vararg is not None) + (a.kwarg is not None)


def _is_estimator_init(
    node: ast.FunctionDef | ast.AsyncFunctionDef, parents: list[ast.AST]
) -> bool:
    """``__init__`` of a scikit-learn estimator (a ``BaseEstimator`` subclass, or a class with
    ``fit``): scikit-learn's contract is one keyword
    parameter per hyper-parameter, stored as given."""
    owner = parents[-1] if parents else None
    if node.name != "__init__" or not isinstance(owner, ast.ClassDef):
        return False
    if any(ast.unparse(b).endswith("BaseEstimator") for b in owner.bases):
        return True
    return any(
        isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef)) and x.name == "fit"
        for x in owner.body
    )


def _strongly_connected(edges: dict[str, set[str]], nodes: list[str]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (deep import chains must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def check(root: Path, *, max_lines: int = 100, max_params: int = 10) -> Findings:
    """Check the package folder ``root`` (e.g. ``src/civicml``) and return the findings."""
    root = Path(root)
    mods = _module_names(root)
    found = Findings(modules=len(mods))
    edges: dict[str, set[str]] = defaultdict(set)
    packages: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_pkg = name.split(".")[1] if name.count(".") >= 1 else ""
        stack: list[tuple[ast.AST, list[ast.AST]]] = [(tree, [])]
        while stack:
            node, parents = stack.pop()
            stack.extend((ch, [*parents, node]) for ch in ast.iter_child_nodes(node))
            where = f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _body_lines(node)
                if n > max_lines:
                    found.long_functions.append(f"{where} {node.name} {n} lines")
                p = _param_count(node)
                if (
                    p > max_params
                    and top_pkg not in FACES_WITH_WIDE_SIGNATURES
                    and not _is_estimator_init(node, parents)
                ):
                    found.long_signatures.append(f"{where} {node.name} {p} parameters")
            targets: list[str] = []
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not _under_type_checking(parents):
                targets = _import_targets(node, name, path)
            elif (named := _named_import(node, root.name)) is not None:
                targets = [named]
            if targets:
                for target in targets:
                    if target in mods and target != name:
                        edges[name].add(target)
                        if _package_of(target) not in (top_pkg, "", "__version__"):
                            packages[top_pkg].add(_package_of(target))
                        if _is_private_reach(name, target):
                            found.private_imports.append(f"{name} -> {target}")
    for comp in _strongly_connected(edges, sorted(mods)):
        comp = [c for c in comp if mods[c].name != "__init__.py"]
        if len(comp) > 1:
            found.cycles.append(comp)
    found.private_imports = sorted(set(found.private_imports))
    found.packages = {k: sorted(v) for k, v in sorted(packages.items())}
    return found


def package_imports(root: Path) -> dict[str, list[str]]:
    """Which packages of the tree each package imports (the design's arrows, measured)."""
    return check(root).packages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="package folder, e.g. src/civicml")
    parser.add_argument("--max-lines", type=int, default=100, help="longest function body")
    parser.add_argument("--max-params", type=int, default=10, help="widest signature")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--packages", action="store_true", help="also print which packages each package imports"
    )
    args = parser.parse_args(argv)
    if not (args.root / "__init__.py").is_file():
        print(
            f"house_check: {args.root} is not a package folder (no __init__.py); "
            "pass one such as src/civicml.",
            file=sys.stderr,
        )
        return 2
    found = check(args.root, max_lines=args.max_lines, max_params=args.max_params)
    if args.json:
        print(json.dumps({**asdict(found), "ok": found.ok}, indent=2))
    else:
        print(found.summary())
        for c in found.cycles:
            print("  cycle:", " ".join(c))
        for x in found.private_imports:
            print("  private:", x)
        for x in found.long_functions:
            print("  long:", x)
        for x in found.long_signatures:
            print("  wide:", x)
        if args.packages:
            for pkg, uses in found.packages.items():
                print(f"  {pkg} -> {' '.join(uses)}")
    return 0 if found.ok else 1


if __name__ == "__main__":
    sys.exit(main())
