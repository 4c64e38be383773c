"""How far a training step is from the arithmetic bound, per cell at the book's size, in one run.

    python benchmarks/distance_to_bound.py [--length 30] [--steps 400] [--replicas 9]

For each cell (hidden 32, batch 8, the nndl embedding, length `--length`): the FLOPs of one training
step counted from its matmuls (forward: input and recurrent projections at every step and the head;
backward: twice the forward's), this machine's single-thread matmul rate at those shapes (the
recurrent projection (8, 32) x (32, chunks*32), timed), the time the arithmetic alone would take, and
the measured time per run of a step: a single run (the fused torch layer) and a run's share of a
stacked pack of `--replicas`, and each as model-steps/s (a run's own steps a second). Their ratio to the
bound is the distance: per-operation dispatch, not arithmetic, sets the pace at these sizes.
"""

from __future__ import annotations

import argparse
import time

import torch

from memorybench.cells import get_cell
from memorybench.engine.flat_adam import FlatAdam
from memorybench.engine.replicas import Single
from memorybench.engine.stacked import StackedModel
from memorybench.models import build_model
from memorybench.storage.provenance import provenance_line
from memorybench.tasks import get_task

B, H = 8, 32


def step_seconds(model, task, x, y, steps: int) -> float:
    """Median seconds of a training step (forward, loss, backward, Adam as training on the CPU runs it) after 20 warm-up steps."""
    optimizer = FlatAdam(model.parameters(), lr=1e-3)
    times = []
    for _ in range(steps + 20):
        started = time.perf_counter()
        losses = task.replica_losses(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    return sorted(times[20:])[len(times[20:]) // 2]


def matmul_rate(rows: int, inner: int, cols: int, repeats: int = 20000) -> float:
    """FLOP/s of one thread multiplying (rows, inner) by (inner, cols), out= a preallocated tensor."""
    a, b, out = torch.randn(rows, inner), torch.randn(inner, cols), torch.empty(rows, cols)
    for _ in range(200):
        torch.mm(a, b, out=out)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b, out=out)
    return 2 * rows * inner * cols * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=30)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--replicas", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(1)
    task, T = get_task("nndl"), args.length
    print(provenance_line())
    print(
        "cell  MFLOP/step  matmul GFLOP/s  bound ms  single ms (x bound)  stacked/run ms (x bound)"
        "  model-steps/s: bound  single  stacked"
    )
    for cell in ("srn", "lstm", "gru"):
        model = build_model(task, cell, seed=0)
        G, M, C = get_cell(cell).chunks * H, model.embedding.embedding_dim, task.output_size
        forward = T * (2 * B * M * G + 2 * B * H * G) + 2 * B * H * C
        flops = 3 * forward  # backward: the gradients of inputs and of weights, each a forward's worth
        rate = matmul_rate(B, H, G)
        bound = flops / rate
        x, y = torch.randint(0, 10, (1, B, T)), torch.randint(0, task.output_size, (1, B))
        single = step_seconds(Single([build_model(task, cell, seed=0)]), task, x, y, args.steps)
        E = args.replicas
        stacked = (
            step_seconds(
                StackedModel([build_model(task, cell, seed=s) for s in range(E)]),
                task,
                x.expand(E, -1, -1),
                y.expand(E, -1),
                args.steps,
            )
            / E
        )
        print(
            f"{cell:<5} {flops / 1e6:10.2f}  {rate / 1e9:14.1f}  {bound * 1e3:8.3f}  {single * 1e3:9.3f} ({single / bound:5.1f}x)"
            f"  {stacked * 1e3:12.3f} ({stacked / bound:5.1f}x)  {1 / bound:20,.0f}  {1 / single:6,.0f}  {1 / stacked:7,.0f}"
        )


if __name__ == "__main__":
    main()
