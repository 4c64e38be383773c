"""The CPU packing policy before 0.2.0 against today's default, side by side on the default sweep.

    python benchmarks/packing_speed.py [--steps 1500] [--workers 2] [--repeats 2] [--sizes 6 18] [--compile]

Trains the default sweep's 54 runs (nndl, SRN/LSTM/GRU, L = 5..30, 3 seeds) at `--steps` steps
each (the protocol's 19,000 scaled down; dev every steps/4, no early stop before) into temporary
stores, alternating the two policies `--repeats` times:

- before: stacked packs of one length's 3 seeds for SRN and GRU, the LSTM one run at a time;
- today: every cell's runs across lengths, in packs of at most 32 split to balance the workers, costliest first;
- with `--sizes`: every cell's runs across lengths in packs of each size given (how the default was chosen);
- with `--compile`: today's packs through torch.compile's forward (`run_all.py --compile`), each repeat with an
  empty inductor cache, so every compile its workers do is paid.

Prints each wall time, the ratio, and whether both gave every run the same test score (they
need not: the LSTM trains fused before and stacked now, and stacked sums round differently).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import replace

from memorybench.engine.policy import default_pack_sizes
from memorybench.storage.provenance import provenance_line
from memorybench.storage.store import ResultsStore
from memorybench.sweep.plan import plan_sweep, plan_work, run_sweep

CELLS, LENGTHS, SEEDS = ["srn", "lstm", "gru"], [5, 10, 15, 20, 25, 30], 3
POLICIES = {
    "before": (dict(srn=3, lstm=1, gru=3), False),
    "today": (default_pack_sizes(CELLS, LENGTHS, SEEDS, "cpu"), True),
}
COMPILED = "today, compiled"


def timed(configs, policy: str, workers: int) -> tuple[float, dict]:
    sizes, across = POLICIES[policy]
    compiled = policy == COMPILED
    store = ResultsStore.open(tempfile.mkdtemp(prefix=f"packing-{policy.replace(' ', '-')}-"))
    if compiled:  # a cold cache: the workers, started by this sweep, compile from scratch
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")
    started = time.perf_counter()
    plan = plan_work(store, configs, pack_size=sizes, across_lengths=across, device_type="cpu", compiled=compiled)
    run_sweep(store, configs, workers=workers, progress=False, plan=plan)
    wall = time.perf_counter() - started
    runs = store.collect()[0]
    return wall, dict(zip(runs["run_id"], runs["test_score"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help="also: packs of these sizes across lengths")
    parser.add_argument("--compile", action="store_true", help="also: today's packs compiled, cold cache")
    args = parser.parse_args()
    if args.compile:
        POLICIES[COMPILED] = POLICIES["today"]
    POLICIES.update({f"packs of {n}": ({cell: n for cell in CELLS}, True) for n in args.sizes})
    configs = [
        replace(c, steps=args.steps, eval_interval=args.steps // 4)
        for c in plan_sweep("nndl", CELLS, LENGTHS, SEEDS, device="cpu")
    ]
    print(provenance_line())
    walls, scores = {p: [] for p in POLICIES}, {}
    for _ in range(args.repeats):
        for policy in POLICIES:
            wall, scores[policy] = timed(configs, policy, args.workers)
            walls[policy].append(wall)
            print(f"{policy:>15}: {wall:6.1f} s  ({len(configs)} runs x {args.steps} steps, {args.workers} workers)")
    before, today = statistics.median(walls["before"]), statistics.median(walls["today"])
    same = sum(scores["before"][k] == scores["today"][k] for k in scores["today"])
    for policy in POLICIES:
        print(
            f"{policy:>15}: median {statistics.median(walls[policy]):.1f} s, {before / statistics.median(walls[policy]):.2f}x before's speed"
        )
    print(
        f"median before {before:.1f} s, today {today:.1f} s: {before / today:.2f}x faster; "
        f"{same} of {len(configs)} runs with the same test score"
    )


if __name__ == "__main__":
    main()
