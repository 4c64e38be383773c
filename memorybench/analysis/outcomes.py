"""What training did to each seed, read from its stored dev curve: `solved` (the dev score passes the threshold at
the last evaluation), `lost` (it passed at some evaluation and no longer does at the last: solved, then lost) or
`never` (it never passed). The test score comes from the best-dev checkpoint, so a lost seed can still score well:
the class is about training (an unstable optimisation, a budget cut short), not about the score.

Example:
    >>> outcome([0.2, 0.6, 0.9], 0.55, "higher"), outcome([0.2, 0.6, 0.4], 0.55, "higher"), outcome([0.3], 0.55, "higher")
    ('solved', 'lost', 'never')
    >>> outcome([0.2, 0.05], 0.1, "lower")  # a lower-is-better metric (MSE)
    'solved'
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from memorybench.analysis.search import passes

OUTCOMES = ("solved", "lost", "never")


def outcome(dev_scores: Sequence[float], threshold: float, direction: str) -> str:
    """One run's class from its dev scores in evaluation order (no evaluation: never)."""
    passed = [passes(float(score), threshold, direction) for score in dev_scores if score == score]  # NaN skipped
    if passed and passed[-1]:
        return "solved"
    return "lost" if any(passed) else "never"


def outcomes_of(curves: pd.DataFrame, threshold: float, direction: str) -> pd.Series:
    """run_id -> class, from the stored curves (one row per evaluation, `step` and `dev_score`)."""
    ordered = curves.sort_values(["run_id", "step"], kind="stable")
    return ordered.groupby("run_id", sort=False)["dev_score"].agg(lambda s: outcome(s.tolist(), threshold, direction))


def outcome_counts(classes: pd.Series) -> str:
    """'3 solved, 1 lost, 1 never' (classes absent are left out; '–' for none).

    >>> outcome_counts(pd.Series(["solved", "never", "solved"]))
    '2 solved, 1 never'
    """
    counts = classes.value_counts()
    return ", ".join(f"{counts[name]} {name}" for name in OUTCOMES if counts.get(name, 0)) or "–"
