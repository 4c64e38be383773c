"""`memorybench horizon`: search each cell's memory horizon on a task instead of reading it off a grid.

    memorybench horizon --task nndl --cells srn lstm gru --seeds 3
    memorybench horizon --task adding --cells gru --max-length 400 --dry-run

Each round trains, for every cell still searching, `--seeds` seeds at its next length
(`memorybench.analysis.search_rule.Search`: start at the task's CPU-grid maximum, grow x2 while the mean
test score passes the task's threshold, shrink while it fails, then bisect). A round's probes of
all cells train at once through the executor, packed as a sweep packs them; every probe is an
ordinary stored run in `--out` (the task's results folder by default), so a sweep's runs count,
nothing is trained twice, and a stopped search resumes. Writes tables/search_horizons.csv (one row
per cell) and tables/search_probes.csv (one row per probed length) beside the folder's other searches
(a repeated search replaces only its own rows: memorybench.analysis.search_record), then the report.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from memorybench.checks import MAX_LENGTH, MAX_RUNS, about, check_plan_size
from memorybench.invocation import running
from memorybench.parser import Parser, UsageError, folder_path, positive_int, usage_error

if TYPE_CHECKING:  # the parser stays light: --help imports no torch
    from memorybench.sweep.horizon import SearchPlan

PROG = "memorybench horizon"
CAP_FACTOR = 8  # default --max-length: this many times the task's CPU-grid maximum


def positive_float(what: str, minimum: float):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} {text!r} is not a number (allowed: numbers > {minimum:g})"
            ) from None
        if not (math.isfinite(value) and value > minimum):
            raise argparse.ArgumentTypeError(f"{what} {text} is not allowed (allowed: numbers > {minimum:g})")
        return value

    return parse


def cost_line(costliest: dict[str, list[int]], stored, seeds: int, steps: int, workers: int) -> str:
    """The most the search can still cost: per cell, the lengths of its costliest outcome (`Search.costliest`)
    priced at this folder's stored runs of the cell at the same budget (a run's share of its pack's wall time
    per unit of length), spread over the workers.

    >>> import pandas as pd
    >>> stored = pd.DataFrame(dict(cell=["srn"], steps=[100], status=["ok"], seq_len=[10], wall_time_s=[80.0], pack_size=[2]))
    >>> cost_line({"srn": [20, 40], "gru": [20]}, stored, seeds=3, steps=100, workers=2)
    "at most 9 runs (srn 20, 40; gru 20): about 6 min of training for srn at the stored runs' speed; gru: no stored run at 100 steps to price"
    """
    runs = sum(len(lengths) for lengths in costliest.values()) * seeds
    ok = stored[(stored["status"] == "ok") & (stored["steps"] == steps)]
    seconds, priced, unpriced = 0.0, [], []
    for cell, lengths in costliest.items():
        mine = ok[ok["cell"] == cell]
        if not lengths:
            continue
        if not len(mine):
            unpriced.append(cell)
            continue
        per_length = (mine["wall_time_s"] / mine["pack_size"].fillna(1).clip(lower=1) / mine["seq_len"]).median()
        seconds += per_length * seeds * sum(lengths) / workers
        priced.append(cell)
    where = "; ".join(f"{cell} {', '.join(map(str, lengths))}" for cell, lengths in costliest.items() if lengths)
    line = f"at most {runs} runs ({where or 'none: every cell is done'})"
    if priced:
        line += f": about {about(seconds)} of training for {' '.join(priced)} at the stored runs' speed"
    if unpriced:
        line += f"; {' '.join(unpriced)}: no stored run at {steps} steps to price"
    return line


def make_parser(prog: str) -> Parser:
    parser = Parser(
        prog=prog,
        description="Search each cell's memory horizon on a task: the longest length at which the mean "
        "test score of its seeds passes the task's threshold (grown, then bisected).",
    )
    for options in (search_options, seed_options, rule_options, budget_options, output_options):
        options(parser)
    return parser


def search_options(parser) -> None:
    """What is searched: the task, its protocol, the cells and the seeds."""
    parser.add_argument(
        "--task",
        default="nndl",
        metavar="TASK",
        help="the memory task, a registered one (`memorybench list tasks`) (default: %(default)s)",
    )
    parser.add_argument("--protocol", default=None, help="the training settings (default: the task's first)")
    parser.add_argument(
        "--cells",
        nargs="+",
        default=None,
        metavar="CELL",
        help="cells to search; all: every classic and modern cell (default: the classic cells, srn lstm gru)",
    )
    parser.add_argument(
        "--seeds",
        type=positive_int(1, "seed count"),
        default=3,
        metavar="N",
        help="seeds per probed length (default: 3)",
    )


def seed_options(parser) -> None:
    """What is added to the probes: seed rounds and a recipe grid."""
    parser.add_argument(
        "--max-seeds",
        type=positive_int(1, "seed cap"),
        default=None,
        metavar="N",
        help="after the search, add --seeds seeds a round at the lengths nearest each cell's L50 until its interval's "
        "half-width is at most --l50-share of L50, or N seeds there (default: --seeds: none added)",
    )
    parser.add_argument(
        "--tune",
        action="store_true",
        help="train every probed length at each recipe of the cell's grid (the protocol's, learning rates 3e-4 1e-3 "
        "3e-3 1e-2, the LSTM's forget bias 1) and read it at the recipe picked on dev scores; writes "
        "tables/tuned_horizons.csv, 'best of N recipes', beside the protocol search's",
    )
    parser.add_argument(
        "--l50-share",
        type=positive_float("l50 share", 0),
        default=0.1,
        metavar="S",
        help="the L50 interval's half-width, as a share of L50, at which a cell has enough seeds (default: 0.1)",
    )


def rule_options(parser) -> None:
    """The search's rule: where it starts, how it grows and bisects, and its cap."""
    parser.add_argument(
        "--start",
        type=positive_int(1, "start length"),
        default=None,
        metavar="L",
        help="the first length probed (default: the task's CPU-grid maximum, so a committed sweep's runs count)",
    )
    parser.add_argument(
        "--growth", type=positive_float("growth", 1), default=2.0, help="factor to grow or shrink by (default: 2)"
    )
    parser.add_argument(
        "--resolution",
        type=positive_float("resolution", 0),
        default=0.1,
        help="bisect until first fail - last pass <= max(1, ceil(RESOLUTION x last pass)) (default: 0.1)",
    )
    parser.add_argument(
        "--max-length",
        type=positive_int(1, "max length"),
        default=None,
        metavar="CAP",
        help=f"the longest length probed; a horizon there reads '>= CAP at this budget' (default: {CAP_FACTOR}x the "
        "task's CPU-grid maximum, e.g. nndl 240, adding 800)",
    )


def budget_options(parser) -> None:
    """The budget and where the runs train."""
    parser.add_argument("--quick", action="store_true", help="a smoke test: 200 steps a run (not a measurement)")
    parser.add_argument(
        "--steps", type=positive_int(1, "steps"), default=None, help="steps a run instead of the protocol's budget"
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to train (default: %(default)s)"
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help=f"run a search beyond the sane bounds ({MAX_RUNS:,} runs at most, lengths above {MAX_LENGTH:,}) without asking",
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="record runs trained by code with uncommitted changes (their commit marked +dirty; refused otherwise)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int(1, "worker count"),
        default=None,
        metavar="N",
        help="runs trained at once on the CPU (default: the number of cores)",
    )
    parser.add_argument(
        "--executor",
        default="local",
        metavar="NAME",
        help="where the probes train: local (a process pool) or ray (default: local)",
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="HOST:PORT",
        help="with --executor ray: the cluster to join (default: a local one)",
    )


def output_options(parser) -> None:
    """Where the search is stored, and what it prints."""
    parser.add_argument(
        "--out", type=folder_path, default=None, metavar="DIR", help="results folder (default: the task's)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan and the first round's probes; train nothing"
    )
    parser.add_argument("--no-progress", action="store_true", help="no per-run lines, only a line per round")


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    try:
        args = make_parser(prog).parse_args(argv)
    except UsageError as exc:
        return usage_error(prog, str(exc))
    try:
        with running(
            [*prog.split(), *(sys.argv[1:] if argv is None else argv)]
        ) as command:  # as typed, for the lock and the provenance
            return _search(args, prog, command)
    except (UsageError, ValueError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2

    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted: every finished probe is stored; run the same command again to resume",
            file=sys.stderr,
        )
        return 130


def _search(args, prog: str, command: list[str]) -> int:
    from memorybench.report.build import build_report
    from memorybench.report.horizon_section import horizon_text
    from memorybench.storage.store import ResultsStore
    from memorybench.sweep.horizon import Prober, search_folder
    from memorybench.sweep.session import check_clean, open_machine
    from memorybench.sweep.tuned import TunedProber

    plan = search_plan(args)
    machine = open_machine(args.device, args.workers, args.executor, args.address)
    # an existing folder is checked now; a new one is made only when training starts
    folder = Path(args.out or plan.grid.out)
    store = ResultsStore.open(folder) if folder.exists() and (not folder.is_dir() or any(folder.iterdir())) else None
    prober = (TunedProber if args.tune else Prober)(plan, args.cells, args.seeds)
    if preview(prog, args, prober, prober.read(store), machine.workers):
        return 0  # --dry-run
    check_clean(args.allow_dirty)
    store = store or ResultsStore.open(folder)
    progress = not args.no_progress
    horizons, record = search_folder(prober, store, machine, command, seed_rule(args, plan.search), progress)
    for _, row in horizons.iterrows():
        print(f"{row['cell']}: horizon {horizon_text(row)}" + (f" ({row['recipe']})" if args.tune else ""))
    elapsed = time.perf_counter() - record.started
    print(f"{record.entry['runs_trained']} runs trained in {elapsed:.0f} s; report: {build_report(store.root)}")
    return 0


STORED = "a sweep's runs already stored there are not trained again"


def preview(prog: str, args, prober, stored, workers: int) -> bool:
    """Print the plan and its cost; with --dry-run the first round too (True: stop there); a plan beyond the sane
    bounds is refused without --yes."""
    from memorybench.analysis.seed_rounds import SeedRule, most_runs
    from memorybench.sweep.horizon import lengths_per_cell

    plan = prober.plan
    k = lengths_per_cell(workers, len(args.cells), args.seeds)
    print(plan_line(prog, args, plan, workers, k))
    costliest = {cell: plan.search.costliest(prober.probes[cell], k) for cell in args.cells}
    per_probe = max(len(prober.configs(cell, plan.search.start)) for cell in args.cells)  # seeds (x recipes, tuned)
    print(cost_line(costliest, stored, per_probe, prober.steps, workers))
    if args.dry_run:
        first = [f"{cell} L={n}" for cell in args.cells for n in plan.search.next_lengths(prober.probes[cell], k)]
        print(
            f"first round: {', '.join(first) or 'nothing (every cell is done)'} ({len(first) * per_probe} runs; {STORED})"
        )
        return True
    if not args.yes:
        extra = most_runs(len(args.cells), args.seeds, SeedRule(args.max_seeds)) if args.max_seeds else 0
        check_plan_size(sum(map(len, costliest.values())) * per_probe + extra, what="this search may train")
    return False


def seed_rule(args, search):
    """The seed rounds `--max-seeds` asks for (None by default: no rounds)."""
    from memorybench.analysis.seed_rounds import SeedRule

    if not args.max_seeds or args.max_seeds <= args.seeds:
        return None
    return SeedRule(args.max_seeds, args.l50_share, args.seeds, search.cap, search.min_length, args.growth)


def plan_line(prog: str, args, plan, workers: int, k: int) -> str:
    """The search's first line: task, protocol, threshold, cells, seeds, the rule, and lengths per cell a round."""
    task, search = plan.task, plan.search
    return (
        f"{prog}: task {args.task} ({plan.protocol}, threshold {task.threshold:g}, {task.direction} is better), "
        f"cells {' '.join(args.cells)}, {args.seeds} seeds, start {search.start}, x{args.growth:g}, cap {search.cap}; "
        f"{workers} worker(s): {k} length(s) per cell a round"
    )


def search_plan(args) -> SearchPlan:
    """The search the arguments ask for, checked against the task (cells, budget, start and cap); a UsageError else."""
    from memorybench.config import PROTOCOLS, QUICK
    from memorybench.sweep.catalogue import default_cells, offered_task, resolve_cells
    from memorybench.analysis.search_rule import Search
    from memorybench.sweep.horizon import SearchPlan
    from memorybench.tasks import get_task

    spec = offered_task(args.task)
    grid, minimum = spec.grid, max(spec.min_seq_len, spec.horizon_from)  # no probe below the task's reading rule
    protocol = args.protocol or grid.protocols[0]
    if protocol not in grid.protocols:
        raise UsageError(
            f"--protocol {protocol} does not train task {args.task} (allowed: {', '.join(grid.protocols)})"
        )
    args.cells = resolve_cells(args.cells) if args.cells else default_cells()
    if args.tune and args.max_seeds:
        raise UsageError(
            f"--max-seeds {args.max_seeds} with --tune is not supported: seed rounds add seeds at the protocol's recipe; "
            "run them in a search without --tune"
        )
    if args.quick and args.steps:
        raise UsageError(f"--quick ({QUICK['steps']} steps) and --steps {args.steps} contradict each other; give one")
    cap = args.max_length or CAP_FACTOR * max(grid.lengths)
    allowed = f"(allowed: integers >= {minimum})"
    if cap < minimum:
        raise UsageError(f"--max-length {cap} is below task {args.task}'s minimum length {allowed}")
    if args.start and args.start > cap:
        raise UsageError(f"--start {args.start} is above the cap {cap} (--max-length); start at or below it")
    if not args.yes:
        check_plan_size(0, cap, flag="--max-length")
    start = min(args.start or max(grid.lengths), cap)
    if start < minimum:
        raise UsageError(f"--start {start} is below task {args.task}'s minimum length {allowed}")
    search = Search(start, minimum, cap, args.growth, args.resolution)
    task = get_task(PROTOCOLS[protocol]["task"])
    return SearchPlan(args.task, grid, protocol, task, search, args.quick, args.steps, args.device)
