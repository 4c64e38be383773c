"""A sweep: every cell x length x seed of one protocol, trained by an executor into a store.

The plan is a list of configs; `memorybench.engine.policy` turns it into jobs (packs),
an executor (`memorybench.executors`: in this process, or a pool of worker processes
with one torch thread each) trains them and hands every finished run back, and this
process alone writes it into the store. Runs already complete in the store are skipped.

Example:
    >>> configs = plan_sweep("nndl", cells=["srn", "lstm"], lengths=[5, 10], seeds=2, quick=True)
    >>> len(configs), configs[0].steps, sorted({c.cell for c in configs})
    (8, 200, ['lstm', 'srn'])
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from tqdm import tqdm

from .config import RunConfig, protocol_config
from .engine.policy import plan_jobs
from .executors import make_executor
from .result import RunResult
from .store import ResultsStore

QUICK = dict(steps=200, eval_interval=50)  # --quick: a smoke-test budget, not a measurement


def plan_sweep(protocol: str, cells, lengths, seeds: int, quick: bool = False, device: str = "auto") -> list[RunConfig]:
    """The sweep's configs, ordered longest length first (the slowest runs start early)."""
    budget = QUICK if quick else {}
    return [
        protocol_config(protocol, cell=cell, seq_len=length, seed=seed, device=device, **budget)
        for length in sorted(set(lengths), reverse=True)
        for cell in cells
        for seed in range(seeds)
    ]


@dataclass
class SweepOutcome:
    done: list[tuple[RunConfig, RunResult]] = field(default_factory=list)
    skipped: int = 0
    wall_time_s: float = 0.0

    @property
    def failed(self) -> list[tuple[RunConfig, RunResult]]:
        return [(c, r) for c, r in self.done if r.status != "ok"]


def describe(config: RunConfig, result: RunResult) -> str:
    """One line for the progress display."""
    name = f"{config.cell:>4} L={config.seq_len:<3} seed={config.seed}"
    note = f"  ({result.pack_note})" if result.pack_note else ""
    if result.status != "ok":
        return f"{name}  FAILED  {result.error}{note}"
    return (
        f"{name}  test {result.metric} {result.test_score:.3f}  best dev {result.best_dev_score:.3f} @ step {result.best_step}"
        f"  {result.wall_time_s:.1f}s  {result.steps_per_s:.0f} steps/s{note}"
    )


def run_sweep(
    store: ResultsStore,
    configs: list[RunConfig],
    workers: int = 1,
    force: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    pack_size: int | dict[str, int] = 1,
    across_lengths: bool = False,
    executor=None,
) -> SweepOutcome:
    """Train every config not already complete in `store`; returns what was done.

    With `pack_size` > 1 (for all cells, or per cell as a dict), runs that differ only
    in seed (and, with `across_lengths`, in length) train together as packs of up to that
    many runs (see memorybench.engine.policy). `executor` defaults to the local one for
    `workers` processes.
    """
    from .engine.loop import resolve_device

    started = time.perf_counter()
    store.remove_leftovers()
    todo = [c for c in configs if force or not store.is_complete(c, retry_failed)]
    outcome = SweepOutcome(skipped=len(configs) - len(todo))
    device_type = resolve_device(todo[0].device).type if todo else "cpu"
    jobs = plan_jobs(todo, pack_size, across_lengths, device_type)
    executor = executor or make_executor(workers)
    bar = tqdm(total=len(todo), unit="run", desc="sweep", disable=not progress or not todo, dynamic_ncols=True)
    try:
        for _, outputs in executor.run(jobs):
            for output in outputs:
                store.place(output.config, output.result, output.state_dict)
                outcome.done.append((output.config, output.result))
                bar.write(describe(output.config, output.result)) if progress else None
                bar.update()
    finally:
        bar.close()
    outcome.wall_time_s = time.perf_counter() - started
    return outcome
