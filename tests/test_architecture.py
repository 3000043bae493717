"""The layers of ``reclamations`` stay as documented: no import cycle, nothing reaching up.

Every module is parsed with ``ast`` (nothing is imported), so an import hidden inside a function
counts like one at the top; only ``if TYPE_CHECKING:`` blocks are skipped, they never run.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "reclamations"

# Layers that read through selectors and write through services: no ORM manager of their own.
NO_ORM_LAYERS = ("views", "forms", "templatetags")


@dataclass
class Import:
    target: str  # the module (ours or not) whose code this import runs
    names: tuple[str, ...]  # names taken from it (empty for ``import x``)
    line: int


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    imports: list[Import] = field(default_factory=list)


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_runtime(node: ast.AST):
    """Every node that can run: ``if TYPE_CHECKING:`` bodies are left out (their ``else`` kept)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.orelse:
                yield stmt
                yield from _walk_runtime(stmt)
            continue
        yield child
        yield from _walk_runtime(child)


def _load_modules() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        name, is_package = _module_name(path)
        modules[name] = Module(name, path, is_package, ast.parse(path.read_text(), filename=str(path)))
    for module in modules.values():
        package = module.name if module.is_package else module.name.rpartition(".")[0]
        for node in _walk_runtime(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    module.imports.append(Import(alias.name, (), node.lineno))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    source = f"{base}.{node.module}" if node.module else base
                else:
                    source = node.module or ""
                names = tuple(alias.name for alias in node.names)
                # ``from pkg import submodule`` runs the submodule; any other name runs pkg's __init__.
                plain = tuple(n for n in names if f"{source}.{n}" not in modules)
                for n in names:
                    if f"{source}.{n}" in modules:
                        module.imports.append(Import(f"{source}.{n}", (), node.lineno))
                if plain:
                    module.imports.append(Import(source, plain, node.lineno))
    return modules


MODULES = _load_modules()


def _graph() -> dict[str, set[str]]:
    return {
        name: {imp.target for imp in module.imports if imp.target in MODULES and imp.target != name}
        for name, module in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected groups of more than one module (Tarjan): each member is on a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _one_cycle(graph: dict[str, set[str]], group: set[str], start: str) -> list[str]:
    """A shortest path from ``start`` back to itself, so the message names a real loop."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(graph[node] & group):
            if succ == start:
                return [*paths[node], start]
            if succ not in paths:
                paths[succ] = [*paths[node], succ]
                queue.append(succ)
    return sorted(group)  # not reached: a strongly connected group always loops back


def test_modules_are_found():
    assert "reclamations.services.steps" in MODULES
    assert "reclamations.services" in MODULES and MODULES["reclamations.services"].is_package
    assert any(imp.target == "reclamations.services.steps" for imp in MODULES["reclamations.services"].imports)


def test_import_graph_has_no_cycle():
    graph = _graph()
    lines = [
        " -> ".join(_one_cycle(graph, group, start))
        for group in _cycles(graph)
        for start in sorted(group)
    ]
    assert not lines, "import cycles:\n" + "\n".join(dict.fromkeys(lines))


def test_no_module_imports_its_own_package_init():
    # A package's __init__ re-exports its submodules; a submodule taking a name from it would
    # run that __init__ half-way through, which is the cycle this forbids.
    offences = [
        f"{module.name}:{imp.line} imports {', '.join(imp.names)} from {imp.target}"
        for module in MODULES.values()
        for imp in module.imports
        if imp.names and imp.target in MODULES and MODULES[imp.target].is_package
        and module.name.startswith(imp.target + ".")
    ]
    assert not offences, "\n".join(offences)


def test_forms_do_not_import_services():
    offences = [
        f"{module.name}:{imp.line} imports {imp.target}"
        for module in MODULES.values()
        if module.name.startswith(f"{PACKAGE}.forms")
        for imp in module.imports
        if imp.target == f"{PACKAGE}.services" or imp.target.startswith(f"{PACKAGE}.services.")
    ]
    assert not offences, "forms must not call services:\n" + "\n".join(offences)


def test_no_private_name_is_imported():
    offences = [
        f"{module.name}:{imp.line} imports {name} from {imp.target}"
        for module in MODULES.values()
        for imp in module.imports
        for name in (imp.names or (imp.target.rpartition(".")[2],))
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
    ]
    assert not offences, "private names imported from another module:\n" + "\n".join(offences)


@pytest.mark.parametrize("layer", NO_ORM_LAYERS)
def test_layer_builds_no_orm_query(layer):
    offences = [
        f"{module.name}:{node.lineno} uses .objects"
        for module in MODULES.values()
        if module.name.startswith(f"{PACKAGE}.{layer}")
        for node in _walk_runtime(module.tree)
        if isinstance(node, ast.Attribute) and node.attr in ("objects", "_default_manager", "_base_manager")
    ]
    assert not offences, "reads go through selectors, writes through services:\n" + "\n".join(offences)
