"""The command line is a shell (issue 43): each `cli/` module parses its flags and calls into the package, so no
function there grows past 40 lines (the work lives below it: `memorybench.sweep.session`, the sweep, the search)."""

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[2] / "memorybench" / "cli"
LIMIT = 40


def long_functions(folder: Path = CLI, limit: int = LIMIT) -> list[str]:
    """'module.function (N lines)' for every function (methods and nested ones too) longer than `limit` lines."""
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit:
                found.append(f"{path.stem}.{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    return found


def test_no_function_in_the_cli_is_longer_than_40_lines():
    assert long_functions() == []


def test_the_check_finds_a_long_function(tmp_path):
    (tmp_path / "long.py").write_text("def f():\n" + "    x = 1\n" * 41)
    assert long_functions(tmp_path) == ["long.f (42 lines)"]
