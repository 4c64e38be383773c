"""What the command line has built in, listed here as pytest lists its default plugins: the commands (each a
module and function, imported only when it runs, so `--help` stays light) and the modules whose report sections
are built in (imported when a report is first built). Importing this module registers both; a plugin adds its
own commands (`memorybench.commands.register_command`) and sections (`memorybench.report.sections`) the same way.

Example:
    >>> from memorybench.commands import COMMANDS
    >>> COMMANDS["run"][0], "shift" in COMMANDS["diagnose"]
    ('memorybench.cli.run', True)
    >>> from memorybench.report.sections import SECTION_MODULES
    >>> SECTION_MODULES[0]
    'memorybench.report.horizon_section'
"""

from __future__ import annotations

from memorybench.commands import COMMANDS
from memorybench.report.sections import SECTION_MODULES

BUILTIN_COMMANDS = {
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
            "rewrite run folders as one run.json.gz each (the same values, compressed)",
        ),
    },
    "list": {
        "tasks": ("memorybench.cli.main", "list_tasks", "the registered memory tasks"),
        "cells": ("memorybench.cli.main", "list_cells", "the registered recurrent cells"),
        "protocols": ("memorybench.cli.main", "list_protocols", "the training protocols"),
    },
}

# the modules whose report sections are built in, in the order the report shows them
BUILTIN_SECTIONS = (
    "memorybench.report.horizon_section",
    "memorybench.report.tuned_section",
    "memorybench.diagnostics.explosion",
    "memorybench.diagnostics.through_time",
    "memorybench.diagnostics.memory_capacity",
    "memorybench.diagnostics.extrapolate",
    "memorybench.diagnostics.shift",
)

for _name, _entry in BUILTIN_COMMANDS.items():  # a plugin's group of the same name keeps its commands
    COMMANDS[_name] = {**_entry, **COMMANDS[_name]} if isinstance(_entry, dict) and _name in COMMANDS else _entry
SECTION_MODULES[:0] = [m for m in BUILTIN_SECTIONS if m not in SECTION_MODULES]
