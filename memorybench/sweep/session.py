"""One experiment session on a results folder, below the command line: where it trains (device, workers,
executor) and how it is recorded (the folder's lock, the sweep's provenance entry). `memorybench run`,
`horizon` and `explosion` each parse their flags and call in here; what they train is theirs.

Example:
    >>> import tempfile
    >>> from memorybench.storage.store import ResultsStore
    >>> machine = open_machine("cpu", workers=1)
    >>> machine.device.type, machine.workers, type(machine.executor).__name__
    ('cpu', 1, 'SerialExecutor')
    >>> store = ResultsStore.open(tempfile.mkdtemp())
    >>> with session(store, machine, ["memorybench", "run", "--quick"]) as record:
    ...     record.entry.update(runs_trained=3)
    >>> [(s["command"], s["runs_trained"], s["workers"]) for s in store.sweeps()]
    [('memorybench run --quick', 3, 1)]
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from memorybench.engine.loop import resolve_device
from memorybench.parser import UsageError
from memorybench.storage.provenance import environment, git_commit, short_commit
from memorybench.storage.store import ResultsStore
from memorybench.sweep.executors import EXECUTORS, make_executor
from memorybench.sweep.ray_executor import ExecutorUnavailable


@dataclass(frozen=True)
class Machine:
    """Where a session trains: the device, how many runs at once, and the executor that runs them."""

    device: torch.device
    workers: int
    executor: object


def open_machine(
    device: str, workers: int | None = None, executor: str = "local", address: str | None = None
) -> Machine:
    """The device (`auto` takes CUDA when present), the workers (one on CUDA, else `workers` or one per core) and the
    executor by name; a name not registered, an address without Ray, or Ray unavailable is a ValueError in one line."""
    if executor not in EXECUTORS:
        choices = ", ".join(repr(name) for name in EXECUTORS if name != "serial")
        raise ValueError(
            f"argument --executor: invalid choice: {executor!r} (choose from {choices}; a plugin's executor needs its --plugin)"
        )
    if address and executor != "ray":
        raise ValueError(f"--address {address} applies to --executor ray only")
    device = resolve_device(device)
    count = 1 if device.type == "cuda" else (workers or os.cpu_count() or 1)
    try:
        made = make_executor(count, executor, **({"address": address} if executor == "ray" else {}))
    except ExecutorUnavailable as exc:
        raise ValueError(str(exc)) from None
    return Machine(device, made.workers, made)


ALLOW_DIRTY = "MEMORYBENCH_ALLOW_DIRTY"  # set to 1: the same as --allow-dirty, for every command of a shell (the tests)


def check_clean(allow_dirty: bool = False) -> None:
    """Refuse to record runs trained by code with uncommitted changes (`git_commit` ends in '+dirty': the commit a
    run names would not reproduce it) unless `allow_dirty` or $MEMORYBENCH_ALLOW_DIRTY is 1: a UsageError in one line.

    >>> import os; os.environ[ALLOW_DIRTY] = "1"; check_clean()  # allowed: nothing raised
    """
    commit = git_commit()
    if commit.endswith("+dirty") and not (allow_dirty or os.environ.get(ALLOW_DIRTY) == "1"):
        raise UsageError(
            f"the code has uncommitted changes (commit {short_commit(commit)}): runs trained now would name a commit "
            "that does not reproduce them; commit first, or pass --allow-dirty to record them marked +dirty"
        )


class Record:
    """A session's provenance entry: the command fills `entry` (`runs_trained` and any counts it has) and calls
    `write` once its runs are stored, before its report reads the record; a stopped session is written on the way out."""

    def __init__(self, store: ResultsStore, machine: Machine, command: list[str]):
        self.store, self.machine, self.command = store, machine, command
        self.entry = {"runs_trained": 0}
        self.started = time.perf_counter()
        self.written = False

    def write(self, interrupted: bool = False, always: bool = False) -> None:
        """Record the session in the folder's store.json (once; only when it trained runs, unless `always`)."""
        if self.written or not (self.entry["runs_trained"] or always):
            return
        self.written = True
        self.store.record_sweep(
            {
                **environment(self.command),
                "device": str(self.machine.device),
                "workers": self.machine.workers,
                **self.entry,
                "interrupted": interrupted,
                "wall_time_s": round(time.perf_counter() - self.started, 1),
            }
        )


@contextmanager
def session(store: ResultsStore, machine: Machine, command: list[str]):
    """Hold `store`'s lock while the block trains and reports; yields its `Record`, written on the way out if the
    block did not write it (a stopped session's runs and wall time are recorded too)."""
    git_commit()  # provenance of the code this process loaded, before training starts
    with store.lock(shlex.join(command)):
        record = Record(store, machine, command)
        try:
            yield record
        finally:
            record.write(interrupted=sys.exc_info()[0] is not None)
