"""Memory tasks: a registry from name to `TaskSpec`.

Example:
    >>> from memorybench.tasks import TASKS, get_task
    >>> sorted(TASKS)
    ['nndl', 'stream']
    >>> get_task("nndl").output_size
    19
"""
from .base import Split, TaskData, TaskSpec, check_choice, split_seed, train_batches
from .digit_sum import NNDL, STREAM

TASKS = {"nndl": NNDL, "stream": STREAM}


def get_task(name: str) -> TaskSpec:
    check_choice("task", name, tuple(TASKS))
    return TASKS[name]


__all__ = ["TASKS", "Split", "TaskData", "TaskSpec", "get_task", "split_seed", "train_batches"]
