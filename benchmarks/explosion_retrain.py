"""Which section 6.2 figures survive a retrain that differs only in float rounding?

    python benchmarks/explosion_retrain.py [--folder results/explosion] [--path stacked|single]

Retrains every run of the committed section 6.2 experiment (`memorybench explosion`: each cell x
seed x clipping of the folder) through another execution path — the same function summed in
another order — and compares every figure its report states with the committed one:

- `stacked` (default): execution='transparent' (each cell's step function, not torch's fused
  kernel) in a stacked pack of the cell's seeds per clipping (batched matmuls), the path a sweep
  packs runs on. The book's `srn_book` has no fused kernel, so for it only the batching differs.
- `single`: execution='transparent', one run at a time: for the LSTM and GRU the only change is the
  fused kernel; `srn_book` is then the committed path itself (its runs must match exactly).

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
import json
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
from memorybench.storage.store import ResultsStore  # noqa: E402


def retrain(configs, path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(norms as `load_norms` gives them, scores: cell, clip, seed, test_score) of `configs` retrained on `path`."""
    configs = [replace(c, execution="transparent") for c in configs]
    groups = [[c] for c in configs] if path == "single" else [
        [c for c in configs if (c.cell, c.clip) == key] for key in dict.fromkeys((c.cell, c.clip) for c in configs)]
    norms, scores = [], []
    for pack in groups:
        log = GradientNorms()
        outputs = train_pack(pack, layout="single" if path == "single" else "stacked", hooks=[log])
        table = log.table()
        for replica, (config, output) in enumerate(zip(pack, outputs)):
            mine = table[table["replica"] == replica]
            mine = mine.assign(parameter=mine["parameter"].map(lambda name: role_of(name, config.cell))).dropna(subset=["parameter"])
            norms.append(mine[["step", "parameter", "grad_norm"]].assign(cell=config.cell, seed=config.seed, clip=config.clip))
            scores.append(dict(cell=config.cell, clip=config.clip, seed=config.seed, test_score=output.result.test_score))
        print(f"  retrained {pack[0].cell} clip={pack[0].clip}: {len(pack)} runs", file=sys.stderr, flush=True)
    return pd.concat(norms, ignore_index=True), pd.DataFrame(scores)


def compare(folder: Path, path: str) -> None:
    store = ResultsStore(folder)
    runs, _ = store.collect()
    runs = runs[runs["status"] == "ok"]
    norms = load_norms(store, runs)
    logged = runs[runs["run_id"].isin(set(norms["run_id"]))]
    configs = [RunConfig.from_dict(json.loads((store.run_folder(run_id) / "config.json").read_text()))
               for run_id in logged.sort_values(["cell", "clip", "seed"])["run_id"]]
    new_norms, new_scores = retrain(configs, path)
    old, new = (norm_summary(per_seed_norms(frame)).set_index(["cell", "clip", "parameter"]) for frame in (norms, new_norms))
    print(provenance_line())
    print(f"{folder}: {len(configs)} runs retrained on path '{path}' (execution='transparent'"
          f"{', stacked packs of each cell and clipping' if path == 'stacked' else ', one run at a time'})")
    moved = total = 0
    print(f"\n{'cell':9} {'clip':9} {'param':5} {'quantity':13} {'committed [95% interval]':34} {'retrained':>10}")
    for key in old.index:
        for quantity in QUANTITIES:
            low, high, value, again = (old.loc[key, f"{quantity}_low"], old.loc[key, f"{quantity}_high"], old.loc[key, quantity],
                                       new.loc[key, quantity])
            outside = not low <= again <= high
            moved, total = moved + outside, total + 1
            flags = ("  MOVED" if outside else "") + ("  two groups" if old.loc[key, f"{quantity}_bimodal"] else "")
            print(f"{key[0]:9} {key[1]:9} {key[2]:5} {quantity:13} {f'{value:.3g} [{low:.3g}, {high:.3g}]':34} {again:>10.3g}{flags}")
    print(f"\ngradient-norm medians outside their committed bootstrap interval after the retrain: {moved} of {total}")
    old_scores = logged.set_index(["cell", "clip", "seed"])["test_score"]
    new_scores = new_scores.set_index(["cell", "clip", "seed"])["test_score"]
    print(f"\n{'cell':9} {'clip':9} {'committed mean [95% t-interval]':34} {'retrained':>10}  seeds with the same test score")
    for cell in dict.fromkeys(k[0] for k in old_scores.index):
        for clip in CLIPS:
            a, b = old_scores.loc[(cell, clip)], new_scores.loc[(cell, clip)]
            n, mean, low, high = mean_interval(a)
            again = float(b.mean())
            same = int((a.sort_index() == b.sort_index()).sum())
            flag = "  MOVED" if not low <= again <= high else ""
            print(f"{cell:9} {clip:9} {f'{mean:.3f} [{low:.3f}, {high:.3f}] (n={n})':34} {again:>10.3f}  {same} of {n}{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("results/explosion"))
    parser.add_argument("--path", choices=("stacked", "single"), default="stacked")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    compare(args.folder, args.path)


if __name__ == "__main__":
    main()
