"""What the commands offer, read from the live registries once the plugins have loaded: the cells a sweep trains by
default and for `--cells all` (each spec's `group`), and the tasks it can train with their grids (each spec's
`grid`). The parsers name nothing of this, so `--help` imports no torch; the names given are checked here.

Example:
    >>> resolve_cells(["all"])
    ['srn', 'lstm', 'gru', 'indrnn', 'mingru', 'minlstm', 'lru']
    >>> offered_task("adding").grid.lengths
    (25, 50, 100)
    >>> offered_task("stream")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: argument --task: invalid choice: 'stream' (choose from 'nndl', ...); stream is a protocol of task nndl: --task nndl --protocol stream
"""

from __future__ import annotations

from memorybench.cells import cell_names, cells_in
from memorybench.tasks import TASKS, TaskSpec

DEFAULT_GROUPS = ("classic",)  # the cells a sweep compares when --cells is not given
ALL_GROUPS = ("classic", "modern")  # --cells all


def default_cells() -> list[str]:
    """The registered cells a sweep compares by default, in registration order."""
    return list(cells_in(*DEFAULT_GROUPS))


def resolve_cells(cells: list[str]) -> list[str]:
    """`--cells` as names: 'all' (alone or among names) in place of every classic and modern cell, each name once,
    each registered; else a ValueError naming the choices."""
    names = list(dict.fromkeys(n for cell in cells for n in (cells_in(*ALL_GROUPS) if cell == "all" else (cell,))))
    unknown = [cell for cell in names if cell not in cell_names()]
    if unknown:
        raise ValueError(
            f"argument --cells: invalid choice: {unknown[0]!r} (choose from {', '.join(map(repr, cell_names()))}; "
            "a plugin's cell needs its --plugin)"
        )
    return names


def offered_tasks() -> dict[str, TaskSpec]:
    """The registered tasks a command can train by name (those with a grid), in registration order."""
    return {name: spec for name, spec in TASKS.items() if spec.grid is not None}


def offered_task(name: str) -> TaskSpec:
    """The task `--task NAME` trains; else a ValueError naming the choices, and where the name may come from: a
    protocol of another task (the streaming digit sum is `--task nndl --protocol stream`), or a plugin not given."""
    tasks = offered_tasks()
    if name in tasks:
        return tasks[name]
    message = f"argument --task: invalid choice: {name!r} (choose from {', '.join(map(repr, tasks))})"
    owner = next((task for task, spec in tasks.items() if name in spec.grid.protocols), None)
    if owner:
        raise ValueError(f"{message}; {name} is a protocol of task {owner}: --task {owner} --protocol {name}")
    raise ValueError(f"{message}; a plugin's task needs its --plugin")
