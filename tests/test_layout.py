"""The package's imports point one way: no module of ktp_gateway imports itself back, ever,
and none imports the dev stack (ktp_gateway_dev: simulators, virtual stack, demo, canary).

Every import counts, also those under `if TYPE_CHECKING:` and inside functions: a cycle hidden
there is still a knot a newcomer must untie before moving either module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ktp_gateway"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__)."""
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _known(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _imported(node: ast.AST, module: str, is_package: bool, known: dict[str, Path]) -> set[str]:
    """The package's modules one import statement names (`from pkg import submodule`: that)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = module if is_package else module.rpartition(".")[0]
        if node.level:
            base = ".".join(base.split(".")[: len(base.split(".")) - node.level + 1])
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        names = [
            f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
            for alias in node.names
        ]
    else:
        return set()
    found = (_known(name, known) for name in names if name.startswith("ktp_gateway"))
    return {target for target in found if target is not None and target != module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (the closest existing module of each name)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        graph[module] = set().union(
            *(_imported(node, module, is_package, known) for node in ast.walk(tree))
        )
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_no_import_cycle_among_the_package_modules() -> None:
    knots = cycles(import_graph())
    assert knots == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in knots)


def test_the_cycle_check_sees_a_cycle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_relative_type_checking_and_function_level_imports() -> None:
    graph = import_graph()
    assert (
        "ktp_gateway.reader.service" in graph["ktp_gateway.observability.metrics"]
    )  # TYPE_CHECKING
    assert "ktp_gateway.returns.postgres_store" in graph["ktp_gateway.returns.backends"]


def _all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_product_never_imports_the_dev_stack() -> None:
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in modules().items()
        for name in _all_imports(path)
        if name == "ktp_gateway_dev" or name.startswith("ktp_gateway_dev.")
    )
    assert offenders == []


def test_the_package_root_holds_leaves_only() -> None:
    """errors, domain types, NIK rules and the CLI entry point; everything else in a package."""
    root = {path.stem for path in PACKAGE.glob("*.py")}
    assert root == {"__init__", "cli", "domain", "errors", "nik"}
    graph = import_graph()
    leaves = {f"ktp_gateway.{name}" for name in ("domain", "errors", "nik")}
    for leaf in leaves:
        assert graph[leaf] <= leaves, f"{leaf} imports {graph[leaf] - leaves}"


# The reader stack, bottom up: each layer may import only its own and lower layers, directly or
# through any module outside the stack (a sam module reaching the reader service through a
# metrics module would still be an import pointing up).
LAYERS = (
    "ktp_gateway.reader.smartcard",  # APDUs, processors, the one pyscard module
    "ktp_gateway.sam",
    "ktp_gateway.reader.card",  # the KTP-el application
    "ktp_gateway.reader",  # pairs' users: the reader service, monitor, events
    "ktp_gateway.verification",
    "ktp_gateway.api",
)


def layer_of(module: str) -> int | None:
    """The reader-stack layer of a module (the most specific prefix), None outside the stack."""
    matches = [
        (len(prefix), index)
        for index, prefix in enumerate(LAYERS)
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1] if matches else None


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every module of the stack that reaches a module of a higher layer."""
    found = []
    for module in sorted(graph):
        own = layer_of(module)
        if own is None:
            continue
        for target in sorted(_reach(graph, module)):
            other = layer_of(target)
            if other is not None and other > own:
                found.append(f"{module} (layer {own}) reaches {target} (layer {other})")
    return found


def test_the_reader_stack_imports_point_down_only() -> None:
    upward = upward_imports(import_graph())
    assert upward == [], "\n".join(upward)


def test_the_layer_check_sees_an_import_up_through_a_module_outside_the_stack() -> None:
    graph = {
        "ktp_gateway.sam.session": {"ktp_gateway.observability.metrics"},
        "ktp_gateway.observability.metrics": {"ktp_gateway.reader.service"},
        "ktp_gateway.reader.service": set(),
    }
    assert upward_imports(graph) == [
        "ktp_gateway.sam.session (layer 1) reaches ktp_gateway.reader.service (layer 3)"
    ]


def test_public_class_names_are_unique_in_the_product() -> None:
    """One name, one meaning: a reader never has to ask which `Access` an import means."""
    seen: dict[str, list[str]] = {}
    for module, path in modules().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                seen.setdefault(node.name, []).append(module)
    twice = {name: where for name, where in seen.items() if len(where) > 1}
    assert twice == {}


# Each edge library in exactly one module: the narrow `Connection`-style interface (STYLE.md).
EDGES = {
    "smartcard": "ktp_gateway.reader.smartcard.pcsc",
    "aiohttp": "ktp_gateway.dukcapil_client.http",
    "websockets": "ktp_gateway.desks.transport",
    "serial": "ktp_gateway.reader.serial.port",
    "psycopg": "ktp_gateway.postgres.database",
}


def test_each_edge_library_is_imported_in_one_module() -> None:
    users: dict[str, set[str]] = {library: set() for library in EDGES}
    for module, path in modules().items():
        for name in _all_imports(path):
            top = name.split(".")[0]
            if top in users:
                users[top].add(module)
    assert users == {library: {module} for library, module in EDGES.items()}
