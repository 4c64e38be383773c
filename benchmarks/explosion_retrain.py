"""Which section 6.2 figures survive a retrain that differs only in float rounding?

    python benchmarks/explosion_retrain.py [--folder results/explosion]

Retrains every run of the committed section 6.2 experiment (`memorybench explosion`: each cell x
seed x clipping of the folder), one run at a time as the command trains them, with the smallest
change that computes the same function with other rounding:

- a cell with a fused kernel (LSTM, GRU) runs execution='transparent': its own step function
  instead of torch's fused kernel, the same sums in another order;
- a cell without one (the book's `srn_book`, already step by step) starts from initial weights
  each moved by one unit in the last place (`torch.nextafter` towards +inf): a rounding-sized
  difference at step 0, since no other execution path exists for it.

For every gradient-norm summary (median over seeds of each seed's peak over the first 40 steps,
its step, and its mean over the last 50; `memorybench.diagnostics.explosion.norm_summary`) and
every test-accuracy mean, it prints the committed value with its stated interval (the median's 95%
bootstrap interval, the mean's 95% t-interval), the retrained value, and `MOVED` where the retrain
lands outside the committed interval; then the per-seed agreement of the test scores. The
report's sentences must not state a figure more precisely than this reproduces it. Output:
results/benchmarks/explosion-retrain-cpu.txt.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memorybench.analysis.summary import mean_interval  # noqa: E402
from memorybench.config import RunConfig  # noqa: E402
from memorybench.diagnostics.explosion import CLIPS, QUANTITIES, load_norms, norm_summary, per_seed_norms, role_of  # noqa: E402
from memorybench.diagnostics.grad_norms import GradientNorms  # noqa: E402
from memorybench.engine.loop import train_pack  # noqa: E402
from memorybench.storage.provenance import provenance_line  # noqa: E402
from memorybench.storage.rundir import read_run  # noqa: E402
from memorybench.storage.store import ResultsStore  # noqa: E402


def nudged(model_for):
    """`model_for` whose models start with every parameter one ulp larger (towards +inf)."""
    import torch

    def build(*args, **kwargs):
        model = model_for(*args, **kwargs)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.copy_(torch.nextafter(parameter, torch.full_like(parameter, math.inf)))
        return model

    return build


def retrain(configs) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """(norms as `load_norms` gives them, scores: cell, clip, seed, test_score, and per cell the change made) of
    `configs` retrained one at a time with a rounding-sized change (see the module docstring)."""
    from memorybench.cells import get_cell
    from memorybench.engine import loop

    norms, scores, changes = [], [], {}
    original = loop.model_for
    for config in configs:
        fused = get_cell(config.cell).fused is not None
        changes[config.cell] = (
            "execution='transparent' instead of the fused kernel" if fused else "initial weights one ulp larger"
        )
        loop.model_for = original if fused else nudged(original)
        try:
            log = GradientNorms()
            output = train_pack([replace(config, execution="transparent")], hooks=[log])[0]
        finally:
            loop.model_for = original
        table = log.table()
        table = table.assign(parameter=table["parameter"].map(lambda name: role_of(name, config.cell))).dropna(
            subset=["parameter"]
        )
        norms.append(
            table[["step", "parameter", "grad_norm"]].assign(cell=config.cell, seed=config.seed, clip=config.clip)
        )
        scores.append(dict(cell=config.cell, clip=config.clip, seed=config.seed, test_score=output.result.test_score))
    print(f"  retrained {len(configs)} runs", file=sys.stderr, flush=True)
    return pd.concat(norms, ignore_index=True), pd.DataFrame(scores), changes


def compare(folder: Path) -> None:
    store = ResultsStore(folder)
    runs, _ = store.collect()
    runs = runs[runs["status"] == "ok"]
    norms = load_norms(store, runs)
    logged = runs[runs["run_id"].isin(set(norms["run_id"]))]
    configs = [
        RunConfig.from_dict(read_run(store.run_folder(run_id)).config)
        for run_id in logged.sort_values(["cell", "clip", "seed"])["run_id"]
    ]
    new_norms, new_scores, changes = retrain(configs)
    old, new = (
        norm_summary(per_seed_norms(frame)).set_index(["cell", "clip", "parameter"]) for frame in (norms, new_norms)
    )
    print(provenance_line())
    print(
        f"{folder}: {len(configs)} runs retrained one at a time; "
        + "; ".join(f"{cell}: {change}" for cell, change in changes.items())
    )
    moved = total = 0
    print(f"\n{'cell':9} {'clip':9} {'param':5} {'quantity':13} {'committed [95% interval]':34} {'retrained':>10}")
    for key in old.index:
        for quantity in QUANTITIES:
            low, high, value, again = (
                old.loc[key, f"{quantity}_low"],
                old.loc[key, f"{quantity}_high"],
                old.loc[key, quantity],
                new.loc[key, quantity],
            )
            outside = not low <= again <= high
            moved, total = moved + outside, total + 1
            flags = ("  MOVED" if outside else "") + ("  two groups" if old.loc[key, f"{quantity}_bimodal"] else "")
            print(
                f"{key[0]:9} {key[1]:9} {key[2]:5} {quantity:13} {f'{value:.3g} [{low:.3g}, {high:.3g}]':34} {again:>10.3g}{flags}"
            )
    print(f"\ngradient-norm medians outside their committed bootstrap interval after the retrain: {moved} of {total}")
    old_scores = logged.set_index(["cell", "clip", "seed"])["test_score"]
    new_scores = new_scores.set_index(["cell", "clip", "seed"])["test_score"]
    print(
        f"\n{'cell':9} {'clip':9} {'committed mean [95% t-interval]':34} {'retrained':>10}  seeds with the same test score"
    )
    for cell in dict.fromkeys(k[0] for k in old_scores.index):
        for clip in CLIPS:
            a, b = old_scores.loc[(cell, clip)], new_scores.loc[(cell, clip)]
            n, mean, low, high = mean_interval(a)
            again = float(b.mean())
            same = int((a.sort_index() == b.sort_index()).sum())
            flag = "  MOVED" if not low <= again <= high else ""
            print(
                f"{cell:9} {clip:9} {f'{mean:.3f} [{low:.3f}, {high:.3f}] (n={n})':34} {again:>10.3f}  {same} of {n}{flag}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("results/explosion"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    compare(args.folder)


if __name__ == "__main__":
    main()
