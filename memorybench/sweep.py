"""A sweep: every cell x length x seed of one protocol, run in parallel into a store.

On the CPU each worker is a separate process with one torch thread (at these sizes
one thread per run beats two). Runs already complete in the store are skipped.

Example:
    >>> configs = plan_sweep("nndl", cells=["srn", "lstm"], lengths=[5, 10], seeds=2, quick=True)
    >>> len(configs), configs[0].steps, sorted({c.cell for c in configs})
    (8, 200, ['lstm', 'srn'])
"""
from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from .config import RunConfig, protocol_config
from .provenance import git_commit
from .store import ResultsStore
from .training import RunResult

QUICK = dict(steps=200, eval_interval=50)  # --quick: a smoke-test budget, not a measurement
# Cells whose seeds train faster as one stacked pack than one by one on a CPU: SRN and GRU
# 2.2-4.5x at 3-5 seeds; torch's fused oneDNN LSTM is as fast as a pack of 5 at L=30
# (benchmarks/README.md, training_speed.py).
CPU_PACKED_CELLS = ("srn", "gru")


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
    if result.status != "ok":
        return f"{name}  FAILED  {result.error}"
    return (
        f"{name}  test acc {result.test_accuracy:.3f}  best dev {result.best_dev_accuracy:.3f} @ step {result.best_step}"
        f"  {result.wall_time_s:.1f}s  {result.steps_per_s:.0f} steps/s"
    )


def default_pack_sizes(cells, lengths, seeds: int, device_type: str) -> dict[str, int]:
    """Runs per pack for each cell when none is asked for. On CUDA, every run of a cell
    (all its lengths and seeds, packed across lengths: the GPU needs large packs to pay);
    on the CPU, the seeds of one length for the cells in CPU_PACKED_CELLS and single runs
    for the rest.

    >>> default_pack_sizes(["srn", "lstm"], [5, 10], 3, "cpu"), default_pack_sizes(["srn", "lstm"], [5, 10], 3, "cuda")
    ({'srn': 3, 'lstm': 1}, {'srn': 6, 'lstm': 6})
    """
    if device_type == "cuda":
        return {cell: seeds * len(set(lengths)) for cell in cells}
    return {cell: seeds if cell in CPU_PACKED_CELLS else 1 for cell in cells}


def packs(configs: list[RunConfig], size: int | dict[str, int], across_lengths: bool = False) -> list[list[RunConfig]]:
    """Group configs that differ only in seed into packs of at most `size` runs (or
    `size[cell]`), keeping the configs' order. With `across_lengths`, configs that differ
    in length too share packs: in the planned sweep's order (longest length first, then
    seed) a pack holds the seeds of one length, then the next length's.

    Without it a run's pack mates are seeds of its own length only, so a sweep resumed
    after a kill (smaller packs) gives the same results bit for bit on the CPU.
    """
    varying = ("seed", "seq_len") if across_lengths else ("seed",)
    groups: dict[str, list[RunConfig]] = {}
    for config in configs:
        shared = {k: v for k, v in config.to_dict().items() if k not in varying}  # device included
        groups.setdefault(json.dumps(shared, sort_keys=True), []).append(config)
    limit = lambda group: pack_limit(size, group[0].cell)
    return [group[i : i + limit(group)] for group in groups.values() for i in range(0, len(group), limit(group))]


def pack_limit(size: int | dict[str, int], cell: str) -> int:
    """The pack size asked for `cell`: `size` itself, or `size[cell]` (1 if absent)."""
    return size if isinstance(size, int) else size.get(cell, 1)


def _init_worker() -> None:
    torch.set_num_threads(1)
    git_commit()  # provenance of the code this worker loaded


def _train_in_worker(root: str, pack: list[RunConfig], packed: bool) -> list[RunResult]:
    """A packed cell's runs train through the packed path even when one is left alone
    (a resumed sweep), so that its results do not depend on how the sweep was cut."""
    store = ResultsStore(root)
    return store.train_pack(pack) if packed else [store.train(config) for config in pack]


def run_sweep(
    store: ResultsStore,
    configs: list[RunConfig],
    workers: int = 1,
    force: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    pack_size: int | dict[str, int] = 1,
    across_lengths: bool = False,
) -> SweepOutcome:
    """Train every config not already complete in `store`; returns what was done.

    With `pack_size` > 1 (for all cells, or per cell as a dict), runs that differ only
    in seed (and, with `across_lengths`, in length) train together as packed models of
    up to that many runs (memorybench.packed_training); on the CPU each worker process
    trains one pack or run at a time.
    """
    started = time.perf_counter()
    store.remove_leftovers()
    todo = [c for c in configs if force or not store.is_complete(c, retry_failed)]
    outcome = SweepOutcome(skipped=len(configs) - len(todo))
    bar = tqdm(total=len(todo), unit="run", desc="sweep", disable=not progress or not todo, dynamic_ncols=True)

    def finished(config: RunConfig, result: RunResult) -> None:
        outcome.done.append((config, result))
        bar.write(describe(config, result)) if progress else None
        bar.update()

    try:
        jobs = [(job, pack_limit(pack_size, job[0].cell) > 1) for job in packs(todo, pack_size, across_lengths)]
        if workers <= 1:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                for job, packed in jobs:
                    for config, result in zip(job, _train_in_worker(str(store.root), job, packed)):
                        finished(config, result)
            finally:
                torch.set_num_threads(threads)
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
                pending = {pool.submit(_train_in_worker, str(store.root), job, packed): job for job, packed in jobs}
                try:
                    while pending:
                        complete, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for future in complete:
                            for config, result in zip(pending.pop(future), future.result()):
                                finished(config, result)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        bar.close()
    outcome.wall_time_s = time.perf_counter() - started
    return outcome
