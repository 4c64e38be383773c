"""Executors: where jobs train. Each hands every finished run back to the driver, which
alone writes the results folder, so workers need no access to it.

An executor is a class with `run(jobs) -> iterator of (job, outputs)`, yielding each
job's `RunOutput`s as it finishes, in any order; `EXECUTORS` maps a name to a class
taking the number of workers. `run_job` is what every worker calls.

Example:
    >>> from memorybench.config import protocol_config
    >>> from memorybench.engine.policy import Job
    >>> job = Job((protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, device="cpu"),), "single")
    >>> [(j.layout, [o.result.status for o in outputs]) for j, outputs in SerialExecutor().run([job])]
    [('single', ['ok'])]
"""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from memorybench.engine.jobs import run_job
from memorybench.engine.policy import Job
from memorybench.plugins import LOADED, load_plugins
from memorybench.registry import add_to_registry
from memorybench.storage.provenance import git_commit
from memorybench.sweep.ray_executor import RayExecutor

BROKEN = (
    "the sweep's worker processes could not start. They are spawned and import the script that started them: a "
    'script that runs a sweep on several workers must run it under `if __name__ == "__main__":` (a worker that '
    "died of memory or a signal ends the pool the same way)"
)
PR_SET_PDEATHSIG = 1  # prctl option (Linux): a signal the kernel sends this process when its parent dies


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this process when the driver dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the driver's own shutdown still stops the workers
        pass


def _init_worker(plugins: tuple[str, ...] = ()) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it stops the workers itself
    _die_with_parent()
    import torch

    torch.set_num_threads(1)  # at these sizes one thread per run beats two
    git_commit()  # provenance of the code this worker loaded
    load_plugins(plugins)  # the driver's plugins: their cells and tasks train here too


class SerialExecutor:
    """Every job in this process, one after another, with one torch thread."""

    def __init__(self, workers: int = 1):
        self.workers = 1

    def run(self, jobs: list[Job]) -> Iterator[tuple[Job, list]]:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for job in jobs:
                yield job, run_job(job)
        finally:
            torch.set_num_threads(threads)


class LocalPoolExecutor:
    """Jobs in `workers` spawned processes on this machine, at most two per worker in flight.

    If the driver is interrupted (or anything else goes wrong in it), the workers are
    killed at once, not left to finish their jobs: what they were training is not
    stored, and the next sweep trains it again. Workers ignore Ctrl-C (the driver
    handles it) and die with the driver even when it is killed with SIGKILL (Linux).
    """

    def __init__(self, workers: int):
        self.workers = workers

    def run(self, jobs: list[Job]) -> Iterator[tuple[Job, list]]:
        waiting = list(reversed(jobs))
        with ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(tuple(LOADED),),
        ) as pool:
            pending = {}
            try:
                while waiting or pending:
                    while waiting and len(pending) < 2 * self.workers:
                        job = waiting.pop()
                        pending[pool.submit(run_job, job)] = job
                    complete, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in complete:
                        try:
                            outputs = future.result()
                        except BrokenProcessPool:
                            raise RuntimeError(BROKEN) from None
                        yield pending.pop(future), outputs
            except BaseException:
                for process in list((pool._processes or {}).values()):  # stop their jobs now, not after them
                    process.kill()
                pool.shutdown(
                    wait=True, cancel_futures=True
                )  # the killed workers are joined at once, and the pool's queues closed
                raise


def _ray(workers: int, **options):

    return RayExecutor(workers, **options)


EXECUTORS = {"serial": SerialExecutor, "local": LocalPoolExecutor, "ray": _ray}


def register_executor(name: str, factory, replace: bool = False):
    """Add an executor: `factory(workers, **options)` returns an object with `workers` and `run(jobs)`
    (see the module docstring); `memorybench run --plugin FILE --executor NAME` then uses it."""
    return add_to_registry(EXECUTORS, name, factory, "executor", replace)


def make_executor(workers: int, name: str = "local", **options):
    """An executor by name: 'local' runs in this process for one worker, else in a process pool;
    'ray' on a Ray cluster (`address=` 'auto', 'HOST:PORT', or None for a local Ray instance)."""
    if name == "local":
        return EXECUTORS["serial" if workers <= 1 else "local"](workers)
    return EXECUTORS[name](workers, **options)
