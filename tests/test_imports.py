"""The package's import contract (`memorybench.layers`): its parts import one another only downward, and no module
imports itself back; imports inside functions counted, and modules named in strings too.

A cycle hides behind an import inside a function until the day it is moved to the top, and an upward import hides
in a string a registry imports later (`"memorybench.cli.run"`); this test reads every module's imports (all of
them, wherever they stand) and every string that names one of the package's modules, checks each against
`memorybench.layers.LAYERS`, and fails on any cycle, naming it. Exempt: `__main__` modules, and the bare name
`memorybench` in a string (the program's name in messages and provenance, not an import).
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

from memorybench.layers import layer_of, part_of

PACKAGE = Path(__file__).resolve().parent.parent / "memorybench"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(strings: bool = True) -> dict[str, set[str]]:
    """module -> the package's modules it imports (a name imported from a package counts as that package,
    unless it is a submodule), and, with `strings`, the dotted module names its string constants hold."""
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
            elif strings and isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value:
                found.add(node.value)  # a module named in a string: imported later, by whoever reads it
        graph[name] = {m for m in found if m in paths and m != name}
    return {name: edges for name, edges in graph.items() if not name.endswith("__main__")}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import against LAYERS, as 'module -> module (layer i -> layer j)'."""
    bad = []
    for module, imported in sorted(graph.items()):
        for target in sorted(imported):
            a, b = part_of(module), part_of(target)
            if a != b and layer_of(target) >= layer_of(module):
                bad.append(f"{module} -> {target} (layer {layer_of(module)} -> {layer_of(target)})")
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
    assert "memorybench.engine.loop" in graph["memorybench.engine.jobs"]
    assert "memorybench.report.build" in graph["memorybench.cli.run"]
    # named in strings: the built-in commands and sections the command line lists, the API's names
    assert "memorybench.diagnostics.shift" in graph["memorybench.cli.builtins"]
    assert "memorybench.training" in graph["memorybench"]
    assert "memorybench.diagnostics.shift" not in import_graph(strings=False)["memorybench.cli.builtins"]


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


def test_an_upward_module_named_in_a_string_is_caught(tmp_path, monkeypatch):
    """A registry below the command line that names a command's module (as memorybench.commands once did)."""
    fake = tmp_path / "memorybench"
    for path in PACKAGE.rglob("*.py"):
        (fake / path.relative_to(PACKAGE)).parent.mkdir(parents=True, exist_ok=True)
        (fake / path.relative_to(PACKAGE)).write_text(path.read_text())
    (fake / "commands.py").write_text((PACKAGE / "commands.py").read_text() + '\nRUN = "memorybench.cli.run"\n')
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert "memorybench.commands -> memorybench.cli.run (layer 0 -> 12)" in upward_imports(import_graph())


def test_the_torch_free_parts_import_no_torch():
    """Every module of the parts `memorybench.layers` marks torch-free, imported together in a fresh process."""
    modules = sorted(m for m in import_graph() if part_of(m).torch_free)
    code = f"import json, sys\nimport {', '.join(modules)}\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'torch')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, check=True)
    assert "memorybench.storage.store" in modules and "memorybench.config" in modules
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
