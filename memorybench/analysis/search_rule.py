"""The horizon search: grow the length while a cell passes its task's threshold, then bisect.

The search is a pure function of what has been probed so far (`next_length`): a length and
whether the mean test score of its seeds passed. From the start length it grows by `growth`
while the length passes (up to `cap`), or shrinks by it while it fails (down to `min_length`),
then bisects between the last pass and the first fail until they are within
max(1, ceil(resolution * last_pass)). The first fail is the shortest failing length probed
(a sweep's runs included), so where a score is not monotone in length the horizon stands
below it and `longest_pass` tells how much further a cell passed again. Probes are ordinary stored runs, so a search that was
stopped resumes from its store, and a sweep's runs at a probed length count.

Example:
    >>> passes = lambda length: length <= 37  # a cell whose true horizon is 37: found to within ceil(0.1 * 37) = 4
    >>> search = Search(start=30, min_length=3, cap=240)
    >>> probes = {}
    >>> while (length := search.next_length(probes)) is not None:
    ...     probes[length] = passes(length)
    >>> list(probes), search.reading(probes)["horizon"], search.reading(probes)["bracket"]
    ([30, 60, 45, 37, 41], 37, (37, 41))
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Search:
    start: int
    min_length: int
    cap: int
    growth: float = 2.0
    resolution: float = 0.1  # bisect until first fail - last pass <= max(1, ceil(resolution * last pass))

    def __post_init__(self):
        if not self.min_length <= self.start <= self.cap:
            raise ValueError(
                f"start {self.start} is outside [{self.min_length}, {self.cap}] (the task's minimum and the cap)"
            )
        if self.growth <= 1:
            raise ValueError(f"growth {self.growth} is not allowed (allowed: numbers > 1)")
        if self.resolution <= 0:
            raise ValueError(f"resolution {self.resolution} is not allowed (allowed: numbers > 0)")

    def close_enough(self, last_pass: int, first_fail: int) -> bool:
        return first_fail - last_pass <= max(1, math.ceil(self.resolution * last_pass))

    def bracket(self, probes: dict[int, bool]) -> tuple[int | None, int | None]:
        """(last pass, first fail): the shortest failing length probed, and the longest passing length below it;
        either None while the search is still open (growing: no fail yet; shrinking: no pass below the fail)."""
        fails = [n for n, ok in probes.items() if not ok]
        first_fail = min(fails) if fails else None
        below = [n for n, ok in probes.items() if ok and (first_fail is None or n < first_fail)]
        return (max(below) if below else None), first_fail

    def next_length(self, probes: dict[int, bool]) -> int | None:
        """The next length to probe, or None when the search is done."""
        if self.start not in probes:
            return self.start
        last_pass, first_fail = self.bracket(probes)
        if first_fail is None:  # growing
            return None if last_pass >= self.cap else min(self.cap, math.ceil(last_pass * self.growth))
        if last_pass is None:  # shrinking
            return None if first_fail <= self.min_length else max(self.min_length, math.floor(first_fail / self.growth))
        return None if self.close_enough(last_pass, first_fail) else (last_pass + first_fail) // 2

    def next_lengths(self, probes: dict[int, bool], k: int = 1) -> list[int]:
        """Up to `k` lengths for one round: the next length, then the lengths the search would probe after it
        for either outcome, breadth first (growing from L with k=3: L, then 2L if L passes and the length it
        would shrink or bisect to if L fails). One of them is always the length the next round would have
        probed, so a round of 3 does the work of 2 rounds of 1 with one run in three spare."""
        chosen, frontier = [], [dict(probes)]
        while frontier and len(chosen) < k:
            hypothesis = frontier.pop(0)
            length = self.next_length(hypothesis)
            if length is None:
                continue
            if length not in chosen:
                chosen.append(length)
            frontier += [{**hypothesis, length: outcome} for outcome in (True, False)]
        return chosen

    def costliest(self, probes: dict[int, bool], k: int = 1) -> list[int]:
        """The lengths the search still probes, `k` a round, for the truth that makes them longest in total, over
        every monotone truth (passes up to some h in [min_length - 1, cap]; stored probes keep their outcomes):
        what the plan line prices.

        >>> Search(start=30, min_length=3, cap=240).costliest({})  # a horizon just below the cap: grow, then bisect
        [30, 60, 120, 240, 180, 210, 225]
        """
        worst: list[int] = []
        for truth in range(self.min_length - 1, self.cap + 1):
            seen, new = dict(probes), []
            while lengths := self.next_lengths(seen, k):
                for length in lengths:
                    new.append(length)
                    seen[length] = length <= truth
            if sum(new) > sum(worst):
                worst = new
        return worst

    def reading(self, probes: dict[int, bool]) -> dict:
        """What the probes say: horizon (the last pass below the first fail; the cap when censored above, None
        below the minimum), bracket, longest_pass (the longest passing length probed) and censored."""
        last_pass, first_fail = self.bracket(probes)
        passes = [n for n, ok in probes.items() if ok]
        censored = "above" if first_fail is None else "below" if last_pass is None else "none"
        return dict(
            horizon=last_pass,
            bracket=(last_pass, first_fail) if censored == "none" else None,
            last_pass=last_pass,
            first_fail=first_fail,
            longest_pass=max(passes) if passes else None,
            censored=censored,
        )
