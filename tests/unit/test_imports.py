"""The import graph of app/ and tasks/: every import at module top, no cycle, and each module
importable on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "tasks")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
}


def _imports(tree: ast.Module) -> list[tuple[ast.stmt, list[str]]]:
    """Every import statement with the project modules it names (a `from package import name`
    names the submodule when there is one)."""
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.append((node, [n for n in names if n in MODULES]))
    return found


def _where(name: str, node: ast.stmt) -> str:
    return f"{MODULES[name].relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}"


def test_every_import_is_at_module_top():
    misplaced = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        # `if __name__ == "__main__":` blocks and the like would still hide an import: only
        # statements of the module body itself count as the top.
        misplaced += [_where(name, node) for node, _ in _imports(tree) if id(node) not in top]
    assert misplaced == [], "imports inside functions, classes or blocks:\n" + "\n".join(misplaced)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {target for _, targets in _imports(tree) for target in targets} - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_app_or_tasks():
    assert _cycles(_graph()) == []


def test_features_never_import_tasks():
    """tasks/ imports features; of app/, only the entry points import tasks/."""
    reaching_up = sorted(
        name
        for name, targets in _graph().items()
        if name.startswith("app")
        and name not in ("app.asgi", "app.cli")
        and any(t == "tasks" or t.startswith("tasks.") for t in targets)
    )
    assert reaching_up == []


# Imports each module with every app.* and tasks.* module forgotten first, so each starts
# from itself (a cycle breaks only when entered at the right module); third-party modules
# stay loaded, which keeps the whole run to a few seconds.
ONE_BY_ONE = """
import importlib, json, sys, traceback
failures = {}
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("app", "tasks")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except BaseException:
        failures[name] = traceback.format_exc(limit=-3)
print(json.dumps(failures))
"""


def test_each_module_imports_alone_in_a_fresh_interpreter(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "VAR_DIR": str(tmp_path),  # app.piccolo_conf builds its engine when imported
        "PICCOLO_CONF": "app.piccolo_conf",
    }
    result = subprocess.run(
        [sys.executable, "-c", ONE_BY_ONE, json.dumps(sorted(MODULES))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n".join(f"{k}:\n{v}" for k, v in failures.items())
