"""Runs this process cannot interpret: a results folder's runs whose cell or task is not registered here,
because the plugin that registered it was not given (`--plugin`). A folder is data: no command imports
code because a folder names it. Commands that read stored numbers label such runs by their stored names
and say which plugin would give the rest; commands that build models refuse, naming it, and change nothing.

The plugin is found in the folder's provenance (`store.json`: each sweep's environment records the
plugins it loaded, what each registered and the SHA-256 of the source that ran), and compared with the
file as it is now.

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame(dict(cell=["gru", "leaky"], task=["nndl", "nndl"]))
    >>> unregistered(runs).tolist(), missing_names(runs)
    ([False, True], {'cell': ['leaky'], 'task': []})
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from memorybench.analysis.experiments import EXPERIMENT_KEYS
from memorybench.cells import CELLS
from memorybench.plugins import digest
from memorybench.storage.store import ResultsStore, StoreError
from memorybench.config import AXES
from memorybench.tasks import TASKS

HELD_SECTIONS = (
    "## Experiment: ",
    "## Capacity against trainability: ",
)  # the report's sections of one experiment or study


def unregistered(runs: pd.DataFrame) -> pd.Series:
    """Per run, whether its cell or its task is not registered in this process."""
    if runs.empty:
        return pd.Series([], dtype=bool)
    return ~runs["cell"].isin(list(CELLS)) | ~runs["task"].isin(list(TASKS))


def held_back(runs: pd.DataFrame) -> pd.Series:
    """Per run, whether its experiment (or study over settings) holds a run `unregistered` here: such an experiment
    is left as the last report with its plugin wrote it, since rewriting it would drop that plugin's runs."""
    if runs.empty:
        return pd.Series([], dtype=bool)
    # what every run of one study shares (the execution differs by cell: a cell without a fused kernel runs step by step)
    shared = [key for key in EXPERIMENT_KEYS if key not in (*AXES, "execution") and key in runs]
    group = runs[shared].astype(str).agg("|".join, axis=1)
    return group.isin(set(group[unregistered(runs)]))


def kept_sections(old_report: str, rebuilt: set[str]) -> list[str]:
    r"""The experiment and study sections of an earlier report.md whose headings this build does not write, verbatim.

    >>> kept_sections("# r\n\n## Experiment: a\n\nold a\n\n## Experiment: b\n\nold b\n\n## Provenance\n", {"## Experiment: a"})
    ['## Experiment: b', '', 'old b', '']
    """
    kept, keep = [], False
    for line in old_report.splitlines():
        if line.startswith("## "):
            keep = line.startswith(HELD_SECTIONS) and line not in rebuilt
        if keep:
            kept.append(line)
    return kept


def missing_names(runs: pd.DataFrame) -> dict[str, list[str]]:
    """{'cell': [...], 'task': [...]}: the names `runs` use that are not registered here."""
    if runs.empty:
        return {"cell": [], "task": []}
    return {"cell": sorted(set(runs["cell"]) - set(CELLS)), "task": sorted(set(runs["task"]) - set(TASKS))}


def recorded_plugins(store: ResultsStore) -> list[dict]:
    """Every plugin the folder's sweeps recorded (the latest record of each), as `memorybench.plugins.record` wrote it."""
    found = {}
    for sweep in store.sweeps():
        for plugin in sweep.get("plugins", []) if isinstance(sweep, dict) else []:
            if isinstance(plugin, dict) and "plugin" in plugin:
                found[plugin["plugin"]] = plugin
    return list(found.values())


def _state(plugin: dict) -> str:
    """Whether a recorded plugin's file is as it was when the runs were trained."""
    path = plugin.get("path")
    if not path:
        return "a module"
    if not Path(path).is_file():
        return "its file is gone"
    return (
        "unchanged since"
        if digest(Path(path).read_bytes()) == plugin.get("sha256")
        else "its file has changed since the runs were trained"
    )


def plugin_note(store: ResultsStore, runs: pd.DataFrame) -> str:
    """One line: the cells and tasks of `runs` not registered here, and the plugin(s) that gave them ('' when none)."""
    names = missing_names(runs)
    if not any(names.values()):
        return ""
    what = " and ".join(f"{kind} {', '.join(map(repr, found))}" for kind, found in names.items() if found)
    givers = [
        p
        for p in recorded_plugins(store)
        if any(name in p.get("provides", {}).get(kind, []) for kind, found in names.items() for name in found)
    ]
    if not givers:
        return f"runs of {what} need the plugin that registers them, not given (store.json records none): --plugin PATH_OR_MODULE"
    named = "; ".join(f"--plugin {p.get('path') or p['plugin']} ({_state(p)})" for p in givers)
    return f"runs of {what} need their plugin, not given: {named}"


def refuse_without_plugins(store: ResultsStore, runs: pd.DataFrame | None = None, doing: str = "") -> None:
    """A StoreError (one line, the command changes nothing) when `runs` (default: the folder's) use a cell or task
    that is not registered here: what needs a model or a task's spec cannot be done without their plugin."""
    runs = store.collect()[0] if runs is None else runs
    note = plugin_note(store, runs)
    if note:
        raise StoreError(f"{store.root}: {note}; {doing or 'nothing was changed'}")
