"""The horizon fitted from every seed: the length L50 at which half the seeds solve the task, read from each seed's
own outcome at every probed length rather than from the mean score. Near the threshold the mean-score curve is
flat while seeds spread widely, so a mean over 3-5 seeds cannot place its crossing within a few steps; the share
of seeds that solve falls with length however flat the mean is, and every seed counts.

The probability that a seed solves is modelled as a logistic function of log2(length), fitted by scikit-learn's
`LogisticRegression` with its default L2 penalty on the slope (C = 1, per doubling of length; the intercept is
not penalised). With a few seeds the outcomes are often perfectly separated — every seed solves up to some
length and none from a longer one — and the unpenalised fit does not exist: the reading is then the separation
bracket [longest length where every seed solves, shortest where none does], not a number. Where every seed solves
at every probed length, or the fit puts L50 beyond the longest, the reading is censored above; where none solves
anywhere, or the fit puts L50 below the shortest, censored below (a fit is not extrapolated past the lengths probed). The interval is a bootstrap over seeds (a seed keeps its outcomes at every length; resamples whose outcomes
separate count the bracket's geometric middle, censored ones the end they are censored at).

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame(dict(seq_len=[10] * 4 + [20] * 4 + [40] * 4, seed=[0, 1, 2, 3] * 3, status="ok",
    ...                          test_score=[1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0]))
    >>> fitted = fitted_horizon(runs, threshold=0.5, direction="higher", resamples=50)
    >>> fitted.reading, round(fitted.l50), fitted.low < fitted.l50 < fitted.high, fitted.text()[:7]
    ('fit', 20, True, 'L50 20 ')
    >>> fitted_horizon(runs[runs["seq_len"] != 20], 0.5, "higher", resamples=50).text()  # separated: a bracket
    'L50 in [10, 40]'
    >>> fitted_horizon(runs[runs["seq_len"] == 20], 0.5, "higher", resamples=50).text()  # half solve at one length
    'L50 –'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from memorybench.analysis.search import passes

PENALTY_C = 1.0  # scikit-learn's default: an L2 penalty on the slope per doubling of length
RESAMPLES = 200  # bootstrap resamples of the seeds


@dataclass(frozen=True)
class FittedHorizon:
    """A cell's L50: `reading` is 'fit' (a logistic fit), 'separated' (only `bracket` is known), 'censored above'
    (every seed solves at the longest length: L50 beyond it) or 'censored below' (none solves at the shortest), or
    'no fall' (the fitted share of seeds solving does not fall with length), or 'one length' (some seeds solve and some
    do not at the only length tested)."""

    reading: str
    l50: float | None
    low: float | None  # the 95% bootstrap interval over seeds
    high: float | None
    bracket: tuple[int, int] | None  # separated: (longest length where every seed solves, shortest where none does)
    seeds: int  # the most seeds at one length

    def text(self) -> str:
        """'L50 20 [13, 27]', 'L50 in [10, 40]', 'L50 ≥ 40', 'L50 < 10'."""
        interval = f" [{self.low:.0f}, {self.high:.0f}]" if self.low is not None else ""
        if self.reading == "fit":
            return f"L50 {self.l50:.0f}{interval}"
        if self.reading == "separated":
            return f"L50 in [{self.bracket[0]}, {self.bracket[1]}]"
        if self.reading == "censored above":
            return f"L50 ≥ {self.bracket[1]}"
        return f"L50 < {self.bracket[0]}" if self.reading == "censored below" else "L50 –"


def seed_outcomes(runs: pd.DataFrame, threshold: float, direction: str) -> pd.DataFrame:
    """One row per run: its length, seed and whether it solved (its test score passes; a failed run did not).

    >>> runs = pd.DataFrame(dict(seq_len=[5, 5], seed=[0, 1], status=["ok", "failed"], test_score=[0.9, float("nan")]))
    >>> seed_outcomes(runs, 0.55, "higher")["solved"].tolist()
    [True, False]
    """
    solved = [
        status == "ok" and passes(float(score), threshold, direction)
        for status, score in zip(runs["status"], runs["test_score"])
    ]
    return pd.DataFrame(
        {"seq_len": runs["seq_len"].astype(int).to_numpy(), "seed": runs["seed"].to_numpy(), "solved": solved}
    )


def logistic_fit(outcomes: pd.DataFrame) -> tuple[float, float]:
    """(slope, intercept) of the penalised logistic fit of `solved` on log2(length): P(solve) =
    1 / (1 + exp(-(intercept + slope * log2 L))); L50 = 2 ** (-intercept / slope) where the slope is negative."""
    x = np.log2(outcomes["seq_len"].to_numpy(dtype=float)).reshape(-1, 1)
    model = LogisticRegression(C=PENALTY_C).fit(x, outcomes["solved"].to_numpy(dtype=int))
    return float(model.coef_[0][0]), float(model.intercept_[0])


def point_reading(outcomes: pd.DataFrame) -> tuple[str, float | None, tuple[int, int] | None]:
    """(reading, L50, bracket) of one set of outcomes (see the module docstring)."""
    lengths = sorted(set(outcomes["seq_len"]))
    solved, failed = outcomes[outcomes["solved"]]["seq_len"], outcomes[~outcomes["solved"]]["seq_len"]
    if failed.empty:
        return "censored above", None, (lengths[0], lengths[-1])
    if solved.empty:
        return "censored below", None, (lengths[0], lengths[-1])
    if solved.max() < failed.min():
        return "separated", None, (int(solved.max()), int(failed.min()))
    if len(lengths) == 1:  # some seeds solve and some do not at the one length tested: no curve to read
        return "one length", None, None
    slope, intercept = logistic_fit(outcomes)
    if slope >= 0:
        return "no fall", None, None
    crossing = -intercept / slope  # log2 of L50
    if not math.log2(lengths[0]) <= crossing <= math.log2(lengths[-1]):  # beyond the lengths probed: a bound
        return (
            ("censored above" if crossing > math.log2(lengths[-1]) else "censored below"),
            None,
            (lengths[0], lengths[-1]),
        )
    return "fit", 2**crossing, None


def _as_length(reading: str, l50: float | None, bracket) -> float | None:
    """A resample's reading as one length, for the bootstrap's percentiles."""
    if reading == "fit":
        return l50
    if reading == "separated":
        return math.sqrt(bracket[0] * bracket[1])
    return {"censored above": bracket[1], "censored below": bracket[0]}.get(reading) if bracket else None


def seed_resamples(outcomes: pd.DataFrame, read, resamples: int = RESAMPLES, seed: int = 0) -> list:
    """`read(sample)` of each bootstrap resample of the seeds (a seed keeps its outcomes at every length), in draw
    order; a resample is a multiset of seeds, so each distinct one is read once. None with a single seed.

    >>> outcomes = pd.DataFrame(dict(seq_len=[5, 5], seed=[0, 1], solved=[True, False]))
    >>> sorted(set(seed_resamples(outcomes, lambda sample: int(sample["solved"].sum()), resamples=20)))
    [0, 1, 2]
    """
    seeds = sorted(set(outcomes["seed"]))
    rows = {s: outcomes[outcomes["seed"] == s] for s in seeds}
    rng, seen, found = np.random.default_rng(seed), {}, []
    for _ in range(resamples if len(seeds) > 1 else 0):
        drawn = tuple(sorted(rng.choice(seeds, size=len(seeds)).tolist()))
        if drawn not in seen:
            seen[drawn] = read(pd.concat([rows[s] for s in drawn], ignore_index=True))
        found.append(seen[drawn])
    return found


def fitted_horizon(
    runs: pd.DataFrame, threshold: float, direction: str, resamples: int = RESAMPLES, seed: int = 0
) -> FittedHorizon:
    """One cell's L50 from its runs at every probed length, with a bootstrap interval over its seeds."""
    outcomes = seed_outcomes(runs, threshold, direction)
    reading, l50, bracket = point_reading(outcomes)
    draws = [d for d in seed_resamples(outcomes, lambda sample: _as_length(*point_reading(sample)), resamples, seed)
             if d is not None]  # fmt: skip
    low, high = (float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))) if draws else (None, None)
    per_length = int(outcomes.groupby("seq_len")["seed"].nunique().max())
    return FittedHorizon(reading, l50, low, high, bracket, per_length)


def solve_rates(runs: pd.DataFrame, threshold: float, direction: str) -> pd.DataFrame:
    """Per probed length: how many seeds solve (`solved`) of how many ran (`seeds`), and the share (`rate`).

    >>> runs = pd.DataFrame(dict(seq_len=[5, 5, 9], seed=[0, 1, 0], status="ok", test_score=[0.9, 0.2, 0.1]))
    >>> solve_rates(runs, 0.55, "higher").to_dict("records")[0]
    {'seq_len': 5, 'solved': 1, 'seeds': 2, 'rate': 0.5}
    """
    outcomes = seed_outcomes(runs, threshold, direction)
    rates = outcomes.groupby("seq_len")["solved"].agg(solved="sum", seeds="count").reset_index()
    return rates.assign(solved=rates["solved"].astype(int), rate=rates["solved"] / rates["seeds"])


def _curve(outcomes: pd.DataFrame, x: np.ndarray) -> np.ndarray:
    """The penalised fit's P(solve) at log2 lengths `x`; a constant where every outcome is one class."""
    if outcomes["solved"].nunique() == 1:
        return np.full(len(x), float(outcomes["solved"].iloc[0]))
    slope, intercept = logistic_fit(outcomes)
    return 1 / (1 + np.exp(-(intercept + slope * x)))


def solve_curve(runs: pd.DataFrame, threshold: float, direction: str, points: int = 60,
                resamples: int = RESAMPLES, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """The share of seeds that solve, as the penalised logistic fit draws it over the probed lengths (`points`
    lengths spaced evenly in log length), with a 95% band: the 2.5th and 97.5th percentiles of the fits to the
    bootstrap resamples of the seeds (`seed_resamples`, the same draws as `fitted_horizon`'s).
    The fit is drawn even where the outcomes separate (the penalty keeps its slope finite), though L50 is then read
    as the bracket; columns seq_len, p, low, high.

    >>> runs = pd.DataFrame(dict(seq_len=[10] * 4 + [20] * 4 + [40] * 4, seed=[0, 1, 2, 3] * 3, status="ok",
    ...                          test_score=[1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0]))
    >>> curve = solve_curve(runs, 0.5, "higher", points=3, resamples=50)
    >>> curve["seq_len"].round().tolist(), bool(curve["p"].is_monotonic_decreasing), bool((curve["low"] <= curve["p"]).all())
    ([10.0, 20.0, 40.0], True, True)
    """
    outcomes = seed_outcomes(runs, threshold, direction)
    lengths = outcomes["seq_len"]
    x = np.linspace(np.log2(lengths.min()), np.log2(lengths.max()), points)
    draws = seed_resamples(outcomes, lambda sample: _curve(sample, x), resamples, seed)
    p = _curve(outcomes, x)
    low, high = (np.percentile(draws, 2.5, axis=0), np.percentile(draws, 97.5, axis=0)) if draws else (p, p)
    return pd.DataFrame({"seq_len": 2**x, "p": p, "low": np.minimum(low, p), "high": np.maximum(high, p)})
