"""The module paths before 0.2.0, kept working until 0.3.0.

Importing an old path (`from memorybench.store import ResultsStore`) gives the new module's names
with a DeprecationWarning naming the new path; `python -m OLD` (`python -m memorybench.suite ...`)
prints the new command on stderr and runs it in its place. It imports the new modules only by name, when an
old one is asked for, so it is the lowest layer of tests/test_imports.py.

Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     from memorybench.summary import score_table
    >>> score_table.__module__, str(caught[0].message)
    ('memorybench.analysis.summary', 'memorybench.summary is memorybench.analysis.summary since 0.2.0; the old path goes in 0.3.0')
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import warnings
from importlib import import_module

MODULES = {  # old path -> new module
    "memorybench.rundir": "memorybench.storage.rundir",
    "memorybench.store": "memorybench.storage.store",
    "memorybench.sharing": "memorybench.storage.sharing",
    "memorybench.provenance": "memorybench.storage.provenance",
    "memorybench.settings": "memorybench.sweep.settings",
    "memorybench.executors": "memorybench.sweep.executors",
    "memorybench.ray_executor": "memorybench.sweep.ray_executor",
    "memorybench.summary": "memorybench.analysis.summary",
    "memorybench.experiments": "memorybench.analysis.experiments",
    "memorybench.gates": "memorybench.analysis.gates",
    "memorybench.markdown": "memorybench.report.markdown",
    "memorybench.figures": "memorybench.report.figures",
    "memorybench.benchtables": "memorybench.report.benchtables",
    "memorybench.capacity": "memorybench.report.capacity",
    "memorybench.suite": "memorybench.report.suite",
    "memorybench.explosion": "memorybench.diagnostics.explosion",
    "memorybench.explosion_command": "memorybench.diagnostics.explosion_command",
    "memorybench.extrapolate": "memorybench.diagnostics.extrapolate",
    "memorybench.commands": "memorybench.cli.main",
}
PACKAGES = {  # an old module that is now a package: its names, from the module that holds them
    "memorybench.report": "memorybench.report.build",
    "memorybench.sweep": "memorybench.sweep.plan",
    "memorybench.cli": "memorybench.cli.run",
}
NAMES = {  # names that left their module's new home: (old path, name) -> module
    ("memorybench.rundir", "load_run"): "memorybench.training",
    ("memorybench.rundir", "SavedRun"): "memorybench.training",
    ("memorybench.provenance", "machine_kind"): "memorybench.engine.machine",
    ("memorybench.diagnostics.command", "Parser"): "memorybench.parser",
    ("memorybench.diagnostics.command", "OneLineParser"): "memorybench.parser",
    ("memorybench.diagnostics.command", "UsageError"): "memorybench.parser",
    ("memorybench.diagnostics.command", "positive_int"): "memorybench.parser",
    ("memorybench.diagnostics.command", "folder_path"): "memorybench.parser",
    ("memorybench.diagnostics.command", "usage_error"): "memorybench.parser",
    ("memorybench.diagnostics.command", "open_results"): "memorybench.storage.store",
}
COMMANDS = {  # old `python -m` path -> the command that replaced it
    "memorybench.report": "report",
    "memorybench.suite": "suite",
    "memorybench.sharing": "store share",
    "memorybench.explosion": "explosion",
    "memorybench.extrapolate": "diagnose extrapolate",
    "memorybench.diagnostics.through_time": "diagnose through-time",
    "memorybench.diagnostics.memory_capacity": "diagnose memory-capacity",
    "memorybench.cli": "run",
}


def old_name(old: str, name: str):
    """`name` as the old path `old` offered it, with a DeprecationWarning naming where it lives now."""
    if name.startswith("__"):  # a module attribute asked for by Python itself (inspect, pickle, doctest)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")
    module = NAMES.get((old, name)) or MODULES.get(old) or PACKAGES[old]
    value = getattr(import_module(module), "Parser" if name == "OneLineParser" else name)
    warnings.warn(f"{old} is {module} since 0.2.0; the old path goes in 0.3.0", DeprecationWarning, stacklevel=3)
    return value


def run_old_command(old: str) -> None:
    """`python -m OLD ARGS`: say the new command, then become it (`python -m memorybench COMMAND ARGS`, this
    process replaced): this module imports no command, so it sits below every part that imports it."""
    command = COMMANDS[old]
    print(
        f"note: `python -m {old}` is `memorybench {command}` since 0.2.0; the old path goes in 0.3.0",
        file=sys.stderr,
        flush=True,
    )
    os.execv(sys.executable, [sys.executable, "-m", "memorybench", *command.split(), *sys.argv[1:]])


class OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old module paths (asked last, after the real modules): a module whose names are the new module's."""

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in MODULES else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__getattr__ = lambda name, old=module.__name__: old_name(old, name)

    def get_code(self, name):  # what `python -m` runs
        return compile(
            f"from memorybench._moved import run_old_command\nrun_old_command({name!r})", f"<{name}>", "exec"
        )


def install() -> None:
    if not any(isinstance(finder, OldPaths) for finder in sys.meta_path):
        sys.meta_path.append(OldPaths())
