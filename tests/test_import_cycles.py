"""No module of the five packages imports itself back through other modules, counting
imports inside functions too: a lazy import that hides a loop is still a loop (it only moves
the failure from import time to the first call). Imports under `if TYPE_CHECKING:` are left
out: they name types for annotations and never run."""

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
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING"):
            block.body = []  # annotations only (module docstring)
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


KNOWN_CALLBACKS = {
    ("study.trial_type", "study.trial_page"),
    ("study.trial_types.confidence", "study.trial_page"),
    ("study.trial_types.naming", "study.trial_page"),
    ("study.trial_types.naming_codes", "study.design"),
}
"""The loops left, each closed by one lazy import: a trial type's page calls back into the
trial page (which dispatches to the registry of trial types), and the naming coding sheet
reads the design. Untying them means handing the page helpers and the design to the trial
type (as jsPsych hands its plugins the `jsPsych` instance) instead of importing them; until
then they are listed here, and this list can only shrink."""


def _lazy(tree: ast.Module, module: str) -> bool:
    """`tree` imports `module` only inside functions."""
    top = {
        node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.module
    } | {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    return module not in top


def test_the_import_graph_has_no_loops():
    modules = _modules()
    graph = {name: _imported(tree, set(modules)) - {name} for name, tree in modules.items()}
    assert graph["sketchgen.raster"] and graph["sketchgen.settings"]  # the graph was read
    for importer, imported in KNOWN_CALLBACKS:
        assert imported in graph[importer], f"{importer} no longer imports {imported}: drop it"
        assert _lazy(modules[importer], imported)
        graph[importer].discard(imported)
    loop = _cycle(graph)
    assert loop is None, " -> ".join(loop)


def test_a_loop_is_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
