"""Training throughput: single eager runs against packed (and, on CUDA, graph-replayed) runs.

    python benchmarks/training_speed.py [--device cpu|cuda] [--cells lstm] [--seq-lens 30]
                                        [--steps 2000] [--packs 1 5 15 30]
                                        [--layouts block stacked] [--json FILE]

Every variant trains the book's model (batch 8, hidden 32, nndl data, Adam) for
`--steps` steps with one evaluation at the end, on the same device, in one process,
one after another, for each cell and length asked for (any registered cell; a pack its layout
refuses, such as a modern cell's stacked pack or a fused cell's mapped one, is named with the reason and
skipped). The figure is model-steps per
second (training steps/s times the number of models trained together); the ratios
are against the eager single run of the same cell and length. Packs use each packed layout
of `memorybench.engine.replicas.LAYOUTS`; on CUDA they are replayed from CUDA graphs
(a pack of 1 is a graphed single run), on the CPU they run eagerly.
"""

from __future__ import annotations

import argparse
import json

import torch

from memorybench.cells import CELLS
from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack
from memorybench.engine.policy import refusal
from memorybench.engine.replicas import LAYOUTS
from memorybench.storage.provenance import environment, provenance_line
from memorybench.training import train_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--cells", nargs="+", default=["lstm"], choices=sorted(CELLS))
    parser.add_argument("--seq-lens", type=int, nargs="+", default=[30])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--packs", type=int, nargs="+", default=[1, 5, 15, 30])
    packed = [name for name in LAYOUTS if name != "single"]
    parser.add_argument("--layouts", nargs="+", default=packed, choices=packed)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    env = environment()
    device = env["cuda_device"] if args.device.startswith("cuda") else env["cpu"]
    print(provenance_line())
    print(f"batch 8, hidden 32, {args.steps} steps; {device}; torch {torch.__version__}")
    print(f"{'cell':<7} {'L':>3} {'variant':<28} {'model-steps/s':>14} {'ms/model-step':>14} {'x eager single':>15}")
    rows = []
    for cell in args.cells:
        for seq_len in args.seq_lens:
            rows += measure(args, cell, seq_len)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(environment=env, args=vars(args), rows=rows), f, indent=2)


def measure(args, cell: str, seq_len: int) -> list[dict]:
    """Every variant for one cell and length; prints and returns its rows."""
    config = lambda seed: protocol_config(
        "nndl",
        cell=cell,
        seq_len=seq_len,
        seed=seed,
        steps=args.steps,
        eval_interval=args.steps,
        stop_on_perfect_dev=False,
        device=args.device,
    )
    train_run(config(0))  # warm-up: kernels, allocator, libraries
    rows = [dict(variant="eager single run", models=1, steps_per_s=train_run(config(0)).steps_per_s)]
    for layout in args.layouts:
        for size in args.packs:
            if size == 1 and args.device == "cpu":
                continue  # a pack of one on the CPU is the eager single run
            pack = [config(s) for s in range(size)]
            reason = refusal(pack, layout)
            if reason:  # a cell without torch's layout or a fused kernel (the modern cells) trains alone
                print(f"{cell:<7} {seq_len:>3} {layout} pack of {size}: not trained, {reason}", flush=True)
                continue
            result = train_pack(pack, layout, graphs=args.device.startswith("cuda"))[0].result
            kind = "graphed" if result.graphed else "eager"
            rows.append(dict(variant=f"{kind} {layout} pack of {size}", models=size, steps_per_s=result.steps_per_s))
    base = rows[0]["steps_per_s"]
    for row in rows:
        row.update(cell=cell, seq_len=seq_len, model_steps_per_s=row["steps_per_s"] * row["models"])
        row["ratio"] = row["model_steps_per_s"] / base
        print(
            f"{cell:<7} {seq_len:>3} {row['variant']:<28} {row['model_steps_per_s']:>14.0f} "
            f"{1000 / row['model_steps_per_s']:>14.3f} {row['ratio']:>15.1f}",
            flush=True,
        )
    return rows


if __name__ == "__main__":
    main()
