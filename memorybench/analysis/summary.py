"""Summaries over seeds: mean with a 95% confidence interval, best seed —
each in the direction of the task's metric ('higher' for accuracy, 'lower' for MSE).

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame(dict(cell="lstm", seq_len=[10, 10, 10, 30, 30, 30], seed=[0, 1, 2] * 2,
    ...                          test_score=[0.9, 0.8, 1.0, 0.4, 0.5, 0.6], status="ok"))
    >>> table = score_table(runs)
    >>> table[["seq_len", "mean", "ci_low", "ci_high", "best"]].round(3).values.tolist()
    [[10.0, 0.9, 0.652, 1.148, 1.0], [30.0, 0.5, 0.252, 0.748, 0.6]]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def t975(df: int) -> float:
    """t(0.975, df), the two-sided 95% Student t quantile with `df` degrees of freedom (NaN below 1).

    >>> round(t975(2), 4), round(t975(30), 4), round(t975(1000), 4)
    (4.3027, 2.0423, 1.9623)
    """
    if df < 1:
        return math.nan
    from scipy.special import stdtrit  # what scipy.stats.t.ppf calls, without loading scipy.stats (0.5-1 s)

    return float(stdtrit(df, 0.975))


TABLE_COLUMNS = ["cell", "seq_len", "n", "mean", "std", "ci_low", "ci_high", "best", "best_seed"]


def score_table(runs: pd.DataFrame, column: str = "test_score", direction: str = "higher") -> pd.DataFrame:
    """Per cell and length over the successful seeds: n, mean, std, 95% t-interval, and the
    best seed (the maximum for a 'higher' metric, the minimum for a 'lower' one)."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for (cell, seq_len), group in ok.groupby(["cell", "seq_len"], sort=False):
        values = group[column].to_numpy(dtype=float)
        n, mean, low, high = mean_interval(values)
        std = float(values.std(ddof=1)) if n > 1 else math.nan
        best = group.loc[group[column].idxmax() if direction == "higher" else group[column].idxmin()]
        rows.append(
            dict(
                cell=cell,
                seq_len=seq_len,
                n=n,
                mean=mean,
                std=std,
                ci_low=low,
                ci_high=high,
                best=float(best[column]),
                best_seed=int(best["seed"]),
            )
        )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def mean_interval(values) -> tuple[int, float, float, float]:
    """(n, mean, 95% t-interval low, high) of a sample; the interval is NaN for fewer than 2 values."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    mean = float(values.mean())
    half = t975(n - 1) * float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return n, mean, mean - half, mean + half


def paired_differences(
    runs: pd.DataFrame, key: str, first, second, within=("seq_len",), column: str = "test_score"
) -> pd.DataFrame:
    """`first` minus `second` of `key` (e.g. cell lstm minus srn) per group of `within`, over the seeds
    both have a successful run for (same seed: same data), with a 95% t-interval of the differences —
    tighter than comparing two means when the seeds' data make both runs easier or harder together.

    >>> runs = pd.DataFrame(dict(cell=["lstm", "srn"] * 3, seq_len=10, seed=[0, 0, 1, 1, 2, 2], status="ok",
    ...                          test_score=[0.9, 0.5, 0.7, 0.4, 0.8, 0.45]))
    >>> paired_differences(runs, "cell", "lstm", "srn")[["seq_len", "pairs", "mean"]].round(3).values.tolist()
    [[10.0, 3.0, 0.35]]
    """
    ok = runs[runs["status"] == "ok"]
    within = list(within)
    rows = []
    for group, at in ok.groupby(within, sort=True) if within else [((), ok)]:
        a = at[at[key] == first].set_index("seed")[column]
        b = at[at[key] == second].set_index("seed")[column]
        seeds = a.index.intersection(b.index)
        n, mean, low, high = mean_interval((a[seeds] - b[seeds]).to_numpy())
        if n:
            rows.append(
                dict(
                    zip(within, group if isinstance(group, tuple) else (group,)),
                    pairs=n,
                    mean=mean,
                    ci_low=low,
                    ci_high=high,
                )
            )
    return pd.DataFrame(rows, columns=[*within, "pairs", "mean", "ci_low", "ci_high"])


def _column(runs: pd.DataFrame, name: str, default) -> pd.Series:
    """A column that older stores may lack or leave empty, with `default` there."""
    return runs[name].fillna(default) if name in runs else pd.Series(default, index=runs.index)


def training_label(runs: pd.DataFrame) -> pd.Series:
    """How each run was trained: 'single run', or e.g. 'stacked pack of 3', '+ CUDA graphs' when graphed.
    Stores written before the `packing` column existed only packed block-diagonally."""
    size, packing = _column(runs, "pack_size", 1).astype(int), _column(runs, "packing", "")
    graphed = _column(runs, "graphed", False).astype(bool)
    label = [f"{p or 'block'} pack of {n}" if n > 1 else "single run" for n, p in zip(size, packing)]
    return pd.Series(label, index=runs.index) + graphed.map({True: " + CUDA graphs", False: ""})


def throughput_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Training speed per cell, length, device and way of training: median steps/s of a run,
    model-steps/s (steps/s x runs packed together), and seconds per run."""
    ok = runs[runs["status"] == "ok"]
    ok = ok.assign(model_steps_per_s=ok["steps_per_s"] * _column(ok, "pack_size", 1), training=training_label(ok))
    return (
        ok.groupby(["cell", "seq_len", "device", "training"], sort=False)
        .agg(
            steps_per_s=("steps_per_s", "median"),
            model_steps_per_s=("model_steps_per_s", "median"),
            wall_time_s=("wall_time_s", "median"),
            runs=("run_id", "count"),
        )
        .reset_index()
    )
