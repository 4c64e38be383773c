"""What a horizon search's probes say: each probed length's seeds summarised, and the horizon read off
them three ways — from the mean (the search's own rule), and pessimistically and optimistically from
the 95% interval's worse and better ends at the same probed lengths — plus the horizon the stored
curves give at every earlier budget.

Each reading applies `Search.reading` (the last pass below the shortest failing length probed) to
another pass/fail per length, so the three share one rule; a reading whose transition lies outside
the probed lengths is censored ("above": every probed length passes; "below": none does).

Example:
    >>> import pandas as pd
    >>> from memorybench.analysis.search_rule import Search
    >>> runs = pd.DataFrame(dict(cell="gru", seq_len=[30] * 3 + [60] * 3, seed=[0, 1, 2] * 2, status="ok",
    ...                          test_score=[0.9, 0.8, 0.85, 0.5, 0.7, 0.4]))
    >>> probes = probe_summary(runs, threshold=0.55, direction="higher")
    >>> probes[["seq_len", "mean", "solve_rate", "passed"]].round(3).values.tolist()
    [[30, 0.85, 1.0, True], [60, 0.533, 0.333, False]]
    >>> r = search_reading(Search(start=30, min_length=3, cap=240), probes, 0.55, "higher")
    >>> r["horizon"], r["bracket"], r["horizon_low"], r["censored_low"], r["horizon_high"], r["censored_high"]
    (30, (30, 60), 30, 'none', 60, 'above')
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from memorybench.analysis.summary import mean_interval
from memorybench.analysis.search_rule import Search

PROBE_COLUMNS = [
    "cell",
    "seq_len",
    "seeds",
    "ok",
    "mean",
    "ci_low",
    "ci_high",
    "solve_rate",
    "passed",
    "scores",
    "wall_time_s",
]


def passes(value: float, threshold: float, direction: str) -> bool:
    """Whether a score passes the threshold in the metric's direction (NaN never passes)."""
    if value != value:
        return False
    return value >= threshold if direction == "higher" else value <= threshold


def probe_summary(runs: pd.DataFrame, threshold: float, direction: str) -> pd.DataFrame:
    """One row per cell and length of `runs` (a probe's seeds): the mean test score of its successful
    seeds with its 95% t-interval, the solve rate (share of all its seeds whose own score passes),
    whether the mean passes, every seed's score ('0.91 0.88 0.95', seed order) and the wall time the
    probe's runs took (each run's share of its pack's wall time, summed)."""
    rows = []
    for (cell, length), group in runs.groupby(["cell", "seq_len"], sort=True):
        group = group.sort_values("seed")
        ok = group[group["status"] == "ok"]
        n, mean, low, high = mean_interval(ok["test_score"])
        solved = sum(passes(float(s), threshold, direction) for s in ok["test_score"])
        packed = group["pack_size"].fillna(1).clip(lower=1) if "pack_size" in group else 1
        wall = (group["wall_time_s"].fillna(0) / packed).sum() if "wall_time_s" in group else math.nan
        rows.append(
            dict(
                cell=cell,
                seq_len=int(length),
                seeds=len(group),
                ok=n,
                mean=mean,
                ci_low=low,
                ci_high=high,
                solve_rate=solved / len(group),
                passed=bool(n) and passes(mean, threshold, direction),
                scores=" ".join(f"{s:.4g}" for s in ok["test_score"]),
                wall_time_s=float(wall),
            )
        )
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def search_reading(search: Search, probes: pd.DataFrame, threshold: float, direction: str) -> dict:
    """One cell's readings from its probes (rows of `probe_summary`): the search's own (`Search.reading`:
    horizon, bracket, last_pass, first_fail, longest_pass, censored), and horizon_low / horizon_high with
    censored_low / censored_high from the interval's worse and better ends at the same lengths (None where
    fewer than 2 seeds give no interval), with longest_pass_low / longest_pass_high: the longest length at which
    that end passes (above its horizon where it passes again further on)."""
    by_length = probes.set_index("seq_len")
    reading = search.reading({int(n): bool(row["passed"]) for n, row in by_length.iterrows()})
    worse, better = ("ci_low", "ci_high") if direction == "higher" else ("ci_high", "ci_low")
    for suffix, end in (("low", worse), ("high", better)):
        if by_length[end].isna().any():
            reading[f"horizon_{suffix}"], reading[f"censored_{suffix}"], reading[f"longest_pass_{suffix}"] = (
                None,
                None,
                None,
            )
            continue
        side = search.reading({int(n): passes(float(v), threshold, direction) for n, v in by_length[end].items()})
        reading[f"horizon_{suffix}"], reading[f"censored_{suffix}"] = side["horizon"], side["censored"]
        reading[f"longest_pass_{suffix}"] = side["longest_pass"]
    return reading


def memory_horizon(table: pd.DataFrame, threshold: float, direction: str = "higher") -> pd.DataFrame:
    """Per cell of a `score_table`, the search's readings (`search_reading`) on the lengths tested, as a grid
    that starts at its longest length: horizon (NaN when the shortest length fails), horizon_low and
    horizon_high (the interval's worse and better ends) and longest_pass (above the horizon where the score is
    not monotone in length).

    >>> from memorybench.analysis.summary import score_table
    >>> runs = pd.DataFrame(dict(cell="lstm", seq_len=[10, 10, 10, 30, 30, 30], seed=[0, 1, 2] * 2,
    ...                          test_score=[0.9, 0.8, 1.0, 0.4, 0.5, 0.6], status="ok"))
    >>> memory_horizon(score_table(runs), threshold=0.55)[["horizon", "horizon_low", "horizon_high", "longest_pass"]].values.tolist()
    [[10.0, 10.0, 30.0, 10.0]]
    """
    length = lambda value: np.nan if value is None else float(value)
    rows = []
    for cell, g in table.groupby("cell", sort=False):
        grid = Search(start=int(g["seq_len"].max()), min_length=int(g["seq_len"].min()), cap=int(g["seq_len"].max()))
        probes = g.assign(passed=[passes(float(m), threshold, direction) for m in g["mean"]])
        reading = search_reading(grid, probes, threshold, direction)
        rows.append(
            dict(
                cell=cell,
                **{key: length(reading[key]) for key in ("horizon", "horizon_low", "horizon_high", "longest_pass")},
            )
        )
    return pd.DataFrame(rows, columns=["cell", "horizon", "horizon_low", "horizon_high", "longest_pass"])


def horizon_by_budget(
    search: Search, runs: pd.DataFrame, curves: pd.DataFrame, threshold: float, direction: str
) -> pd.DataFrame:
    """Per cell and evaluation step, the horizon the search's rule reads off the probed lengths when every
    run is cut at that step and scored by its best dev score so far (the early-stopping rule that picks the
    test checkpoint, on the dev split): does a horizon still grow with the training budget? A run that
    stopped early (a perfect dev score) keeps its last best. Columns: cell, step, horizon, censored.
    `curves` has run_id, step and dev_score (`ResultsStore.collect()[1]`)."""
    ok = runs[runs["status"] == "ok"].set_index("run_id")
    curves = curves[curves["run_id"].isin(ok.index)]
    rows = []
    for cell, group in curves.groupby(curves["run_id"].map(ok["cell"]), sort=False):
        table = group.pivot_table(index="step", columns="run_id", values="dev_score").sort_index()  # (steps, runs)
        best = (
            (table.cummax() if direction == "higher" else table.cummin()).ffill().dropna()
        )  # from the step every run has a score
        means = best.T.groupby(ok.loc[best.columns, "seq_len"]).mean().T  # (steps, lengths)
        for step, at in means.iterrows():
            reading = search.reading({int(n): passes(float(m), threshold, direction) for n, m in at.items()})
            rows.append(dict(cell=cell, step=int(step), horizon=reading["horizon"], censored=reading["censored"]))
    return pd.DataFrame(rows, columns=["cell", "step", "horizon", "censored"])
