"""The package's shape: no import loops, and imports follow the README's layer order.

Imports are read with `ast`, not by importing: imports inside functions count (they run
too, only later); imports under `if TYPE_CHECKING:` do not (they never run).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "assistant"
TOP_LEVEL_ALLOWED = 8  # __init__, __main__, pytest_plugin, runner, errors, events, records, + one


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _in_function(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return True
    return False


def imports_of(path: Path, name: str, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for each import of the package's own modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the module pkg.mod where there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target in known and target != name:
                found.append((target, node.lineno, _in_function(node, parents)))
    return found


def import_graph(package: Path) -> dict[str, list[tuple[str, int, bool]]]:
    paths = {module_name(p, package): p for p in package.rglob("*.py")}
    return {name: imports_of(path, name, set(paths)) for name, path in paths.items()}


def find_loop(graph: dict[str, list[tuple[str, int, bool]]]) -> list[str] | None:
    """One import loop as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, path.append(node)
        for target, _line, _lazy in graph.get(node, ()):
            # a module's package __init__ runs first anyway: importing it back is no loop
            if node.startswith(target + "."):
                continue
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (loop := visit(target)):
                return loop
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (loop := visit(node)):
            return loop
    return None


def readme_layers() -> list[list[str]]:
    """The layer order the README's layout paragraph states, top first."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^Layers, top to bottom: (.+)$", text, re.MULTILINE)
    assert match, "README.md states no 'Layers, top to bottom: ...' line"
    return [[f"assistant.{m.strip().strip('`')}" if m.strip().strip("`") != "assistant" else "assistant"
             for m in group.split(",")] for group in match.group(1).rstrip(".").split(" > ")]


def layer_of(module: str, layers: list[list[str]]) -> int | None:
    best = None
    for index, group in enumerate(layers):
        for prefix in group:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    return best[0] if best else None


# A step module declares a step (its schema, read by the playbook loader) and imports the
# code that runs it inside the step's function: only there may it reach up the layers.
def _allowed_upward(module: str, lazy: bool) -> bool:
    return lazy and module.startswith("assistant.steps.")


def layer_violations(graph, layers) -> list[str]:
    out = []
    for module, imports in sorted(graph.items()):
        mine = layer_of(module, layers)
        for target, line, lazy in imports:
            theirs = layer_of(target, layers)
            if mine is not None and theirs is not None and theirs < mine and not _allowed_upward(module, lazy):
                out.append(f"{module} (line {line}) imports {target}, a layer above it")
    return out


def test_the_package_has_no_import_loop():
    loop = find_loop(import_graph(PACKAGE))
    assert loop is None, "import loop: " + " -> ".join(loop)


def test_every_module_belongs_to_a_layer_of_the_readme():
    layers = readme_layers()
    homeless = [m for m in import_graph(PACKAGE) if layer_of(m, layers) is None]
    assert homeless == []


def test_imports_follow_the_readme_layer_order():
    assert layer_violations(import_graph(PACKAGE), readme_layers()) == []


def test_the_top_of_the_package_stays_small():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= TOP_LEVEL_ALLOWED, top


@pytest.fixture
def tiny_package(tmp_path):
    pkg = tmp_path / "assistant"
    for name, text in {
        "__init__.py": "",
        "low/__init__.py": "",
        "low/a.py": "from assistant.low import b\n",
        "low/b.py": "def f():\n    from assistant.high import c\n",
        "high/__init__.py": "",
        "high/c.py": "from assistant.low.a import x\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from assistant.low import b\n",
    }.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    return pkg


def test_the_checks_catch_a_loop_through_a_function_level_import(tiny_package):
    assert find_loop(import_graph(tiny_package)) == ["assistant.high.c", "assistant.low.a", "assistant.low.b", "assistant.high.c"]
    (tiny_package / "low" / "b.py").write_text("X = 1\n")
    assert find_loop(import_graph(tiny_package)) is None


def test_the_checks_catch_an_import_against_the_layer_order(tiny_package):
    layers = [["assistant.high"], ["assistant.low"]]
    assert layer_violations(import_graph(tiny_package), layers) == [
        "assistant.low.b (line 2) imports assistant.high.c, a layer above it"
    ]
