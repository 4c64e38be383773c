"""What a tuned horizon search costs against the protocol search, on the same probes (issue 46).

    python benchmarks/tuned_cost.py [--cells srn lstm gru] [--lengths 10 20 30] [--seeds 3] [--steps 1000]

Trains, one after the other in this process and into temporary folders, the runs a search's probes at `--lengths`
need: at the protocol's recipe alone (what `memorybench horizon` trains there), then at every recipe of each cell's
grid (what `memorybench horizon --tune` trains; `recipe_grid`), each packed as a sweep packs them, on `--workers`
workers. Prints each side's runs, model-steps (steps x runs) and model-steps x length, its wall time, and the ratios.
The grid's ratio in model-steps is its size (4 recipes, 5 for the LSTM); the wall-time ratio says what packing keeps
of it: a pack holds one recipe, so the tuned side trains as many packs again per recipe.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace

from memorybench.analysis.recipes import recipe_grid
from memorybench.engine.policy import default_pack_sizes
from memorybench.storage.provenance import provenance_line
from memorybench.storage.store import ResultsStore
from memorybench.sweep.plan import plan_sweep, plan_work, run_sweep


def timed(configs, cells, lengths, seeds: int, workers: int) -> float:
    store = ResultsStore.open(tempfile.mkdtemp(prefix="tuned-cost-"))
    sizes = default_pack_sizes(cells, lengths, seeds, "cpu", workers)
    started = time.perf_counter()
    plan = plan_work(store, configs, pack_size=sizes, across_lengths=True, device_type="cpu")
    outcome = run_sweep(store, configs, workers=workers, progress=False, plan=plan)
    assert not outcome.failed, "a run failed"
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["srn", "lstm", "gru"])
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 20, 30])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    protocol = [
        replace(c, steps=args.steps, eval_interval=max(1, args.steps // 4), stop_on_perfect_dev=False)
        for c in plan_sweep("nndl", args.cells, args.lengths, args.seeds, device="cpu")
    ]
    tuned = [replace(c, **fields) for c in protocol for fields in recipe_grid(c).values()]
    print(provenance_line())
    print(f"nndl, cells {' '.join(args.cells)}, lengths {args.lengths}, {args.seeds} seeds, {args.steps} steps a run, "
          f"{args.workers} workers (no early stop)")  # fmt: skip
    sides = {}
    for name, configs in (("protocol search", protocol), ("tuned search", tuned)):
        wall = timed(configs, args.cells, args.lengths, args.seeds, args.workers)
        model_steps = sum(c.steps for c in configs)
        by_length = sum(c.steps * c.seq_len for c in configs)
        sides[name] = (len(configs), model_steps, by_length, wall)
        print(f"{name:>15}: {len(configs):4d} runs, {model_steps:,} model-steps, {by_length:,} model-steps x length, "
              f"{wall:.3f} s")  # fmt: skip
    (runs_p, steps_p, length_p, wall_p), (runs_t, steps_t, length_t, wall_t) = sides.values()
    print(f"tuned / protocol: runs {runs_t / runs_p:.2f}x, model-steps {steps_t / steps_p:.2f}x, "
          f"wall time {wall_t / wall_p:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
