"""torch.compile of the stacked training step against the same step eager, compile time included.

    python benchmarks/compiled_step.py [--cells srn lstm gru] [--replicas 9] [--length 30] [--steps 600]

For each cell: a stacked pack of `--replicas` book-sized models (hidden 32, batch 8, nndl inputs)
trains `--steps` Adam steps eager, then the same pack with its forward (and so its backward, through
AOTAutograd) compiled by `torch.compile`; prints eager and compiled steps/s after warm-up, the compile
time (the first compiled steps), and the steps a run must train before compiling pays off. One
torch thread, as a sweep's worker. A machine without a working C++ compiler cannot compile: the
script says so and prints the eager figures alone.
"""

from __future__ import annotations

import argparse
import time

import torch

from memorybench.engine.stacked import StackedModel
from memorybench.models import build_model
from memorybench.storage.provenance import provenance_line
from memorybench.tasks import get_task


def timed_steps(model, task, x, y, steps: int) -> list[float]:
    """Seconds of each of `steps` training steps (forward, per-replica loss, backward, Adam)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        losses = task.replica_losses(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["srn", "lstm", "gru"])
    parser.add_argument("--replicas", type=int, default=9)
    parser.add_argument("--length", type=int, default=30)
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = get_task("nndl")
    print(provenance_line())
    x = torch.randint(0, 10, (args.replicas, 8, args.length))  # (E, B, T)
    y = torch.randint(0, 19, (args.replicas, 8))  # (E, B)
    for cell in args.cells:
        pack = lambda: StackedModel([build_model(task, cell, seed=s) for s in range(args.replicas)])
        eager = timed_steps(pack(), task, x, y, args.steps)
        eager_rate = 1 / (sum(eager[50:]) / len(eager[50:]))
        line = f"{cell}: E={args.replicas}, L={args.length}: eager {eager_rate:.0f} steps/s"
        try:
            compiled = timed_steps(torch.compile(pack()), task, x, y, args.steps)
        except Exception as exc:  # no C++ compiler, or an unsupported operation: eager it is
            print(f"{line}; compiled: not available ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
            continue
        warm = compiled[50:]
        rate = 1 / (sum(warm) / len(warm))
        compile_s = sum(compiled[:3]) - 3 / rate
        gain = 1 / eager_rate - 1 / rate
        even = f"{compile_s / gain:,.0f} steps" if gain > 0 else "never"
        print(
            f"{line}, compiled {rate:.0f} steps/s ({rate / eager_rate:.2f}x) after {compile_s:.1f} s of compiling; pays off after {even}"
        )


if __name__ == "__main__":
    main()
