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

Where the jobs run: without an address, on a fresh Ray instance started here for this
sweep alone (`ray.init(address="local")`: never a `ray start` cluster already running on
this machine, whatever RAY_ADDRESS says), shut down when the command exits; with 'auto', on
the cluster RAY_ADDRESS names, else the latest `ray start` cluster on this machine; with
HOST:PORT, on the cluster whose head is there. Every attempt is bounded (a local start by
LOCAL_START_TIMEOUT_S, a join by JOIN_TIMEOUT_S): Ray itself would retry a silent or
unreachable head for over ten minutes, printing a line every few seconds; here the attempt
ends in one line (ExecutorUnavailable), and what Ray printed meanwhile is kept back.

Ray is an optional extra: `pip install -e ".[ray]"`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time

from memorybench.engine.jobs import run_job
from memorybench.engine.policy import Job
from memorybench.plugins import load_shipped, shipped
from memorybench.result import RunResult
from memorybench.engine.loop import RunOutput

KILL_HOOK = "MEMORYBENCH_TEST_KILL_RUN"  # tests only: a worker that would train this run id kills itself first
RETRIES = 1
LOCAL_START_TIMEOUT_S = 60.0  # starting a fresh local Ray instance (its GCS, raylet and workers)
JOIN_TIMEOUT_S = 30.0  # joining a running cluster ('auto' or HOST:PORT)
AUTH_HINT = (
    "the cluster refused this driver (InvalidAuthToken): the driver needs RAY_AUTH_MODE=token and the cluster's "
    "token, in RAY_AUTH_TOKEN or ~/.ray/auth_token (a copy of the head's)"
)
_RAY_LOG_LINE = re.compile(
    r"^\[[^]]*\] \S+:\d+: (.*)$"
)  # a line of Ray's C++ log: [time level pid tid] file.cc:N: message
_NOT_MAIN_THREAD = "SIGTERM handler is not set because current thread is not the main thread."


class ExecutorUnavailable(Exception):
    """The executor asked for cannot run here; the message is one line for the user."""


def _run_remote(job: Job, kill_run: str | None, plugins=()) -> list:
    import torch

    load_shipped(plugins)  # the driver's --plugin cells, tasks: this worker may be on another machine
    if kill_run and any(config.run_id() == kill_run for config in job.configs):
        os.kill(os.getpid(), signal.SIGKILL)  # a deterministic fault: this worker dies mid-job, every attempt
    torch.set_num_threads(1)
    return run_job(job)


def lost_outputs(job: Job, reason: str) -> list:
    """The runs of a job whose worker died: status 'lost', never stored."""

    return [
        RunOutput(config, RunResult(status="lost", error=reason, pack_size=len(job.configs))) for config in job.configs
    ]


def check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Refuse, in one line and within `timeout_s`, a HOST:PORT where nothing listens (Ray itself
    would retry for minutes); None, 'auto' and ray:// addresses are left to Ray."""
    if address is None or address == "auto" or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ExecutorUnavailable(
            f"--address {address!r} is not allowed: give auto or HOST:PORT (the head's address, port 6379 by default)"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ExecutorUnavailable(
            f"no Ray cluster answers at --address {address} ({exc.strerror or exc}); "
            "start one there with `ray start --head`, or give its head's HOST:PORT"
        ) from None


def connect(ray, address: str | None) -> None:
    """`ray.init` for `address` (None: a fresh local instance), within LOCAL_START_TIMEOUT_S or
    JOIN_TIMEOUT_S, or ExecutorUnavailable in one line.

    Ray's connection retries run in C++ and cannot be interrupted, so `ray.init` runs in a
    daemon thread whose outcome this one waits for. After a connection that thread waits
    while Ray is up (Ray's processes die with the thread that started them); an attempt given
    up on is left to finish (it shuts down again if it ever connects) and dies with the
    process, which nothing keeps alive (the CLI exits at once; Ray kills a local instance's
    processes when its driver exits). What Ray writes to stderr meanwhile (a warning every
    second or few while it retries) is captured: it is written out after a connection, and
    otherwise gives the error its detail (the last warning about the GCS, Ray's head process)."""
    if address is None:
        ignored = os.environ.get("RAY_ADDRESS")
        if ignored:
            print(
                f"memorybench: note: RAY_ADDRESS={ignored} is ignored without --address: a fresh local Ray instance is "
                "started (give --address auto to join the cluster RAY_ADDRESS names)",
                file=sys.stderr,
            )
        target, timeout_s, what = "local", LOCAL_START_TIMEOUT_S, "start a local Ray instance"
    else:
        target, timeout_s, what = address, JOIN_TIMEOUT_S, f"connect to the Ray cluster at --address {address}"
    outcome: dict = {}
    lock, settled = threading.Lock(), threading.Event()

    def attempt() -> None:
        try:
            ray.init(address=target, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            with lock:
                outcome.setdefault("error", exc)
            settled.set()
            return
        with lock:
            late = "abandoned" in outcome
            outcome.setdefault("connected", True)
        settled.set()
        if late:  # connected after the driver gave up waiting: nobody will use it
            ray.shutdown()
            return
        # Ray ties the processes it starts here (a local instance's GCS, raylet, dashboard) to the
        # thread that started them (PR_SET_PDEATHSIG fires when that thread ends, not the process):
        # this thread stays while Ray is up.
        while ray.is_initialized():
            time.sleep(1.0)

    with _StderrCaptured() as captured:
        thread = threading.Thread(target=attempt, name="memorybench-ray-init", daemon=True)
        thread.start()
        try:
            settled.wait(timeout_s)
        finally:  # timed out, or interrupted (Ctrl-C): nobody waits for this attempt any more
            with lock:
                outcome.setdefault("abandoned", True)
    said = captured.text
    if "connected" in outcome:
        sys.stderr.write("".join(line for line in said.splitlines(keepends=True) if line.strip() != _NOT_MAIN_THREAD))
        sys.stderr.flush()
        return
    error = outcome.get("error")
    if error is not None and not isinstance(error, Exception):
        raise error  # KeyboardInterrupt, SystemExit: not a connection failure
    if _refused_token(error, said):
        raise ExecutorUnavailable(f"could not {what}: {AUTH_HINT}")
    logged = [
        match.group(1).strip()
        for match in map(_RAY_LOG_LINE.match, said.splitlines())
        if match and ("GCS" in match.group(1) or (address or "local") in match.group(1))
    ]
    if error is None:
        raise ExecutorUnavailable(
            f"could not {what} within {timeout_s:g} s: {logged[-1] if logged else 'nothing there answered as a Ray head'}"
        )
    raise ExecutorUnavailable(
        f"could not {what}: {_first_line(error)}" + (f" (Ray's last warning: {logged[-1]})" if logged else "")
    )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _refused_token(error: BaseException | None, said: str) -> bool:
    """Whether Ray was refused for a missing or mismatched auth token (its AuthenticationError,
    raised as the cause of a plain ConnectionError, or its retries' log lines)."""
    seen = 0
    while error is not None and seen < 10:
        if type(error).__name__ == "AuthenticationError" or "InvalidAuthToken" in str(error):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return "InvalidAuthToken" in said


class _StderrCaptured:
    """File descriptor 2 into a temporary file while the block runs (Ray's C++ writes there
    directly); `text` is what was written. Where fd 2 cannot be redirected, nothing is captured."""

    def __init__(self):
        self.text, self.saved, self.file = "", None, None

    def __enter__(self):
        try:
            sys.stderr.flush()
            self.file = tempfile.TemporaryFile()
            self.saved = os.dup(2)
            os.dup2(self.file.fileno(), 2)
        except (OSError, ValueError, AttributeError):
            self._close()
        return self

    def __exit__(self, *exc_info):
        if self.saved is not None:
            try:
                sys.stderr.flush()
            except (OSError, ValueError, AttributeError):
                pass
            os.dup2(self.saved, 2)
            self.file.seek(0)
            self.text = self.file.read().decode("utf-8", errors="replace")
        self._close()
        return False

    def _close(self):
        if self.saved is not None:
            os.close(self.saved)
        if self.file is not None:
            self.file.close()
        self.saved = self.file = None


class RayExecutor:
    """Jobs as Ray tasks on the cluster at `address` ('auto', 'HOST:PORT'; None starts a fresh local Ray instance)."""

    def __init__(self, workers: int = 1, address: str | None = None, gpus_per_cuda_job: float = 1.0):
        try:
            import ray
        except ImportError:
            raise ExecutorUnavailable(
                '--executor ray needs Ray, which is not installed: pip install -e ".[ray]"'
            ) from None
        self.ray, self.gpus_per_cuda_job = ray, gpus_per_cuda_job
        if not ray.is_initialized():
            check_reachable(address)
            connect(ray, address)
        self.kill_run = os.environ.get(KILL_HOOK) or None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers, self.max_in_flight = cpus, 2 * cpus

    def _submit(self, job: Job):
        cuda = job.configs[0].device.startswith("cuda") or job.graphs
        task = self.ray.remote(_run_remote).options(
            num_cpus=1, num_gpus=self.gpus_per_cuda_job if cuda else 0, max_retries=RETRIES, retry_exceptions=False
        )
        return task.remote(job, self.kill_run, shipped())

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
                    except (
                        ray.exceptions.WorkerCrashedError,
                        ray.exceptions.NodeDiedError,
                        ray.exceptions.ObjectLostError,
                        ray.exceptions.OwnerDiedError,
                    ) as exc:
                        reason = f"{type(exc).__name__}: the worker died, and again on its {RETRIES} retry"
                        outputs = lost_outputs(job, reason)
                    yield job, outputs
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
