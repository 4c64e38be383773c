"""What the opt-in per-step gradient-norm logging (`GradientNorms`) costs in training speed.

    python benchmarks/grad_logging_cost.py [--cells srn lstm gru] [--steps 1000] [--repeats 5] [--json PATH]

Settings, all at L=20 on the CPU with one torch thread: each cell under the book's
protocol (nndl: Adam lr 1e-3, batch 8), and the SRN in the book's section 6.2 setting
(SGD lr 0.2, batch 64, loss summed over the batch; when srn is among --cells). Each is
trained by `train_pack` for --steps steps (never stopping early on a perfect dev score)
without and with the hook (`train_pack(configs, hooks=[GradientNorms()])`), and timed
over the whole call: data, model, the dev evaluation every 100 steps, the hook's
read-back of its norms at each evaluation, the final test. Speed is steps done / wall
seconds. Without and with run in ABBA order, --repeats times each, interleaved across
the settings, after a warm-up; printed per setting: the median steps/s of each and their
range over the repeats, and with/without (the ratio of the medians; in brackets the
range of the per-repeat ratios; the JSON also holds their median, `pair_ratio_median`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from memorybench.cells import cells_in
from memorybench.config import RunConfig, protocol_config
from memorybench.diagnostics.grad_norms import GradientNorms
from memorybench.engine.loop import train_pack
from memorybench.storage.provenance import provenance_line

SEQ_LEN = 20


@dataclass(frozen=True)
class Setting:
    name: str  # for the table: "lstm nndl (Adam, batch 8)"
    config: RunConfig


def settings(cells: list[str], steps: int) -> list[Setting]:
    """The book's protocol for each cell, then section 6.2's SRN setting when srn is asked for."""
    common = dict(seq_len=SEQ_LEN, steps=steps, device="cpu", stop_on_perfect_dev=False)
    out = [Setting(f"{cell} nndl (Adam, batch 8)", protocol_config("nndl", cell=cell, **common)) for cell in cells]
    if "srn" in cells:
        out.append(
            Setting(
                "srn section 6.2 (SGD 0.2, batch 64, sum)",
                protocol_config(
                    "nndl", cell="srn", optimizer="sgd", lr=0.2, batch_size=64, loss_reduction="sum", **common
                ),
            )
        )
    return out


def steps_per_s(config: RunConfig, logged: bool) -> float:
    """Steps done per wall second of one whole `train_pack` call, with or without the hook."""
    hooks = [GradientNorms()] if logged else []
    started = time.perf_counter()
    output = train_pack([config], hooks=hooks)[0]
    seconds = time.perf_counter() - started
    if logged and len(hooks[0].table()) == 0:
        raise RuntimeError("the hook logged nothing: it did not run")
    return output.result.steps_done / seconds


def measure(cases: list[Setting], repeats: int) -> list[dict]:
    for case in cases:  # warm-up: allocator, oneDNN primitives, first-call dispatch
        warm = replace(case.config, steps=50, eval_interval=25)
        steps_per_s(warm, False), steps_per_s(warm, True)
    runs = {case.name: {"without": [], "with": []} for case in cases}
    for repeat in range(repeats):  # ABBA: drifts in clock speed hit both alike
        for case in cases:
            for logged in (False, True) if repeat % 2 == 0 else (True, False):
                runs[case.name]["with" if logged else "without"].append(steps_per_s(case.config, logged))
    rows = []
    for case in cases:
        without, with_ = runs[case.name]["without"], runs[case.name]["with"]
        pair_ratios = [w / b for w, b in zip(with_, without)]
        median_without, median_with = statistics.median(without), statistics.median(with_)
        rows.append(
            dict(
                setting=case.name,
                cell=case.config.cell,
                seq_len=case.config.seq_len,
                batch_size=case.config.batch_size,
                optimizer=case.config.optimizer,
                without_steps_per_s=median_without,
                with_steps_per_s=median_with,
                ratio=median_with / median_without,
                ratio_low=min(pair_ratios),
                ratio_high=max(pair_ratios),
                pair_ratio_median=statistics.median(pair_ratios),
                without_runs=without,
                with_runs=with_,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cells",
        nargs="+",
        default=list(cells_in("classic")),
        choices=cells_in("classic"),
        help="cells to time under the book's protocol; srn also adds section 6.2's setting (default: %(default)s)",
    )
    parser.add_argument("--steps", type=int, default=1000, help="training steps per timed run (default: %(default)s)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="timed runs of each setting without and with the hook (default: %(default)s)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the figures and every run's speed as JSON here",
    )
    args = parser.parse_args()
    if args.steps < 1 or args.repeats < 1:
        parser.error(f"--steps {args.steps} and --repeats {args.repeats} must both be integers >= 1")
    provenance = provenance_line()  # the code loaded now, before anything runs
    torch.set_num_threads(1)
    rows = measure(settings(args.cells, args.steps), args.repeats)
    print(provenance)
    print(
        f"L={SEQ_LEN}, {args.steps} steps x {args.repeats} repeats each, torch {torch.__version__}, 1 thread; "
        "steps/s over the whole train_pack call, median [range over repeats]"
    )
    width = max(len(r["setting"]) for r in rows)
    print(f"{'setting':<{width}}  {'without hook':>22}  {'with GradientNorms':>22}  {'with/without':>20}")
    for r in rows:
        print(
            f"{r['setting']:<{width}}  {r['without_steps_per_s']:8.1f} [{min(r['without_runs']):5.0f}-{max(r['without_runs']):5.0f}]"
            f"  {r['with_steps_per_s']:8.1f} [{min(r['with_runs']):5.0f}-{max(r['with_runs']):5.0f}]"
            f"  {r['ratio']:8.3f} [{r['ratio_low']:.3f}-{r['ratio_high']:.3f}]"
        )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                dict(
                    provenance=provenance,
                    steps=args.steps,
                    repeats=args.repeats,
                    seq_len=SEQ_LEN,
                    threads=1,
                    torch=torch.__version__,
                    rows=rows,
                ),
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
