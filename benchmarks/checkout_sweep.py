"""The default sweep at its full budget, two checkouts back to back on one machine: wall time and model-steps/s.

    git worktree add /tmp/old a50b05c~1       # the CPU packing before issue 22
    python benchmarks/checkout_sweep.py --old /tmp/old --new . [/tmp/other ...] [--repeats 1] [--extra --quick]

Each side runs `python run_all.py --lengths 5 10 15 20 25 30` (54 runs: SRN, LSTM, GRU x 6 lengths x 3 seeds,
19,000 steps each with the book's early stop, every core) from its own checkout, in a fresh process, into a
temporary folder; old first, then each new one, `--repeats` times. Printed per side: the wall time of the whole command
(start-up and report included) and, per cell, model-steps/s = the steps its runs trained / the time its
jobs took (a pack's wall time counted once), then the ratios new/old of the medians, for each new checkout. `--extra` passes further arguments
to both commands (`--extra --quick` for a rehearsal). `--keep DIR` keeps each side's last results folder as
DIR/old and DIR/new (DIR/new1, DIR/new2 ... for several), for `benchmarks/compare_results.py`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memorybench.storage.provenance import provenance_line  # noqa: E402
from memorybench.storage.rundir import is_finished, read_run  # noqa: E402

SWEEP = ["run_all.py", "--lengths", "5", "10", "15", "20", "25", "30", "--no-progress"]


def one_sweep(checkout: Path, extra: list[str], keep: Path | None = None) -> tuple[float, dict[str, float]]:
    """(wall seconds, cell -> model-steps/s) of the default sweep from `checkout`; its results folder moved to `keep`
    (replacing what is there), or deleted."""
    out = Path(tempfile.mkdtemp(prefix="checkout-sweep-"))
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *SWEEP, "--out", str(out / "results"), *extra],
        cwd=checkout,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    steps, seconds = defaultdict(int), defaultdict(float)
    for folder in (out / "results" / "runs").iterdir():
        if not is_finished(folder):
            continue  # a link or an unfinished folder: not this sweep's own run
        stored = read_run(folder)  # of either layout: the old checkout may write the four-file one
        config, result = stored.config, stored.result
        steps[config["cell"]] += result["steps_done"]
        seconds[config["cell"]] += result["wall_time_s"] / max(
            1, result.get("pack_size", 1)
        )  # a pack's time once over its runs
    if keep is not None:
        shutil.rmtree(keep, ignore_errors=True)
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(out / "results", keep)
    shutil.rmtree(out)
    return wall, {cell: steps[cell] / seconds[cell] for cell in sorted(steps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, nargs="+", default=[Path(".")])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep each side's last results folder as KEEP/old and KEEP/new (KEEP/new1 ... for several)",
    )
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[])
    args = parser.parse_args()
    print(provenance_line(), flush=True)
    news = ["new"] if len(args.new) == 1 else [f"new{i}" for i in range(1, len(args.new) + 1)]
    sides = {"old": args.old.resolve(), **{side: path.resolve() for side, path in zip(news, args.new)}}
    walls, rates = defaultdict(list), defaultdict(lambda: defaultdict(list))
    for repeat in range(args.repeats):
        for side, checkout in sides.items():
            wall, per_cell = one_sweep(checkout, args.extra, args.keep / side if args.keep else None)
            walls[side].append(wall)
            for cell, rate in per_cell.items():
                rates[side][cell].append(rate)
            print(
                f"{side} ({checkout}): {wall:.1f} s; model-steps/s "
                + ", ".join(f"{c} {r:,.0f}" for c, r in per_cell.items()),
                flush=True,
            )
    for side in news:
        old, new = statistics.median(walls["old"]), statistics.median(walls[side])
        print(
            f"median wall: old {old:.1f} s, {side} {new:.1f} s: {side} takes {new / old:.2f} of old's time ({old / new:.2f}x faster)"
        )
        for cell in sorted(rates[side]):
            o, n = statistics.median(rates["old"][cell]), statistics.median(rates[side][cell])
            print(f"  {cell}: model-steps/s old {o:,.0f}, {side} {n:,.0f}: {n / o:.2f}x")


if __name__ == "__main__":
    main()
