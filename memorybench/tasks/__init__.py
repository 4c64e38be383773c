"""Memory tasks: a registry from name to `TaskSpec`.

Example:
    >>> from memorybench.tasks import TASKS, get_task
    >>> sorted(TASKS)
    ['adding', 'associative_recall', 'copy', 'delayed_recall', 'digits_pixels', 'digits_rows', 'flip_flop', 'mnist_rows', 'nndl', 'parity', 'selective_copying', 'stream']
    >>> get_task("nndl").output_size
    19

A task from outside the package is one call: `register_task(spec)`; the sweep, store
and report then take it like the built-in ones.
"""

import json

from memorybench.checks import check_choice
from memorybench.registry import add_to_registry
from memorybench.tasks.adding import ADDING
from memorybench.tasks.associative_recall import ASSOCIATIVE_RECALL
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, split_seed, train_batches
from memorybench.tasks.copy_memory import COPY
from memorybench.tasks.delayed_recall import DELAYED_RECALL
from memorybench.tasks.digit_sum import NNDL, STREAM
from memorybench.tasks.flip_flop import FLIP_FLOP
from memorybench.tasks.parity import PARITY
from memorybench.tasks.selective_copying import SELECTIVE_COPYING
from memorybench.tasks.sequential_digits import DIGITS_PIXELS, DIGITS_ROWS, MNIST_ROWS

TASKS = {
    "nndl": NNDL,
    "stream": STREAM,
    "adding": ADDING,
    "copy": COPY,
    "delayed_recall": DELAYED_RECALL,
    "digits_rows": DIGITS_ROWS,
    "digits_pixels": DIGITS_PIXELS,
    "mnist_rows": MNIST_ROWS,
    # state tracking and selective recall (issue 25)
    "parity": PARITY,
    "selective_copying": SELECTIVE_COPYING,
    "associative_recall": ASSOCIATIVE_RECALL,
    "flip_flop": FLIP_FLOP,
}


def get_task(name: str, params: str | dict | None = None) -> TaskSpec:
    """The task `name`, as runs with task parameters `params` (a dict, or its JSON as in
    `tables/runs.csv`) see it: `TaskSpec.with_params`."""
    check_choice("task", name, tuple(TASKS))
    params = json.loads(params) if isinstance(params, str) else params
    return TASKS[name].with_params(**(params or {}))


def register_task(spec: TaskSpec, replace: bool = False) -> TaskSpec:
    """Add a task to the registry under `spec.name` (a lowercase identifier); returns it."""
    return add_to_registry(TASKS, spec.name, spec, "task", replace)


__all__ = [
    "TASKS",
    "Split",
    "TaskData",
    "TaskGrid",
    "TaskSpec",
    "get_task",
    "register_task",
    "split_seed",
    "train_batches",
]
