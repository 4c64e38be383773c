"""The CPU packing policy before 0.2.0 against today's default, side by side on the default sweep.

    python benchmarks/packing_speed.py [--steps 1500] [--workers 2] [--repeats 2] [--sizes 6 18]

Trains the default sweep's 54 runs (nndl, SRN/LSTM/GRU, L = 5..30, 3 seeds) at `--steps` steps
each (the protocol's 19,000 scaled down; dev every steps/4, no early stop before) into temporary
stores, alternating the two policies `--repeats` times:

- before: stacked packs of one length's 3 seeds for SRN and GRU, the LSTM one run at a time;
- today: every cell's runs across lengths, in packs of at most 16, longest first;
- with `--sizes`: every cell's runs across lengths in packs of each size given (how the default was chosen).

Prints each wall time, the ratio, and whether both gave every run the same test score (they
need not: the LSTM trains fused before and stacked now, and stacked sums round differently).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace

from memorybench.engine.policy import default_pack_sizes
from memorybench.storage.provenance import provenance_line
from memorybench.storage.store import ResultsStore
from memorybench.sweep.plan import plan_sweep, run_sweep

CELLS, LENGTHS, SEEDS = ["srn", "lstm", "gru"], [5, 10, 15, 20, 25, 30], 3
POLICIES = {
    "before": (dict(srn=3, lstm=1, gru=3), False),
    "today": (default_pack_sizes(CELLS, LENGTHS, SEEDS, "cpu"), True),
}


def timed(configs, policy: str, workers: int) -> tuple[float, dict]:
    sizes, across = POLICIES[policy]
    store = ResultsStore.open(tempfile.mkdtemp(prefix=f"packing-{policy}-"))
    started = time.perf_counter()
    run_sweep(store, configs, workers=workers, pack_size=sizes, across_lengths=across, progress=False)
    wall = time.perf_counter() - started
    runs = store.collect()[0]
    return wall, dict(zip(runs["run_id"], runs["test_score"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help="also: packs of these sizes across lengths")
    args = parser.parse_args()
    POLICIES.update({f"packs of {n}": ({cell: n for cell in CELLS}, True) for n in args.sizes})
    configs = [replace(c, steps=args.steps, eval_interval=args.steps // 4)
               for c in plan_sweep("nndl", CELLS, LENGTHS, SEEDS, device="cpu")]
    print(provenance_line())
    walls, scores = {p: [] for p in POLICIES}, {}
    for _ in range(args.repeats):
        for policy in POLICIES:
            wall, scores[policy] = timed(configs, policy, args.workers)
            walls[policy].append(wall)
            print(f"{policy:>11}: {wall:6.1f} s  ({len(configs)} runs x {args.steps} steps, {args.workers} workers)")
    before, today = statistics.median(walls["before"]), statistics.median(walls["today"])
    same = sum(scores["before"][k] == scores["today"][k] for k in scores["today"])
    for policy in POLICIES:
        print(f"{policy:>11}: median {statistics.median(walls[policy]):.1f} s, {before / statistics.median(walls[policy]):.2f}x before's speed")
    print(f"median before {before:.1f} s, today {today:.1f} s: {before / today:.2f}x faster; "
          f"{same} of {len(configs)} runs with the same test score")


if __name__ == "__main__":
    main()
