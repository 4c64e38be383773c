"""The scan over time against the step form, per cell, length and batch: which execution a device should default to.

    python benchmarks/scan_speed.py [--device cpu] [--cells mingru minlstm] [--lengths 30 100 1000] [--batches 8 64]
                                    [--hidden 32] [--repeats 20] [--threads 1]

For each cell with a scan (`CellSpec.scan`: minGRU, minLSTM), the same layer (input 32, hidden `--hidden`) runs
forward and backward on random inputs in both executions ('transparent': the cell's step, one step at a time;
'scan': every step at once in log space), interleaved `--repeats` times after a warm-up; prints the median
milliseconds of each, the ratio, and which is faster, beside the GRU's and LSTM's own fused kernels for scale.
The step form stays the CPU default unless the scan wins there (issue 25: a scan did not beat fused GRU/LSTM on a
CPU at hidden 32 up to T = 1000).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memorybench.cells import make_recurrent  # noqa: E402
from memorybench.storage.provenance import provenance_line  # noqa: E402


def timed(layer, x: torch.Tensor, device: torch.device) -> float:
    """Milliseconds of one forward and backward pass."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    output, _ = layer(x)
    output.square().mean().backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cells", nargs="+", default=["mingru", "minlstm"])
    parser.add_argument("--lengths", type=int, nargs="+", default=[30, 100, 1000])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(provenance_line())
    print(
        f"forward+backward, input 32, hidden {args.hidden}, {args.threads} thread(s), median of {args.repeats}, {device}"
    )
    print(f"{'cell':8} {'T':>5} {'B':>4} {'step ms':>9} {'scan ms':>9} {'scan/step':>9}  faster   (fused GRU, LSTM ms)")
    for length in args.lengths:
        for batch in args.batches:
            x = torch.randn(batch, length, 32, device=device)
            fused = {}
            for cell in ("gru", "lstm"):
                layer = make_recurrent(cell, "fused", 32, args.hidden).to(device)
                timed(layer, x, device)
                fused[cell] = statistics.median(timed(layer, x, device) for _ in range(args.repeats))
            for cell in args.cells:
                layers = {
                    execution: make_recurrent(cell, execution, 32, args.hidden).to(device)
                    for execution in ("transparent", "scan")
                }
                layers["scan"].load_state_dict(layers["transparent"].state_dict())
                times = {execution: [] for execution in layers}
                for execution, layer in layers.items():
                    timed(layer, x, device)  # warm-up
                for _ in range(args.repeats):
                    for execution, layer in layers.items():
                        times[execution].append(timed(layer, x, device))
                step, scan = (statistics.median(times[e]) for e in ("transparent", "scan"))
                print(
                    f"{cell:8} {length:>5} {batch:>4} {step:>9.2f} {scan:>9.2f} {scan / step:>9.2f}  {'scan' if scan < step else 'step':6}"
                    f"   ({fused['gru']:.2f}, {fused['lstm']:.2f})",
                    flush=True,
                )


if __name__ == "__main__":
    main()
