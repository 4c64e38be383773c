"""How a sweep scales across CPU workers: the same runs with 1 worker, then with N.

    python benchmarks/sweep_scaling.py [--workers 2] [--steps 6000] [--runs 8]

Trains `--runs` nndl runs (LSTM and SRN, L=20, several seeds, `--steps` steps each,
no early stop) into a temporary store twice: once with one worker process, once
with `--workers`; both with one torch thread per worker. Prints both wall times and
the speed-up (target on 2 cores: >= 1.7x), and checks both produced the same results.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace

import torch

from memorybench.storage.provenance import provenance_line
from memorybench.storage.store import ResultsStore
from memorybench.sweep.plan import plan_sweep, run_sweep


def timed_sweep(configs, workers: int) -> tuple[float, dict]:
    store = ResultsStore.open(tempfile.mkdtemp(prefix=f"scaling-{workers}-"))
    started = time.perf_counter()
    run_sweep(store, configs, workers=workers, progress=False)
    wall = time.perf_counter() - started
    runs = store.collect()[0]
    return wall, dict(zip(runs["run_id"], runs["test_score"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    provenance = provenance_line()  # the code loaded now, before anything runs
    seeds = max(1, args.runs // 2)
    configs = [
        replace(c, steps=args.steps, stop_on_perfect_dev=False)
        for c in plan_sweep("nndl", ["lstm", "srn"], [20], seeds=seeds, device="cpu")
    ][: args.runs]
    serial, serial_results = timed_sweep(configs, 1)
    parallel, parallel_results = timed_sweep(configs, args.workers)
    print(provenance)
    print(
        f"{len(configs)} runs x {args.steps} steps (LSTM/SRN, L=20, batch 8), torch {torch.__version__}, {os.cpu_count()} cores"
    )
    print(f"1 worker : {serial:7.1f} s")
    print(f"{args.workers} workers: {parallel:7.1f} s")
    print(
        f"speed-up : {serial / parallel:.2f}x (target >= 1.7x on 2 cores); same results: {serial_results == parallel_results}"
    )


if __name__ == "__main__":
    main()
