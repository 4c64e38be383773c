"""The Ray executor: jobs on a Ray cluster (`run_all.py --executor ray [--address HOST:PORT]`).

Each job (a pack of runs) is one Ray task that asks for the CPUs it uses (one torch
thread: 1 CPU) and, when it trains on CUDA, for a GPU, so packs land on GPU nodes of a
mixed cluster. Tasks return their runs (config, result, curves, weights) to the driver,
which alone writes the results folder: no filesystem is shared with the workers (they
need memorybench and torch installed, nothing else). At most `2 x cluster CPUs` jobs
are in flight, so a sweep of 10,000 runs is not submitted at once.

A worker process that dies mid-job (killed, out of memory, its node lost) has its job
retried once by Ray (`max_retries=1`, set explicitly); if it dies again the job's runs
come back *lost*: reported with the reason, not stored, so the next sweep trains them
without any flag. (A *failed* run is different: its training raised or diverged, and
it is stored with the error.) Other jobs go on.

Ray is an optional extra: `pip install -e ".[ray]"`.
"""
from __future__ import annotations

import os
import signal
import socket

from .engine.policy import Job
from .result import RunResult

KILL_HOOK = "MEMORYBENCH_TEST_KILL_RUN"  # tests only: a worker that would train this run id kills itself first
RETRIES = 1


class ExecutorUnavailable(Exception):
    """The executor asked for cannot run here; the message is one line for the user."""


def _run_remote(job: Job, kill_run: str | None) -> list:
    import torch

    from .executors import run_job

    if kill_run and any(config.run_id() == kill_run for config in job.configs):
        os.kill(os.getpid(), signal.SIGKILL)  # a deterministic fault: this worker dies mid-job, every attempt
    torch.set_num_threads(1)
    return run_job(job)


def lost_outputs(job: Job, reason: str) -> list:
    """The runs of a job whose worker died: status 'lost', never stored."""
    from .engine.loop import RunOutput

    return [RunOutput(config, RunResult(status="lost", error=reason, pack_size=len(job.configs))) for config in job.configs]


def check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Refuse, in one line and within `timeout_s`, a HOST:PORT where nothing listens (Ray itself
    would retry for minutes); None, 'auto' and ray:// addresses are left to Ray."""
    if address is None or address == "auto" or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ExecutorUnavailable(f"--address {address!r} is not allowed: give auto or HOST:PORT (the head's address, port 6379 by default)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ExecutorUnavailable(f"no Ray cluster answers at --address {address} ({exc.strerror or exc}); "
                                  "start one there with `ray start --head`, or give its head's HOST:PORT") from None


class RayExecutor:
    """Jobs as Ray tasks on the cluster at `address` ('auto', 'HOST:PORT'; None starts a local Ray instance)."""

    def __init__(self, workers: int = 1, address: str | None = None, gpus_per_cuda_job: float = 1.0):
        try:
            import ray
        except ImportError:
            raise ExecutorUnavailable("--executor ray needs Ray, which is not installed: pip install -e \".[ray]\"") from None
        self.ray, self.gpus_per_cuda_job = ray, gpus_per_cuda_job
        if not ray.is_initialized():
            check_reachable(address)
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ExecutorUnavailable(f"no Ray cluster at --address {address}: {str(exc).splitlines()[0]}") from None
        self.kill_run = os.environ.get(KILL_HOOK) or None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers, self.max_in_flight = cpus, 2 * cpus

    def _submit(self, job: Job):
        cuda = job.configs[0].device.startswith("cuda") or job.graphs
        task = self.ray.remote(_run_remote).options(num_cpus=1, num_gpus=self.gpus_per_cuda_job if cuda else 0,
                                                    max_retries=RETRIES, retry_exceptions=False)
        return task.remote(job, self.kill_run)

    def run(self, jobs: list[Job]):
        ray = self.ray
        waiting, pending = list(reversed(jobs)), {}
        try:
            while waiting or pending:
                while waiting and len(pending) < self.max_in_flight:
                    job = waiting.pop()
                    pending[self._submit(job)] = job
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        outputs = ray.get(ref)
                    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError,
                            ray.exceptions.OwnerDiedError) as exc:
                        reason = f"{type(exc).__name__}: the worker died, and again on its {RETRIES} retry"
                        outputs = lost_outputs(job, reason)
                    yield job, outputs
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
