"""The package layout holds: no import cycles, the operators' path apart from the test toolchain.

Imports are read from the source with `ast`, so a new import that breaks a rule fails here
before anyone has to find out on a machine without .tools.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from harness.core.tools import ROOT

HARNESS = ROOT / "harness"
# What the operators' scripts may never load: set-up, the local cluster, test-only machinery.
NOT_FOR_OPERATORS = ("harness.toolchain", "harness.cluster", "harness.container", "harness.ipool")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in HARNESS.rglob("*.py")}


@cache
def imports(module: str) -> frozenset[str]:
    """The harness modules `module` imports (`from harness.a import b` counts a.b if a module)."""
    found = set()
    for node in ast.walk(ast.parse(modules()[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules() else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("harness"))
    return frozenset(found - {module})


def package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def closure(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(imports(module))
    return seen


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node, [node])):
            return cycle
    return None


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in modules():
        graph.setdefault(package(module), set()).update(
            package(target) for target in imports(module) if package(target) != package(module)
        )
    return graph


def test_harness_holds_packages_not_a_flat_list_of_modules():
    top_level = sorted(p.name for p in HARNESS.glob("*.py"))
    assert top_level == ["__init__.py"]


def test_no_two_packages_import_each_other_even_indirectly():
    assert find_cycle(package_graph()) is None


def test_no_module_import_cycle():
    graph = {module: set(imports(module)) for module in modules()}
    assert find_cycle(graph) is None


def test_a_cycle_would_be_found():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_core_stands_on_nothing_else_in_the_harness():
    assert package_graph()["harness.core"] == set()


def scripts() -> dict[str, str]:
    """Each script in scripts/ and the module it runs."""
    found = {}
    for script in sorted((ROOT / "scripts").iterdir()):
        # _harness is the runner; a file with a suffix (operator-rbac.yaml) is no command.
        if script.name.startswith("_") or script.suffix:
            continue
        match = re.search(r'_harness" "\$0" (harness\.\S+)', script.read_text())
        assert match, f"{script} does not run a harness module through scripts/_harness"
        found[script.name] = match.group(1)
    return found


@pytest.mark.parametrize(("script", "module"), scripts().items())
def test_each_script_runs_a_module_of_the_operators_package(script, module):
    assert module.startswith("harness.ops."), f"scripts/{script} runs {module}"


@pytest.mark.parametrize(("script", "module"), scripts().items())
def test_what_a_script_loads_needs_no_test_toolchain(script, module):
    loaded = closure(module)
    assert not [m for m in loaded if m.startswith(NOT_FOR_OPERATORS)], (
        f"scripts/{script} loads {sorted(m for m in loaded if m.startswith(NOT_FOR_OPERATORS))}"
    )


def test_the_architecture_doc_describes_every_package():
    text = (ROOT / "docs" / "architecture.md").read_text()
    described = set(re.findall(r"^### `(harness\.\w+)`", text, re.MULTILINE))
    assert described == set(package_graph()) - {"harness"}


def test_the_architecture_doc_draws_every_import_between_packages():
    text = (ROOT / "docs" / "architecture.md").read_text()
    drawn = set(re.findall(r"^\s*(\w+) +-> +(.+)$", text, re.MULTILINE))
    edges = {(a, b.strip()) for a, targets in drawn for b in targets.split(",")}
    actual = {
        (source.split(".")[1], target.split(".")[1])
        for source, targets in package_graph().items()
        for target in targets
        if "." in source
    }
    assert edges == actual


def test_each_package_imports_only_from_the_layers_below_it_as_drawn():
    text = (ROOT / "docs" / "architecture.md").read_text()
    rows = [re.split(r" {2,}", line) for line in text.splitlines() if line.startswith("layer ")]
    # "layer N", then the packages, then what they are.
    layer = {name: int(row[0].split()[1]) for row in rows for name in row[1:-1]}
    assert set(layer) == {p.split(".")[1] for p in package_graph() if "." in p}
    for source, targets in package_graph().items():
        for target in targets:
            a, b = source.split(".")[1], target.split(".")[1]
            assert layer[b] < layer[a], f"{a} (layer {layer[a]}) imports {b} (layer {layer[b]})"
