"""Do the published horizons hold for seeds they did not use? (issue 45)

For the book protocol's SRN and GRU (`results/nndl-seeds5`) and the stream protocol's LSTM (`results/stream`), this
reads the suite's fitted horizon (L50 with its 95% bootstrap interval over seeds, `results/suite/suite.json`),
trains 10 fresh seeds (100-109; the published runs used 0-4 and 0-2) at the published L50 with the project's own
`memorybench run`, and asks whether the fresh seeds agree:

- a fitted L50: the fresh estimate is the length at which the published fit's slope, through the fresh seeds'
  solve rate at that length, crosses one half (L50_fresh = L * 2 ** (-logit(p) / slope), p = (solved + 0.5) /
  (seeds + 1)), with the same map of the Wilson 95% interval of p; it holds when L50_fresh lies inside the
  published interval.
- a reading censored above (every probed length at or below L50): the claim is that at least half the seeds solve
  at the longest length probed; it holds when the fresh solve rate's Wilson interval reaches 0.5.

    python benchmarks/fresh_seeds.py            # ~15 min on 2 cores; writes results/benchmarks/fresh-seeds.txt

Run it from a clean commit: the fresh runs are stored under results/benchmarks/fresh-seeds/ with their provenance.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memorybench.analysis.fitted_horizon import logistic_fit, seed_outcomes  # noqa: E402
from memorybench.cli.run import main as run  # noqa: E402
from memorybench.config import PROTOCOLS  # noqa: E402
from memorybench.storage.provenance import environment  # noqa: E402
from memorybench.storage.store import ResultsStore  # noqa: E402
from memorybench.tasks import get_task  # noqa: E402

CASES = (
    ("results/nndl-seeds5", "nndl", "srn"),
    ("results/nndl-seeds5", "nndl", "gru"),
    ("results/stream", "stream", "lstm"),
)
SEEDS, FIRST_SEED = 10, 100
OUT = ROOT / "results" / "benchmarks"


def wilson(solved: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion.

    >>> [round(x, 3) for x in wilson(5, 10)]
    [0.237, 0.763]
    """
    p = solved / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def crossing(length: int, rate: float, slope: float) -> float:
    """The L50 of a logistic curve in log2(length) with this slope through `rate` at `length`."""
    rate = min(max(rate, 1e-6), 1 - 1e-6)
    return length * 2 ** (-math.log(rate / (1 - rate)) / slope)


def published(folder: str, protocol: str, cell: str) -> dict:
    entries = json.loads((ROOT / "results" / "suite" / "suite.json").read_text())["entries"]
    return next(e for e in entries if (e["folder"], e["protocol"], e["cell"]) == (folder, protocol, cell))


def check(folder: str, protocol: str, cell: str) -> str:
    entry = published(folder, protocol, cell)
    task = get_task(PROTOCOLS[protocol]["task"])
    length = round(entry["l50"]) if entry["l50_reading"] == "fit" else entry["lengths_tested"][-1][0]
    out = OUT / "fresh-seeds" / f"{protocol}-{cell}"
    argv = ["--protocol", protocol, "--cells", cell, "--lengths", str(length), "--seeds", str(SEEDS)]
    if run([*argv, "--first-seed", str(FIRST_SEED), "--out", str(out), "--no-progress", "--device", "cpu"]) != 0:
        raise SystemExit(f"the fresh sweep of {protocol} {cell} failed")
    fresh = ResultsStore(out).collect()[0]
    fresh = fresh[(fresh["cell"] == cell) & (fresh["seq_len"] == length) & (fresh["seed"] >= FIRST_SEED)]
    solved = int(seed_outcomes(fresh, task.threshold, task.direction)["solved"].sum())
    n = len(fresh)
    low, high = wilson(solved, n)
    head = f"{protocol:<7} {cell:<5} published {entry['l50_reading']:<15}"
    if entry["l50_reading"] == "fit":
        runs = ResultsStore(ROOT / folder).collect()[0]
        mine = runs[(runs["protocol"] == protocol) & (runs["cell"] == cell)]
        slope, _ = logistic_fit(seed_outcomes(mine, task.threshold, task.direction))
        estimate = crossing(length, (solved + 0.5) / (n + 1), slope)
        bounds = sorted(crossing(length, p, slope) for p in (low, high))
        inside = entry["l50_low"] <= estimate <= entry["l50_high"]
        return (
            f"{head} L50 {entry['l50']:.1f} [{entry['l50_low']:.1f}, {entry['l50_high']:.1f}] ({entry['seeds']} seeds) | "
            f"fresh at L={length}: {solved}/{n} solve [{low:.2f}, {high:.2f}] -> L50 {estimate:.1f} "
            f"[{bounds[0]:.1f}, {bounds[1]:.1f}] | {'inside' if inside else 'OUTSIDE'} the published interval"
        )
    holds = high >= 0.5
    return (
        f"{head} L50 >= {length} ({entry['seeds']} seeds) | fresh at L={length}: {solved}/{n} solve "
        f"[{low:.2f}, {high:.2f}] | {'consistent' if holds else 'CONTRADICTED'}: at least half should solve"
    )


def main() -> None:
    env = environment(sys.argv)
    lines = [check(*case) for case in CASES]
    text = "\n".join(
        [
            f"# python benchmarks/fresh_seeds.py | commit {env['commit']} | torch {env['torch']} | "
            f"{env['cpu']} x {env['cpu_count']} | {env['date']}",
            f"# {SEEDS} fresh seeds from {FIRST_SEED} at each published L50 (see the script's docstring for the rule)",
            *lines,
        ]
    )
    (OUT / "fresh-seeds.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
