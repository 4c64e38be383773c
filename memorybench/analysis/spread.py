"""The spread of a per-seed quantity: the median with a bootstrap interval, and a test for two groups.

A median over a handful of seeds hides how they spread. Where seeds fall into two groups far
apart (the clipped SRN's late gradient norm: about 1-3 for some seeds, 20-190 for others), a
median of 10 lands in one group or the other by chance, and a retrain that differs only in
float rounding moves it by a factor of several. So every per-seed summary reports:

- `median_interval`: the median and a 95% percentile bootstrap interval of it (10,000
  resamples of the seeds with replacement, a fixed seed, so the interval is reproducible);
- `bimodal`: whether the sorted values have a gap, a ratio between consecutive values, larger
  than 5 with at least 2 seeds on each side of it. Ratios need positive values (norms,
  steps); the test is False otherwise.

Example:
    >>> values = [1.0, 2.0, 3.0, 25.0, 40.0, 190.0]
    >>> median, low, high = median_interval(values)
    >>> round(median, 1), low <= median <= high, bimodal(values)
    (14.0, True, True)
    >>> bimodal([1.0, 1.5, 30.0])  # one seed beyond the gap: an outlier, not a second group
    False
"""

from __future__ import annotations

import math

import numpy as np

RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
GAP_RATIO = 5.0  # consecutive sorted values further apart than this make two groups
MIN_GROUP = 2  # seeds needed on each side of the gap


def median_interval(values, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """(median, low, high): the sample median and the 2.5% and 97.5% percentiles of the medians of `resamples`
    bootstrap resamples (drawn with numpy's default generator from `seed`); NaN for an empty sample, and the
    interval collapses to the value for one."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return math.nan, math.nan, math.nan
    draws = np.random.default_rng(seed).integers(0, values.size, size=(resamples, values.size))
    medians = np.median(values[draws], axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(np.median(values)), float(low), float(high)


def largest_gap(values) -> tuple[float, int]:
    """(ratio, seeds below it): the largest ratio between consecutive sorted values and how many values lie below
    it; (NaN, 0) with fewer than 2 values or any value <= 0."""
    values = np.sort(np.asarray(values, dtype=float))
    if values.size < 2 or not (values > 0).all():
        return math.nan, 0
    ratios = values[1:] / values[:-1]
    at = int(np.argmax(ratios))
    return float(ratios[at]), at + 1


def bimodal(values, ratio: float = GAP_RATIO, min_group: int = MIN_GROUP) -> bool:
    """True when the largest ratio between consecutive sorted values exceeds `ratio` with at least `min_group`
    values on each side."""
    gap, below = largest_gap(values)
    return bool(gap > ratio) and min(below, len(values) - below) >= min_group
