"""The commands' registry: a plain dict from a command's name to (module, function, one-line help), or from a
group's name (`diagnose`, `store`, `list`) to such a dict. `memorybench` imports a command's module only when it
runs, so `--help` stays light; a plugin adds a command (a diagnostic, say) with `register_command`, its function
given directly. This module imports nothing of the package: a plugin reaches it without torch.

Example:
    >>> def hello(argv, prog):
    ...     print(f"{prog}: hello {' '.join(argv)}")
    ...     return 0
    >>> _ = register_command(("diagnose", "hello"), hello, "say hello to a folder")
    >>> COMMANDS["diagnose"]["hello"][2]
    'say hello to a folder'
    >>> del COMMANDS["diagnose"]["hello"]
"""

from __future__ import annotations

import re
from collections.abc import Callable

# name -> (module, function, one-line help), or a group: name -> {name: (module, function, help)}.
# The function is called as function(arguments after the command's name, prog="memorybench NAME ...").
COMMANDS = {
    "run": (
        "memorybench.cli.run",
        "main",
        "train cells at every length and seed, store the runs, write the report (run_all.py)",
    ),
    "report": ("memorybench.cli.report", "main", "rebuild report.md, figures and tables of a results folder"),
    "suite": (
        "memorybench.cli.report",
        "suite",
        "one table and one figure across the tasks of several results folders",
    ),
    "horizon": (
        "memorybench.cli.horizon",
        "main",
        "search each cell's memory horizon on a task (grow, then bisect the length)",
    ),
    "docs": ("memorybench.cli.docs", "main", "rewrite the docs' results tables from the reports they name"),
    "explosion": (
        "memorybench.diagnostics.explosion_command",
        "main",
        "the NNDL book's gradient-explosion experiment (section 6.2)",
    ),
    "diagnose": {
        "through-time": ("memorybench.cli.diagnose", "through_time", "gradient norms through time of a folder's runs"),
        "memory-capacity": (
            "memorybench.cli.diagnose",
            "memory_capacity",
            "Jaeger's memory capacity of a folder's delayed-recall runs",
        ),
        "extrapolate": (
            "memorybench.cli.diagnose",
            "extrapolate",
            "score a folder's runs at lengths longer than trained",
        ),
        "shift": (
            "memorybench.cli.diagnose",
            "shift",
            "score a folder's runs on other task parameters than trained (flip-flop's sparse, dense)",
        ),
    },
    "store": {
        "rebuild": (
            "memorybench.cli.main",
            "store_rebuild",
            "write store.json anew for a folder's intact runs (recorded commands made rerunnable), then its report",
        ),
        "share": ("memorybench.cli.store", "share", "replace a folder's copies of another folder's runs by links"),
        "prune": (
            "memorybench.cli.store",
            "prune",
            "remove the checkpoints that no report section or diagnostic reads",
        ),
        "compact": (
            "memorybench.cli.store",
            "compact",
            "rewrite run folders of the four-file layout as one run.json each",
        ),
    },
    "list": {
        "tasks": ("memorybench.cli.main", "list_tasks", "the registered memory tasks"),
        "cells": ("memorybench.cli.main", "list_cells", "the registered recurrent cells"),
        "protocols": ("memorybench.cli.main", "list_protocols", "the training protocols"),
    },
}


def register_command(path: tuple[str, ...] | str, function: Callable, help: str, replace: bool = False):
    """Add `function(argv, prog) -> exit status` as `memorybench PATH...` (a name, or a group and a name:
    ("diagnose", "my-check")); lowercase letters, digits and '-'; a taken name only with `replace`. Returns it."""
    path = (path,) if isinstance(path, str) else tuple(path)
    table = COMMANDS
    for group in path[:-1]:
        table = table.setdefault(group, {})
        if not isinstance(table, dict):
            raise ValueError(f"command {group!r} is not a group of commands; a command goes in a group or at the top")
    name = path[-1]
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ValueError(f"command name {name!r} must be lowercase letters, digits and '-', like 'my-check'")
    if name in table and not replace:
        raise ValueError(f"command {' '.join(path)!r} is already registered; pass replace=True to replace it")
    table[name] = (None, function, help)
    return function
