"""House rules on imports: every module has a layer, imports only downward, and in no circle.

The layers and the layer of every module are the tables of docs/design.md
(section "Layers"): this test reads them, so the document and the code cannot
drift apart. Every import counts: at the top of a module, inside a function,
and under ``if TYPE_CHECKING:`` (a type-only import still ties two modules'
designs together, and tools and readers follow it like any other). Importing
``trioapi.a.b`` from outside package ``a`` also runs ``trioapi/a/__init__.py``
first, so it counts as an import of that package too; the root package
``trioapi/__init__.py`` (the public face) is left out of that rule, or every
module would import the application.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "trioapi"
DESIGN = ROOT / "docs" / "design.md"
# Layers that must not import pydantic, even under TYPE_CHECKING.
WITHOUT_PYDANTIC = ("foundation", "server", "core")


@dataclass(frozen=True)
class Import:
    """One import statement's target inside trioapi."""

    source: str  # the importing module, dotted
    target: str  # the imported module, dotted
    line: int


@dataclass(frozen=True)
class Layers:
    """The layer order and the layer of each module, read from docs/design.md."""

    order: list[str]  # bottom to top
    of_module: dict[str, str]  # path under trioapi/ (``_routing/routes.py``) -> layer


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_path(name: str, modules: dict[str, Path]) -> str:
    """``_routing/routes.py`` for ``trioapi._routing.routes``: the name the layer table uses."""
    root = modules["trioapi"].parent
    return modules[name].relative_to(root).as_posix()


def package_modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(path, package): path for path in sorted(package.rglob("*.py"))}


def _table_rows(text: str, header: tuple[str, ...]) -> list[list[str]]:
    """The rows of the Markdown table whose header cells are ``header``."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if tuple(cells) == header:
            rows = []
            for row in lines[index + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append([cell.strip() for cell in row.strip().strip("|").split("|")])
            return rows
    raise AssertionError(
        f"docs/design.md has no table headed | {' | '.join(header)} |: the house-rule "
        "test reads the layers from it (section 'Layers')."
    )


def read_layers(text: str) -> Layers:
    order = [row[0] for row in _table_rows(text, ("layer", "what it may know"))]
    of_module: dict[str, str] = {}
    for layer, module, *_ in _table_rows(text, ("layer", "module", "its job")):
        of_module[module.strip("`")] = layer
    return Layers(order=order, of_module=of_module)


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _absolute(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = source.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import of a trioapi module in ``path``, wherever the statement stands."""
    source = next(name for name, module in modules.items() if module == path)
    found: list[Import] = []

    def add(target: str | None, line: int) -> None:
        if target is None or target == source:
            return
        found.append(Import(source, target, line))
        # Importing trioapi.a.b from outside package trioapi.a runs trioapi/a/__init__.py.
        package = target.rpartition(".")[0]
        while "." in package and not (source + ".").startswith(package + "."):
            found.append(Import(source, package, line))
            package = package.rpartition(".")[0]

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_resolve(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, source, path.name == "__init__.py")
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in modules else _resolve(base, modules), node.lineno)
    return list(dict.fromkeys(found))  # one per statement and target, in order


@functools.cache
def import_graph(package: Path = PACKAGE) -> tuple[dict[str, Path], list[Import]]:
    modules = package_modules(package)
    return modules, [item for path in modules.values() for item in imports_of(path, modules)]


def find_cycles(modules: dict[str, Path], imports: list[Import]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for item in imports:
        graph[item.source].add(item.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in sorted(graph[name]):
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return groups


def describe_cycle(group: list[str], modules: dict[str, Path], imports: list[Import]) -> str:
    """One shortest loop of ``group``, each step with the line that imports."""
    step = {}
    for item in imports:
        if item.source in group and item.target in group:
            step.setdefault((item.source, item.target), item.line)
    start = group[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier and start not in came_from:
        following = []
        for name in frontier:
            for source, target in step:
                if source == name and target not in came_from:
                    came_from[target] = source
                    following.append(target)
        frontier = following
    loop = [start]
    while len(loop) == 1 or loop[-1] != start:
        loop.append(came_from[loop[-1]])
    loop.reverse()
    ties = [
        f"{module_path(source, modules)}:{step[source, target]} imports {target}"
        for source, target in zip(loop, loop[1:], strict=False)
    ]
    return f"{len(group)} modules in a cycle, among them: " + "; ".join(ties)


def layer_problems(layers: Layers, modules: dict[str, Path], imports: list[Import]) -> list[str]:
    """Modules without a layer, rows for modules that do not exist, and wrong-way imports."""
    problems = []
    paths = {name: module_path(name, modules) for name in modules}
    for name, path in paths.items():
        if path not in layers.of_module:
            problems.append(
                f"trioapi/{path} is in no layer. Add a row `| <layer> | `{path}` | <its job> |` "
                "to the module table of docs/design.md (section 'Layers'), in the lowest "
                f"layer its imports allow: one of {', '.join(layers.order)}."
            )
    for path, layer in layers.of_module.items():
        if path not in paths.values():
            problems.append(f"docs/design.md lists `{path}`, which is not a module of trioapi/.")
        if layer not in layers.order:
            problems.append(
                f"docs/design.md puts `{path}` in layer {layer!r}, which is not a layer."
            )
    rank = {layer: position for position, layer in enumerate(layers.order)}
    for item in imports:
        source, target = paths[item.source], paths[item.target]
        source_layer = layers.of_module.get(source)
        target_layer = layers.of_module.get(target)
        if (
            source_layer in rank
            and target_layer in rank
            and rank[target_layer] > rank[source_layer]
        ):
            problems.append(
                f"trioapi/{source}:{item.line} ({source_layer}) imports {item.target} "
                f"({target_layer}), a layer above it. Move what it needs down, or pass it in."
            )
    return problems


def pydantic_imports(layers: Layers, modules: dict[str, Path]) -> list[str]:
    found = []
    for name, path in modules.items():
        if layers.of_module.get(module_path(name, modules)) not in WITHOUT_PYDANTIC:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found.extend(
                f"trioapi/{module_path(name, modules)}:{node.lineno} imports {imported}"
                for imported in names
                if re.match(r"pydantic(_core)?(\.|$)", imported)
            )
    return found


def test_every_module_has_a_layer_and_imports_only_downward():
    modules, imports = import_graph()
    assert layer_problems(read_layers(DESIGN.read_text()), modules, imports) == []


def test_no_import_cycles():
    modules, imports = import_graph()
    cycles = [describe_cycle(group, modules, imports) for group in find_cycles(modules, imports)]
    assert cycles == []


def test_the_lower_layers_know_nothing_of_pydantic():
    modules = package_modules()
    assert pydantic_imports(read_layers(DESIGN.read_text()), modules) == []


def test_the_module_table_reads_bottom_to_top():
    layers = read_layers(DESIGN.read_text())
    ranks = [layers.order.index(layer) for layer in layers.of_module.values()]
    assert ranks == sorted(ranks)


def test_the_rules_find_a_cycle_and_a_wrong_way_import(tmp_path):
    # The checks themselves, on a small package: a <-> b through a function-level
    # and a TYPE_CHECKING import, and the low module c importing the high one b.
    package = tmp_path / "trioapi"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from trioapi.sub import b\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import trioapi.a\n"
    )
    (package / "c.py").write_text("from trioapi.sub.b import thing\n")
    modules = package_modules(package)
    imports = [item for path in modules.values() for item in imports_of(path, modules)]
    assert find_cycles(modules, imports) == [["trioapi.a", "trioapi.sub.b"]]
    layers = Layers(
        order=["low", "high"],
        of_module={
            "__init__.py": "high",
            "sub/__init__.py": "high",
            "a.py": "high",
            "sub/b.py": "high",
            "c.py": "low",
        },
    )
    assert layer_problems(layers, modules, imports) == [
        "trioapi/c.py:1 (low) imports trioapi.sub.b (high), a layer above it. "
        "Move what it needs down, or pass it in.",
        "trioapi/c.py:1 (low) imports trioapi.sub (high), a layer above it. "
        "Move what it needs down, or pass it in.",
    ]
    del layers.of_module["c.py"]
    assert layer_problems(layers, modules, imports)[0].startswith("trioapi/c.py is in no layer.")
