"""Training speed of two checkouts side by side: model-steps/s of the same runs, old and new
interleaved (old, new, old, new, ...), so drifts in clock speed hit both alike.

    python benchmarks/compare_speed.py --old PATH --new . [--repeats 5] [--steps 1000]

Each measurement is a fresh process (`PYTHONPATH` = the checkout) training one case for
`--steps` steps of the nndl protocol at L=30 with one evaluation at the end, one torch
thread: an LSTM single run (the CPU default for the LSTM), and stacked packs of 3 seeds
of SRN and GRU (the CPU default for those cells). It prints, per case, the median
model-steps/s of each side, their ratio, and the range of the per-repeat ratios (the
spread a single measurement has here). Either side may be a checkout from before the
engine (`memorybench.training.train_run` / `packed_training.train_packed`) or after it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CASES = {
    "lstm single run": ("lstm", "single", 1),
    "srn stacked pack of 3": ("srn", "stacked", 3),
    "gru stacked pack of 3": ("gru", "stacked", 3),
}
MEASURE = """
import json, sys, torch
torch.set_num_threads(1)
from memorybench.config import protocol_config
cell, layout, size, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
configs = [protocol_config("nndl", cell=cell, seq_len=30, seed=s, steps=steps, eval_interval=steps, stop_on_perfect_dev=False, device="cpu")
           for s in range(size)]
try:
    from memorybench.engine.loop import train_pack
    result = train_pack(configs, layout)[0].result
except ImportError:  # a checkout from before the engine
    from memorybench.packed_training import train_packed
    from memorybench.training import train_run
    result = train_run(configs[0]) if layout == "single" else train_packed(configs, layout=layout)[0][0]
print(json.dumps(result.steps_per_s * size))
"""


def measure(checkout: Path, case: tuple, steps: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(checkout.resolve()))
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *map(str, case), str(steps)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="checkout measured first in each pair")
    parser.add_argument("--new", type=Path, default=Path("."), help="checkout measured second (default: this one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--json", help="also write every measurement to this JSON file")
    args = parser.parse_args()
    sys.path.insert(0, str(args.new.resolve()))
    from memorybench.storage.provenance import provenance_line

    print(provenance_line())
    print(
        f"old: {args.old}  new: {args.new}; {args.steps} steps at L=30, batch 8, 1 thread, {args.repeats} interleaved pairs"
    )
    print(f"{'case':<24} {'old model-steps/s':>18} {'new model-steps/s':>18} {'new/old':>8} {'pairs range':>14}")
    rows = {}
    for name, case in CASES.items():
        measure(args.new, case, 100)  # warm the file cache
        old, new = [], []
        for _ in range(args.repeats):
            old.append(measure(args.old, case, args.steps))
            new.append(measure(args.new, case, args.steps))
        ratios = [n / o for o, n in zip(old, new)]
        rows[name] = dict(old=old, new=new, ratio=statistics.median(new) / statistics.median(old), pair_ratios=ratios)
        print(
            f"{name:<24} {statistics.median(old):>18.0f} {statistics.median(new):>18.0f} {rows[name]['ratio']:>8.3f} "
            f"{min(ratios):>6.2f}-{max(ratios):.2f}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
