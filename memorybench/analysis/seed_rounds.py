"""Seeds added where they narrow a cell's L50 (issue 45): after a horizon search has bracketed its crossing on
means, each round trains more seeds at the probed lengths nearest the fitted L50 until its 95% interval's half-width
is at most a stated share of L50, or the seed cap is reached, or more seeds cannot place it (the share solving does
not fall with length, or L50 is censored at the search's cap or minimum). Where L50 is censored inside the search's
range — half the seeds still solve at the longest length probed, which the bracket on means can leave short of the
crossing — a round first probes a length further out (x growth) with the search's seeds.

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame(dict(seq_len=[10] * 3 + [20] * 3 + [40] * 3, seed=[0, 1, 2] * 3, status="ok",
    ...                          test_score=[1, 1, 1, 1, 0, 1, 0, 0, 0]))
    >>> next_seeds(runs, 0.5, "higher", SeedRule(max_seeds=6, share=0.1, step=3))
    (None, [(20, 3, 3), (40, 3, 3)])
    >>> next_seeds(runs, 0.5, "higher", SeedRule(max_seeds=3, share=0.1, step=3))
    ('seed cap', [])
    >>> next_seeds(runs[runs["seq_len"] < 40], 0.5, "higher", SeedRule(max_seeds=6, step=3, cap=100))  # out to 40
    (None, [(40, 0, 3)])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from memorybench.analysis.fitted_horizon import fitted_horizon

STOPS = ("interval", "seed cap", "censored above", "censored below", "no fall")  # why a cell's seeds stopped


@dataclass(frozen=True)
class SeedRule:
    """When a cell has enough seeds: its L50 interval's half-width at most `share` of L50, or `max_seeds` at the
    lengths nearest the crossing; `step` seeds are added at each of those lengths a round."""

    max_seeds: int
    share: float = 0.1
    step: int = 5
    cap: int | None = None  # the search's longest and shortest lengths, and its growth factor: where a censored
    min_length: int = 1  # L50 may still be found by probing further out
    growth: float = 2.0


def targets(runs: pd.DataFrame, reading: str, l50: float | None, bracket) -> list[int]:
    """The probed lengths nearest the crossing: the two around a fitted L50 (the nearest on each side), a separation
    bracket's two ends, the one length of a 'one length' reading."""
    lengths = sorted(int(n) for n in set(runs["seq_len"]))
    if reading == "separated":
        return [int(bracket[0]), int(bracket[1])]
    if reading == "fit":
        below = [n for n in lengths if n <= l50]
        above = [n for n in lengths if n > l50]
        return below[-1:] + above[:1]
    return lengths[:1] if reading == "one length" else []


def next_seeds(
    runs: pd.DataFrame, threshold: float, direction: str, rule: SeedRule
) -> tuple[str | None, list[tuple[int, int, int]]]:
    """(why the cell stops, or None; [(length, first new seed, seeds to add)]) from its runs at every probed length.
    A length's seeds are 0..n-1: the new ones continue from n."""
    fitted = fitted_horizon(runs, threshold, direction)
    if fitted.reading == "fit" and (fitted.high - fitted.low) / 2 <= rule.share * fitted.l50:
        return "interval", []
    lengths = sorted(int(n) for n in set(runs["seq_len"]))
    if fitted.reading == "censored above" and rule.cap and lengths[-1] < rule.cap:
        return None, [(min(rule.cap, math.ceil(lengths[-1] * rule.growth)), 0, rule.step)]
    if fitted.reading == "censored below" and lengths[0] > rule.min_length:
        return None, [(max(rule.min_length, math.floor(lengths[0] / rule.growth)), 0, rule.step)]
    if fitted.reading in ("censored above", "censored below", "no fall"):
        return fitted.reading, []
    have = runs.groupby("seq_len")["seed"].nunique()
    wanted = [
        (length, int(have[length]), min(rule.step, rule.max_seeds - int(have[length])))
        for length in targets(runs, fitted.reading, fitted.l50, fitted.bracket)
        if have[length] < rule.max_seeds
    ]
    return (None, wanted) if wanted else ("seed cap", [])


def most_runs(cells: int, seeds: int, rule: SeedRule) -> int:
    """An upper bound on the runs the seed rounds add: two lengths a cell, each up to the cap (a round may move the
    crossing to a new pair of lengths: counted twice).

    >>> most_runs(3, 3, SeedRule(max_seeds=10))
    84
    """
    return cells * 2 * 2 * max(0, rule.max_seeds - seeds)
