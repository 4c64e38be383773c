"""How much the memorybench trainer costs over a bare fused training loop of the same model.

    python benchmarks/trainer_overhead.py [--cell lstm] [--seq-len 30] [--steps 3000] [--repeats 5]

Both loops train the same model (nndl protocol, batch 8, one torch thread) on the same
batches for the same number of steps; the bare loop does forward, cross-entropy,
backward and Adam and nothing else, and is timed over those steps alone. The trainer
is timed over its whole run: data, model, loss accumulation, the dev evaluation every
100 steps with its gradient norm, best-dev checkpointing and the final test. They run
in ABBA order, `--repeats` times each, after a warm-up; the ratio of medians is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from memorybench.config import protocol_config
from memorybench.storage.provenance import provenance_line
from memorybench.tasks import get_task, split_seed, train_batches
from memorybench.training import model_for, train_run


def bare_loop(config, steps: int) -> float:
    task = get_task(config.task)
    data = task.make_data(config.seq_len, config.seed)
    model = model_for(config, task)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    batches = train_batches(
        data, config.batch_size, torch.Generator().manual_seed(split_seed(config.seed, "train", config.seq_len)), False
    )
    started = time.perf_counter()
    for _ in range(steps):
        batch = next(batches)
        loss = F.cross_entropy(model(batch.inputs), batch.targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm", choices=("srn", "lstm", "gru"))
    parser.add_argument("--seq-len", type=int, default=30)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=6)
    args = parser.parse_args()
    provenance = provenance_line()  # the code loaded now, before anything runs
    torch.set_num_threads(1)
    config = protocol_config(
        "nndl", cell=args.cell, seq_len=args.seq_len, steps=args.steps, device="cpu", stop_on_perfect_dev=False
    )
    bare_loop(config, 200), train_run(replace(config, steps=200))  # warm-up
    bare, trainer = [], []
    for repeat in range(args.repeats):  # ABBA order: drifts in clock speed hit both alike
        for which in ("bare", "trainer") if repeat % 2 == 0 else ("trainer", "bare"):
            if which == "bare":
                bare.append(bare_loop(config, args.steps))
            else:
                result = train_run(config)
                trainer.append(args.steps / result.wall_time_s)  # everything: data, model, evaluations
    b, t = statistics.median(bare), statistics.median(trainer)
    print(provenance)
    print(
        f"{args.cell} L={args.seq_len} batch 8, {args.steps} steps x {args.repeats}, torch {torch.__version__}, 1 thread"
    )
    print(f"bare fused loop (training steps only)    : {b:8.1f} steps/s  (runs: {', '.join(f'{v:.0f}' for v in bare)})")
    print(
        f"trainer (whole run, evaluations included): {t:8.1f} steps/s  (runs: {', '.join(f'{v:.0f}' for v in trainer)})"
    )
    print(f"trainer overhead: {100 * (b / t - 1):+.1f}% time per step (target <= +10%)")


if __name__ == "__main__":
    main()
