"""How wide is L50's interval at 3, 5, 10 and 20 seeds? The figures behind `memorybench horizon`'s seed defaults
(issue 45): `--seeds 3` a round and `--l50-share 0.1` (seed rounds stop when the 95% interval's half-width is at most
a tenth of L50).

For each searched cell of the committed folders that hold ten seeds or more at some probed length (the seed rounds
added them), this draws N of its seeds many times and reads L50 from each draw (`fitted_horizon`, the suite's
reading, over every probed length): how often the draw gives a fitted L50 at all (not a separation bracket or a
censored bound), and the half-width of its interval relative to L50. N up to the seeds held are drawn without
replacement; N beyond them with replacement (each draw a new seed): a projection from the seeds held, marked so.

    python benchmarks/seed_widths.py          # ~5 min on 2 cores; writes results/benchmarks/seed-widths.txt

No training: it reads the stored runs only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memorybench.analysis.fitted_horizon import fitted_horizon  # noqa: E402
from memorybench.storage.provenance import environment  # noqa: E402
from memorybench.storage.store import ResultsStore  # noqa: E402

FOLDERS = ("results/nndl-seeds5", "results/stream")
SIZES = (3, 5, 10, 20)
DRAWS = 40  # draws of N seeds per cell and N
RESAMPLES = 100  # the bootstrap inside each reading (the suite's 200, halved for time)
SHARE = 0.1  # --l50-share's default


def cell_runs(folder: str) -> dict[str, tuple[pd.DataFrame, float, str]]:
    """Searched cell -> (its runs at its probed lengths, every seed; threshold; direction)."""
    store = ResultsStore.open(ROOT / folder)
    runs = store.collect()[0]
    searches = pd.read_csv(store.tables_dir / "search_horizons.csv")
    probes = pd.read_csv(store.tables_dir / "search_probes.csv")
    found = {}
    for _, row in searches.iterrows():
        lengths = set(probes.loc[(probes["cell"] == row["cell"]) & (probes["protocol"] == row["protocol"]), "seq_len"])
        mine = runs[
            (runs["cell"] == row["cell"]) & (runs["protocol"] == row["protocol"]) & (runs["steps"] == row["steps"])
        ]
        found[row["cell"]] = (mine[mine["seq_len"].isin(lengths)], row["threshold"], row["direction"])
    return found


def draw(runs: pd.DataFrame, n: int, rng) -> pd.DataFrame:
    """n of the runs' seeds (without replacement where there are enough, else with), each renumbered."""
    seeds = sorted(set(runs["seed"]))
    picked = rng.choice(seeds, size=n, replace=n > len(seeds))
    return pd.concat([runs[runs["seed"] == s].assign(seed=i) for i, s in enumerate(picked)], ignore_index=True)


def main() -> int:
    rng = np.random.default_rng(0)
    env = environment()
    lines = [
        f"# python benchmarks/seed_widths.py | {env['commit'][:12]} | {env['cpu']} ({env['cpu_count']} cores) | "
        f"{env['date']}",
        f"# L50 read from N seeds drawn {DRAWS} times per cell (fitted_horizon, {RESAMPLES} bootstrap resamples): how "
        f"often a fit exists, and the interval's half-width / L50 (median over the fitted draws; share of them at "
        f"most {SHARE}). N beyond the seeds held: drawn with replacement (projected).",
        "",
        "folder               cell  seeds held  N   fitted   half-width/L50 (median)  <= 0.1",
    ]
    for folder in FOLDERS:
        for cell, (runs, threshold, direction) in cell_runs(folder).items():
            held = runs.groupby("seq_len")["seed"].nunique().max()
            if held < 10:
                continue
            for n in SIZES:
                widths, fits = [], 0
                for _ in range(DRAWS):
                    fitted = fitted_horizon(draw(runs, n, rng), threshold, direction, resamples=RESAMPLES)
                    if fitted.reading == "fit" and fitted.low is not None:
                        fits += 1
                        widths.append((fitted.high - fitted.low) / 2 / fitted.l50)
                median = f"{np.median(widths):.2f}" if widths else "–"
                under = f"{np.mean(np.array(widths) <= SHARE):.2f}" if widths else "–"
                mark = " (projected)" if n > held else ""
                lines.append(
                    f"{folder:<20} {cell:<5} {held:>10}  {n:<3} {fits:>2}/{DRAWS}   {median:>23}  {under:>6}{mark}"
                )
                print(lines[-1], flush=True)
    out = ROOT / "results" / "benchmarks" / "seed-widths.txt"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
