"""How the default sweep's CPU packs could be cut, from measured step times: each plan's makespan and the SRN's cost.

    python benchmarks/pack_step_times.py [--steps 400] [--repeats 2] [--srn 18 12 9 6]

Measures ms per training step of every pack the plans below form (nndl, L = 5..30, 3 seeds, stacked, one torch
thread, dev every 100 steps as the protocol does), two packs at a time in two processes as a sweep's two workers
train them, `--repeats` times in turn. Then, for the LSTM and the GRU in one pack of 18 each and the SRN's 18 runs
in packs of each size in `--srn` (longest lengths first; 12 = the four longest lengths and the two shortest), it
prints each plan's makespan on 2 workers (the jobs handed out costliest first by `policy.step_cost`, each to the
worker free first, as the executors do) and the SRN's total ms per step. A plan's makespan sets the sweep's wall
time; the SRN's total sets its model-steps/s. The default plan is `policy.default_pack_sizes(..., workers=2)`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from multiprocessing import get_context

import torch

from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack
from memorybench.engine.policy import default_pack_sizes, step_cost
from memorybench.storage.provenance import provenance_line

LENGTHS, SEEDS, WORKERS = [30, 25, 20, 15, 10, 5], 3, 2  # longest first: a sweep's order


def packs(cell: str, size: int) -> list[tuple[str, tuple[int, ...]]]:
    """The packs of `size` runs a cell's 18 runs form, as (cell, the lengths of their runs)."""
    order = [n for n in LENGTHS for _ in range(SEEDS)]
    return [(cell, tuple(order[i : i + size])) for i in range(0, len(order), size)]


def ms_per_step(pack: tuple[str, tuple[int, ...]], steps: int) -> float:
    torch.set_num_threads(1)
    cell, lengths = pack
    configs = [
        protocol_config(
            "nndl", cell=cell, seq_len=n, seed=lengths[:i].count(n), steps=steps, eval_interval=100, device="cpu"
        )
        for i, n in enumerate(lengths)
    ]  # each length's seeds 0, 1, 2
    started = time.perf_counter()
    train_pack(configs, layout="stacked")
    return (time.perf_counter() - started) / steps * 1000


def makespan(jobs: list[tuple[str, tuple[int, ...]]], ms: dict) -> float:
    free = [0.0] * WORKERS
    for job in sorted(jobs, key=lambda j: step_cost(j[0], list(j[1])), reverse=True):
        free[free.index(min(free))] += ms[job]
    return max(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--srn", type=int, nargs="+", default=[18, 12, 9, 6], help="the SRN's pack sizes to try")
    args = parser.parse_args()
    fixed = packs("lstm", 18) + packs("gru", 18)
    plans = {size: fixed + packs("srn", size) for size in args.srn}
    todo = list(dict.fromkeys(job for jobs in plans.values() for job in jobs))
    print(provenance_line())
    times = {job: [] for job in todo}
    with get_context("spawn").Pool(WORKERS) as pool:
        for _ in range(args.repeats):
            for job, ms in zip(todo, pool.starmap(ms_per_step, [(job, args.steps) for job in todo])):
                times[job].append(ms)
    ms = {job: statistics.median(t) for job, t in times.items()}
    for job in todo:
        print(
            f"{job[0]:>4} pack of {len(job[1]):2} (L {max(job[1])}..{min(job[1])}): {ms[job]:6.2f} ms/step  "
            f"({', '.join(f'{t:.2f}' for t in times[job])})"
        )
    default = default_pack_sizes(["srn", "lstm", "gru"], LENGTHS, SEEDS, "cpu", workers=WORKERS)["srn"]
    for size, jobs in plans.items():
        srn = sum(ms[job] for job in jobs if job[0] == "srn")
        print(
            f"SRN in packs of {size:2}{' (default)' if size == default else '          '}: makespan {makespan(jobs, ms):6.2f} ms/step "
            f"on {WORKERS} workers, the SRN's packs {srn:5.2f} ms/step"
        )


if __name__ == "__main__":
    main()
