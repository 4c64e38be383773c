"""Two ways to train the same runs, side by side: the same bits, how much faster?

    python benchmarks/side_by_side.py [--compare optimizer] [--cases srn lstm gru lstm-single] [--steps 1500] [--repeats 3] [--out FILE]
    python benchmarks/side_by_side.py --compare backward --cases lstm gru

`--compare optimizer`: torch's Adam against Adam over a run's or a pack's parameters as one buffer (`FlatAdam`);
`--compare backward`: a stacked pack's recurrence through autograd against the cells' written-out backward
(`engine.recurrence`; the LSTM and the GRU have one). Each case trains through `engine.loop.train_pack`, once
each way, in ABBA order, `--repeats` times, after a warm-up of each (nndl protocol, one torch thread): `srn`, `lstm`, `gru` the first pack the default sweep
gives the cell on 2 workers (SRN: 9 runs, lengths 30, 25, 20; LSTM and GRU: all 18, lengths 30 to 5; 3 seeds
each, stacked); `lstm-single` one LSTM run at L=30 on torch's fused layer, as a horizon search trains it.
Printed per case: model-steps/s (the runs' own steps over the training time, evaluation excluded: the
result's `steps_per_s` x pack size) both ways, minor page faults per step, the ratio of medians, and whether
every run's curves and weights were the same bits both ways.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memorybench.config import protocol_config  # noqa: E402
from memorybench.engine import loop  # noqa: E402
from memorybench.engine.flat_adam import FlatAdam  # noqa: E402
from memorybench.engine.stacked import StackedModel  # noqa: E402
from memorybench.storage.provenance import provenance_line  # noqa: E402

CASES = {
    "srn": ("srn", (30, 25, 20), 3),
    "lstm": ("lstm", (30, 25, 20, 15, 10, 5), 3),
    "gru": ("gru", (30, 25, 20, 15, 10, 5), 3),
    "lstm-single": ("lstm", (30,), 1),
}  # name -> cell, lengths, seeds


def use_optimizer(optimizer) -> None:
    loop.FlatAdam = optimizer  # what make_optimizer builds for any run on the CPU


def use_written_backward(on: bool) -> None:
    StackedModel.use_step_grad = on


WAYS = {  # --compare -> {name: how to set the engine up}, the baseline first
    "optimizer": {
        "torch Adam": lambda: use_optimizer(lambda params, lr: torch.optim.Adam(params, lr=lr)),
        "FlatAdam": lambda: use_optimizer(FlatAdam),
    },
    "backward": {"autograd": lambda: use_written_backward(False), "written": lambda: use_written_backward(True)},
}


def train(case: str, setup, steps: int):
    """(model-steps/s, minor faults per step, outputs) of one case trained the way `setup` sets up."""
    setup()
    cell, lengths, seeds = CASES[case]
    configs = [
        protocol_config("nndl", cell=cell, seq_len=n, seed=s, steps=steps, device="cpu")
        for n in lengths
        for s in range(seeds)
    ]
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    outputs = loop.train_pack(configs, layout="stacked" if len(configs) > 1 else "single")
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps
    return outputs[0].result.steps_per_s * len(configs), faults, outputs


def same_bits(a, b) -> bool:
    return all(
        x.result.curves == y.result.curves and all(torch.equal(x.state_dict[k], y.state_dict[k]) for k in x.state_dict)
        for x, y in zip(a, b)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", default="optimizer", choices=list(WAYS))
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the lines printed to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ways = WAYS[args.compare]
    lines = [provenance_line(sys.argv), f"nndl protocol, {args.steps} steps, one thread, ABBA x {args.repeats}"]
    print(*lines, sep="\n")
    for case in args.cases:
        for name in ways:  # warm-up: torch's first optimizer step imports torch._dynamo (about a second)
            train(case, ways[name], 20)
        speed, faults, last = {n: [] for n in ways}, {n: [] for n in ways}, {}
        for r in range(args.repeats):
            for name in list(ways) if r % 2 == 0 else list(ways)[::-1]:
                s, f, last[name] = train(case, ways[name], args.steps)
                speed[name].append(s)
                faults[name].append(f)
        (a, b), median = list(ways), lambda xs: statistics.median(xs)
        line = (
            f"{case} ({len(last[a])} run{'s' if len(last[a]) > 1 else ''}): "
            + "; ".join(
                f"{n} {median(speed[n]):,.0f} model-steps/s ({', '.join(f'{x:,.0f}' for x in speed[n])}), {median(faults[n]):.0f} faults/step"
                for n in ways
            )
            + f"; {b}/{a} {median(speed[b]) / median(speed[a]):.2f}x; same bits: {same_bits(last[a], last[b])}"
        )
        print(line, flush=True)
        lines.append(line)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
