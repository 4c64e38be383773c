"""`memorybench explosion` (and `memorybench explosion`): train the book's section 6.2
experiment into a results folder and write its report. The experiment itself is
`memorybench.diagnostics.explosion`; this module sits above the report, which shows it.

Example:
    >>> make_parser().parse_args(["--seeds", "2"]).seeds
    2
"""

from __future__ import annotations

import sys

from memorybench.diagnostics.defaults import EXPLOSION_CELLS as CELLS
from memorybench.checks import MAX_RUNS, check_plan_size
from memorybench.invocation import running
from memorybench.parser import Parser, UsageError, folder_path, positive_int


def make_parser(prog: str = "memorybench explosion"):
    parser = Parser(
        prog=prog,
        description="The NNDL book's gradient-explosion experiment (section 6.2): SRN (and LSTM, GRU) at L=20, "
        "SGD lr 0.2, batch 64, summed cross-entropy, 250 steps, without and with per-parameter clipping at 5.0; "
        "every parameter's gradient norm logged at every step before clipping. Writes runs, report.md, "
        "figures and tables into --out.",
    )
    parser.add_argument(
        "--cells",
        nargs="+",
        default=list(CELLS),
        metavar="CELL",
        help=f"cells to train: the book's (srn_book, its one-bias SRN) and the classic ones (srn, lstm, gru) "
        f"(default: {' '.join(CELLS)})",
    )
    parser.add_argument(
        "--seeds",
        type=positive_int(1, "seed count"),
        default=5,
        metavar="N",
        help="seeds per cell and clipping, 0..N-1 (default: %(default)s)",
    )
    parser.add_argument(
        "--steps",
        type=positive_int(1, "step count"),
        default=None,
        metavar="N",
        help="training steps per run (default: the book's 250, i.e. 50 epochs of 5 batches)",
    )
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu", help="where to train (default: %(default)s)"
    )
    parser.add_argument(
        "--out",
        type=folder_path,
        default="results/explosion",
        metavar="DIR",
        help="results folder (default: %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="retrain runs already stored with their norms")
    parser.add_argument("--yes", action="store_true", help=f"train more than {MAX_RUNS:,} runs without asking")
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="record runs trained by code with uncommitted changes (their commit marked +dirty; refused otherwise)",
    )
    return parser


def main(argv: list[str] | None = None, prog: str = "memorybench explosion") -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = make_parser(prog).parse_args(argv)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    from memorybench.cells import cells_in
    from memorybench.diagnostics.explosion import explosion_configs, run_explosion
    from memorybench.report.build import build_report
    from memorybench.storage.store import ResultsStore, StoreError
    from memorybench.sweep.session import check_clean, open_machine, session

    try:
        machine = open_machine(args.device, workers=1)  # the norms are logged by per-step hooks: every run trains here
        cells = list(dict.fromkeys(args.cells))
        allowed = cells_in("book", "classic")
        for cell in cells:
            if cell not in allowed:
                raise ValueError(
                    f"argument --cells: invalid choice: {cell!r} (choose from {', '.join(map(repr, allowed))})"
                )
        if not args.yes:
            check_plan_size(len(cells) * args.seeds * 2, what="this experiment plans")
        check_clean(args.allow_dirty)
        store = ResultsStore.open(args.out)
        configs = explosion_configs(cells, args.seeds, args.device, args.steps)
        print(
            f"plan: {len(configs)} runs ({len(cells)} cells x {args.seeds} seeds x without and with clipping; "
            "runs already stored with their norms are not trained again)"
        )
        with running([*prog.split(), *argv]) as command, session(store, machine, command) as record:
            trained = run_explosion(store, configs, args.force)
            record.entry.update(runs_planned=len(configs), runs_trained=trained, runs_skipped=len(configs) - trained)
            record.write()  # before the report, which lists it
            report = build_report(store.root)
    except (ValueError, StoreError, UsageError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted: the runs finished before it are stored in {args.out}; re-run the same "
            "command to train the rest and write the report",
            file=sys.stderr,
        )
        return 130
    print(f"{trained} runs trained, {len(configs) - trained} already stored; report: {report}")
    return 0
