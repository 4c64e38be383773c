"""The package's import contract: its parts import one another only downward, through the layers
below, and no module imports itself back; imports inside functions counted.

A cycle hides behind an import inside a function until the day it is moved to the top; this test
reads every module's imports (all of them, wherever they stand), checks each against `LAYERS`, and
fails on any cycle, naming it. Exempt: `__main__` modules.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "memorybench"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# lowest first: a part imports only parts of lower layers (and itself); parts of one layer not each other
LAYERS = [
    (
        "memorybench",
        "memorybench.checks",
        "memorybench.registry",
        "memorybench.parser",
        "memorybench.result",
        "memorybench.invocation",
        "memorybench.commands",
    ),
    ("memorybench.plugins",),  # records what each plugin registered (memorybench.registry.ADDED)
    ("memorybench.tasks", "memorybench.cells"),
    ("memorybench.models",),
    ("memorybench.config",),
    ("memorybench.storage",),  # no torch either: see test_storage_imports_no_torch
    ("memorybench.engine",),
    ("memorybench.training",),
    ("memorybench.analysis",),
    ("memorybench.sweep",),  # the horizon search's driver reads its probes through analysis
    ("memorybench.report",),
    ("memorybench.diagnostics",),
    ("memorybench.cli",),
]


def part_of(module: str) -> str:
    """The part (package or top-level module) of LAYERS that holds `module`."""
    parts = [p for layer in LAYERS for p in layer if module == p or module.startswith(p + ".")]
    return max(parts, key=len)


def layer_of(part: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if part in layer)


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports (a name imported from a package counts as that package,
    unless it is a submodule)."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                found |= {f"{target}.{a.name}" if f"{target}.{a.name}" in paths else target for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {m for m in found if m in paths and m != name}
    return {name: edges for name, edges in graph.items() if not name.endswith("__main__")}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import against LAYERS, as 'module -> module (layer i -> layer j)'."""
    bad = []
    for module, imported in sorted(graph.items()):
        for target in sorted(imported):
            a, b = part_of(module), part_of(target)
            if a != b and layer_of(b) >= layer_of(a):
                bad.append(f"{module} -> {target} (layer {layer_of(a)} -> {layer_of(b)})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm).

    >>> cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    """
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_is_read():
    graph = import_graph()
    assert (
        "memorybench.engine.loop" in graph["memorybench.engine.jobs"]
        and "memorybench.report.build" in graph["memorybench.cli.run"]
    )


def test_no_module_imports_itself_back():
    assert cycles(import_graph()) == []


def test_every_module_belongs_to_a_layer():
    assert all(part_of(module) for module in import_graph())


def test_parts_import_only_downward():
    assert upward_imports(import_graph()) == []


def test_an_upward_import_is_caught():
    graph = import_graph()
    graph["memorybench.storage.store"] = graph["memorybench.storage.store"] | {"memorybench.engine.loop"}
    assert upward_imports(graph) == ["memorybench.storage.store -> memorybench.engine.loop (layer 5 -> 6)"]


def test_storage_imports_no_torch():
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\nimport memorybench.storage.store, memorybench.storage.sharing, memorybench.storage.rundir\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, check=True)
    assert json.loads(done.stdout) == []


# Imports of the package's own modules inside functions, per module: a module may hold at most its count here, for
# the reason given. A new one elsewhere fails: hoist it, or add the module here with its reason.
HELP = "the command's parser answers first: `--help` imports no torch, pandas or matplotlib (benchmarks/help_time.py)"
FUNCTION_IMPORTS = {
    "memorybench.config": (
        4,
        "storage imports config and stays torch-free: the registries load when a config is built",
    ),
    "memorybench.cli.diagnose": (None, HELP),
    "memorybench.cli.docs": (None, HELP),
    "memorybench.cli.horizon": (None, HELP),
    "memorybench.cli.main": (None, HELP),
    "memorybench.cli.report": (None, HELP),
    "memorybench.cli.run": (None, HELP),
    "memorybench.cli.store": (None, HELP),
    "memorybench.diagnostics.explosion_command": (5, HELP),
    "memorybench.sweep.settings": (4, HELP + "; cli.run's parser reads its axes"),
}


def function_imports() -> dict[str, int]:
    """module -> how many imports of the package's own modules stand inside its functions."""
    counts = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        found = set()  # each import once, however deep its functions nest
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for inner in ast.walk(function):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("memorybench"):
                    found.add(id(inner))
                elif isinstance(inner, ast.Import) and any(a.name.startswith("memorybench") for a in inner.names):
                    found.add(id(inner))
        if found:
            counts[module_name(path)] = len(found)
    return counts


def unallowed(counts: dict[str, int], allowances: dict = FUNCTION_IMPORTS) -> dict[str, int]:
    """The modules whose function-level imports `allowances` does not allow, or allows more of than they hold
    (a stale allowance would let the next import in unexplained); None allows any number.

    >>> rules = {"memorybench.cli.run": (None, "help"), "memorybench.config": (4, "torch-free")}
    >>> unallowed({"memorybench.cli.run": 30, "memorybench.config": 4}, rules)
    {}
    >>> unallowed({"memorybench.engine.loop": 1, "memorybench.config": 3}, rules)
    {'memorybench.engine.loop': 1, 'memorybench.config': 3}
    """
    wrong = {module: count for module, count in counts.items() if module not in allowances}
    for module, (allowed, _reason) in allowances.items():
        if allowed is not None and counts.get(module, 0) != allowed:
            wrong[module] = counts.get(module, 0)
    return wrong


def test_every_function_level_import_is_allowed_for_its_reason():
    assert unallowed(function_imports()) == {}, (
        "function-level imports not as FUNCTION_IMPORTS allows: hoist them, or allow them with a reason"
    )
