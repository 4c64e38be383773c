"""One job trained where an executor runs it: a job that raises comes back as failed runs.

Example:
    >>> from memorybench.config import protocol_config
    >>> from memorybench.engine.policy import Job
    >>> bad = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, device="cpu", task_params={"colour": 1})
    >>> [o.result.status for o in run_job(Job((bad,), "single"))]
    ['failed']
"""

from __future__ import annotations

import time

from memorybench.engine.compiled import packing_label
from memorybench.engine.loop import RunOutput, train_pack
from memorybench.engine.policy import Job
from memorybench.result import RunResult


def run_job(job: Job) -> list:
    """Train one job; a job that raises comes back as failed runs carrying the error, never retried
    silently (a diverged replica is failed by the loop itself, and its pack mates go on)."""
    started = time.perf_counter()
    try:
        outputs = train_pack(list(job.configs), job.layout, job.graphs, compiled=job.compiled)
    except Exception as exc:
        where = f" (in a {job.layout} pack of {len(job.configs)})" if len(job.configs) > 1 else ""
        error = f"{type(exc).__name__}: {exc}{where}"
        outputs = [
            RunOutput(
                c,
                RunResult(
                    status="failed",
                    error=error,
                    device=c.device,
                    wall_time_s=time.perf_counter() - started,
                    pack_size=len(job.configs),
                    packing=packing_label(job.layout, job.compiled),
                ),
            )
            for c in job.configs
        ]
    for output in outputs:
        output.result.pack_note = job.note
    return outputs
