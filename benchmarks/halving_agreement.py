"""Would successive halving pick what the full recipe grid picks? Simulated on a phase grid's stored dev curves
(issue 46), without training.

    python benchmarks/halving_agreement.py [--folder results/nndl-phase] [--rungs 0.25 0.5 derived]

For each cell and length of a learning-rate sweep (`memorybench run --lr ...`; every recipe trained the full budget),
halving is replayed from the runs' stored dev curves: at a rung (a share of the budget) the recipes other than the
protocol's are ranked by their seeds' mean best dev score so far and the worse half is halted (the protocol's recipe
is never halted); the survivors are then read at the full budget with the tuned search's rule (`choose_recipe`).
A case agrees when the halved grid's pick passes or fails the task's threshold (its seeds' mean test score) as the
full grid's pick does. Agreement is given over every length and over each cell's bracket lengths (the last passing
and the first failing length of the full grid's picks), with the model-steps halving would have saved.

`derived` places the rung from the curves themselves: the 90th percentile, over every run whose best dev score
passes the threshold, of the share of the budget at which its dev score first passed — so that most runs that will
pass have passed before any is ranked. A quarter-budget rung ranks runs that have not yet started to learn.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memorybench.analysis.recipes import choose_recipe  # noqa: E402
from memorybench.analysis.search import passes  # noqa: E402
from memorybench.report.phase import phase_table, rate_recipes  # noqa: E402
from memorybench.storage.provenance import provenance_line  # noqa: E402
from memorybench.storage.store import ResultsStore  # noqa: E402
from memorybench.tasks import get_task  # noqa: E402


def first_pass_shares(runs: pd.DataFrame, curves: pd.DataFrame, threshold: float, direction: str) -> np.ndarray:
    """For every run whose best dev score passes: the share of its budget at which its dev score first passed."""
    shares = []
    for run_id, curve in curves.groupby("run_id"):
        run = runs.loc[run_id]
        passed = curve[[passes(float(s), threshold, direction) for s in curve["dev_score"]]]
        if len(passed):
            shares.append(float(passed["step"].min()) / float(run["steps"]))
    return np.array(shares)


def best_so_far(curves: pd.DataFrame, run_ids, step: float, direction: str) -> float:
    """The mean over `run_ids` of each run's best dev score at or before `step`."""
    pick = max if direction == "higher" else min
    scores = [pick(curves[(curves["run_id"] == r) & (curves["step"] <= step)]["dev_score"], default=math.nan)
              for r in run_ids]  # fmt: skip
    return float(np.nanmean(scores)) if not all(math.isnan(s) for s in scores) else math.nan


def halved_pick(at: pd.DataFrame, curves: pd.DataFrame, order: list[str], rung: float, direction: str) -> str:
    """The recipe picked at one length when, at `rung` (a share of the budget), the worse half of the recipes other
    than the protocol's (order[0]) is halted and the survivors are read at the full budget."""
    step, sign = rung * float(at["steps"].max()), 1 if direction == "higher" else -1

    def rank(label: str) -> float:  # best first; a recipe with no evaluation by the rung last
        score = best_so_far(curves, at[at["recipe"] == label].index, step, direction)
        return math.inf if math.isnan(score) else -sign * score

    ranked = sorted(order[1:], key=rank)
    kept = [order[0], *ranked[: math.ceil(len(ranked) / 2)]]
    return choose_recipe(at[at["recipe"].isin(kept)], [label for label in order if label in kept], direction)


def agreement(folder: str, rungs: list[str]) -> list[str]:
    store = ResultsStore.open(ROOT / folder if not Path(folder).is_absolute() else folder)
    runs, curves = store.collect()
    runs = rate_recipes(runs).set_index("run_id")
    task = get_task(runs["task"].iloc[0])
    threshold, direction = task.threshold, task.direction
    table = phase_table(runs.reset_index(), task, threshold)
    shares = first_pass_shares(runs, curves, threshold, direction)
    derived = float(np.percentile(shares, 90)) if len(shares) else 1.0
    lines = [
        f"{folder}: {len(runs)} runs; first dev pass at {np.percentile(shares, 10):.2f}-{np.percentile(shares, 90):.2f} "
        f"of the budget (10th-90th percentile of {len(shares)} runs that pass); derived rung {derived:.2f}"
        if len(shares)
        else f"{folder}: no run passes"
    ]
    for rung_text in rungs:
        rung = derived if rung_text == "derived" else float(rung_text)
        cases, bracket_cases, saved, total = [], [], 0.0, 0.0
        for cell, mine in table.groupby("cell", sort=False):
            order = list(dict.fromkeys(mine.sort_values("protocol", ascending=False)["recipe"]))
            picks = mine[mine["chosen"]].set_index("seq_len")
            passing = sorted(n for n, row in picks.iterrows() if passes(row["mean"], threshold, direction))
            failing = sorted(n for n, row in picks.iterrows() if not passes(row["mean"], threshold, direction))
            last = max((n for n in passing if not failing or n < min(failing)), default=None)
            bracket = {n for n in (last, min(failing) if failing else None) if n is not None}
            for length, at in runs[(runs["cell"] == cell)].groupby("seq_len"):
                full = picks.loc[length]
                halved = halved_pick(at, curves, order, rung, direction)
                chosen = mine[(mine["seq_len"] == length) & (mine["recipe"] == halved)].iloc[0]
                same = passes(chosen["mean"], threshold, direction) == passes(full["mean"], threshold, direction)
                cases.append(same)
                if length in bracket:
                    bracket_cases.append(same)
                halted = (len(order) - 1) - math.ceil((len(order) - 1) / 2)
                seeds = at["seed"].nunique()
                saved += halted * seeds * (1 - rung) * float(at["steps"].max()) * length
                total += len(order) * seeds * float(at["steps"].max()) * length
        share = lambda xs: f"{sum(xs)}/{len(xs)} ({sum(xs) / len(xs):.0%})" if xs else "–"
        lines.append(
            f"rung {rung:.2f} ({rung_text}): same pass/fail as the full grid in {share(cases)} of cell x length cases, "
            f"{share(bracket_cases)} at the bracket lengths; saves {saved / total:.0%} of the grid's model-steps x length"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="results/nndl-phase")
    parser.add_argument("--rungs", nargs="+", default=["0.25", "0.5", "derived"])
    args = parser.parse_args()
    print(provenance_line())
    for line in agreement(args.folder, args.rungs):
        print(line)


if __name__ == "__main__":
    main()
