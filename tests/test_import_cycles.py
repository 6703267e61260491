"""No module of the five packages imports itself back through other modules, counting
imports inside functions and under `if TYPE_CHECKING` too: a lazy import that hides a loop is
still a loop (it only moves the failure from import time to the first call)."""

import ast

from tests.conftest import REPO

PACKAGES = ("sketchlab", "sketchgen", "study", "scoring", "analysis")


def _modules() -> dict[str, ast.Module]:
    modules = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = ast.parse(path.read_text())
    return modules


def _imported(tree: ast.Module, known: set[str]) -> set[str]:
    """The modules of `known` that `tree` imports anywhere in its body."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found & known


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop of `graph` (module -> modules it imports), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return path[path.index(imported) :] + [imported]
            if imported not in state and (loop := visit(imported)):
                return loop
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (loop := visit(module)):
            return loop
    return None


def test_the_import_graph_has_no_loops():
    modules = _modules()
    graph = {name: _imported(tree, set(modules)) - {name} for name, tree in modules.items()}
    assert graph["sketchgen.raster"] and graph["sketchgen.settings"]  # the graph was read
    loop = _cycle(graph)
    assert loop is None, " -> ".join(loop)


def test_a_loop_is_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
