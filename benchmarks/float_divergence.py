"""How far float rounding alone moves a training run: packed and step-by-step executions
against torch's fused single run, step by step.

    python benchmarks/float_divergence.py [--steps 4000] [--cells gru srn] [--seq-len 10] [--seeds 3]

Every execution computes the same function in a different summation order. Each is
trained from the same seed on the same batches for `--steps` steps of the nndl
protocol; the table gives, at each step, the median and largest relative difference
of the training loss from the fused single run's, and how many runs have a
different dev accuracy. The differences start near float32 resolution (~1e-7) and,
if they grow, grow exponentially: that is the chaos of training, and no
execution, packed or not, can reproduce another's runs beyond it.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import torch

from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack
from memorybench.storage.provenance import provenance_line
from memorybench.training import train_run

REPORT_STEPS = (100, 500, 1000, 1500, 2000, 3000, 4000, 6000, 10000, 19000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--cells", nargs="+", default=["gru", "srn"], choices=("srn", "lstm", "gru"))
    parser.add_argument("--seq-len", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    provenance = provenance_line()  # the code loaded now, before anything runs
    torch.set_num_threads(1)
    curves: dict[str, list[list[dict]]] = {"transparent single run": [], "stacked pack": [], "block-diagonal pack": []}
    reference = []
    for cell in args.cells:
        configs = [
            protocol_config(
                "nndl",
                cell=cell,
                seq_len=args.seq_len,
                seed=s,
                steps=args.steps,
                eval_interval=100,
                stop_on_perfect_dev=False,
                device="cpu",
            )
            for s in range(args.seeds)
        ]
        reference += [train_run(c).curves for c in configs]
        curves["transparent single run"] += [train_run(replace(c, execution="transparent")).curves for c in configs]
        curves["stacked pack"] += [o.result.curves for o in train_pack(configs, layout="stacked")]
        curves["block-diagonal pack"] += [o.result.curves for o in train_pack(configs, layout="block")]
    steps = [s for s in REPORT_STEPS if s <= args.steps]
    print(provenance)
    print(
        f"relative train-loss difference from the fused single run; {len(reference)} runs "
        f"({', '.join(args.cells)}, L={args.seq_len}), torch {torch.__version__}"
    )
    print(f"{'execution':<24} " + " ".join(f"{s:>13}" for s in steps))
    for name, runs in curves.items():
        cells = []
        for step in steps:
            rel = [
                abs(o[step // 100 - 1]["train_loss"] / r[step // 100 - 1]["train_loss"] - 1)
                for o, r in zip(runs, reference)
            ]
            dev = sum(
                o[step // 100 - 1]["dev_score"] != r[step // 100 - 1]["dev_score"] for o, r in zip(runs, reference)
            )
            cells.append(f"{np.median(rel):.0e}/{max(rel):.0e} {dev}")
        print(f"{name:<24} " + " ".join(f"{c:>13}" for c in cells))
    print("each cell: median/max relative difference, then how many runs' dev accuracy differs")


if __name__ == "__main__":
    main()
