"""`memorybench report` and `suite`: their parsers, light enough that `--help` imports neither
torch, pandas nor matplotlib; the work is imported once the arguments parse.

    memorybench report results/
    memorybench suite results/nndl-seeds5 results/adding --readme README.md
"""

from __future__ import annotations

import sys

from memorybench.parser import Parser, folder_path, usage_error

SUITE_MARKERS = (
    "<!-- suite -->",
    "<!-- /suite -->",
)  # where a README holds the suite's table (memorybench.report.suite.MARKERS)


def main(argv: list[str] | None = None, prog: str = "memorybench report") -> int:
    """`memorybench report FOLDER [--threshold T] [--rebuild-store]`."""
    parser = Parser(
        prog=prog, description="Rebuild report.md, figures and tables of a results folder from its stored runs."
    )
    parser.add_argument("folder", type=folder_path, help="a results folder written by run_all.py / memorybench")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="score that defines the memory horizon, in the task's metric (default: the task's own threshold)",
    )
    parser.add_argument(
        "--rebuild-store",
        action="store_true",
        help="write store.json anew for the intact run folders: a readable one keeps its record of sweeps, each "
        "command corrected to rerun as typed today; a damaged or lost one starts an empty record",
    )
    args = parser.parse_or_exit(argv)
    from memorybench.report.build import build_report
    from memorybench.storage.store import ResultsStore, StoreError

    try:
        if args.rebuild_store:
            intact, fixed, flagged = ResultsStore.rebuild(args.folder)
            flags = f", {flagged} flagged (not memorybench commands as recorded)" if flagged else ""
            print(
                f"rebuilt {args.folder}/store.json for {intact} intact runs; {fixed} recorded commands corrected to rerun as typed today{flags}"
            )
        warn_unread(parser.prog, ResultsStore.open(args.folder, create=False))
        print(build_report(args.folder, args.threshold))
    except (StoreError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    return 0


def warn_unread(prog: str, store) -> None:
    """A warning per damaged run folder, and one for the experiments left as they were for want of a plugin."""
    from memorybench.report.plugins_needed import held_back, plugin_note

    for name, why in store.scan()[1].items():
        print(
            f"{prog}: warning: run folder {store.runs_dir / name} is damaged ({why}); left out of the report",
            file=sys.stderr,
        )
    runs = store.collect()[0]
    held = held_back(runs)
    if held.any():
        print(
            f"{prog}: warning: {held.sum()} runs' experiments are left as they were: {plugin_note(store, runs)}",
            file=sys.stderr,
        )


# the committed folders the README's suite table is read from, in its row order (`memorybench suite --reference`)
REFERENCE_FOLDERS = (
    "results/nndl-seeds5",
    "results/nndl-phase",
    "results/nndl-shuffled",
    "results/stream",
    "results/adding",
    "results/copy",
    "results/delayed_recall",
    "results/digits_rows",
    "results/digits_pixels",
    "results/modern",
    "results/parity",
    "results/selective_copying",
    "results/associative_recall",
    "results/flip_flop",
)


def suite(argv: list[str] | None = None, prog: str = "memorybench suite") -> int:
    """`memorybench suite FOLDER ... [--out DIR] [--readme FILE]`."""
    parser = Parser(
        prog=prog,
        description="One table and one figure across tasks, built from the stored runs of several results folders.",
    )
    parser.add_argument(
        "folders", nargs="*", type=folder_path, help="results folders written by memorybench (run_all.py --task ...)"
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help=f"read the committed reference folders instead ({', '.join(REFERENCE_FOLDERS)}): the README's table",
    )
    parser.add_argument(
        "--out",
        type=folder_path,
        default="results/suite",
        help="folder for suite.json, suite.md and suite.png (default: %(default)s)",
    )
    parser.add_argument(
        "--readme",
        type=folder_path,
        default=None,
        metavar="FILE",
        help=f"also write the table into FILE, between its {SUITE_MARKERS[0]} and {SUITE_MARKERS[1]} lines (README.md)",
    )
    args = parser.parse_or_exit(argv)
    if bool(args.folders) == args.reference:
        return usage_error(parser.prog, "give results folders or --reference (the committed ones), one of the two")
    args.folders = args.folders or list(REFERENCE_FOLDERS)
    bad = suite_input_error(args)
    if bad:
        return usage_error(parser.prog, bad)
    from memorybench.report.suite import write_suite
    from memorybench.report.writer import run_writer

    return run_writer(parser, lambda warn: write_suite(args.folders, args.out, args.readme, warn))


def suite_input_error(args) -> str:
    """What is wrong with the suite's folders, --out and --readme ('' when nothing): a folder given twice, an --out
    that is a file, a --readme that does not exist."""
    from pathlib import Path

    seen = {}
    for folder in args.folders:
        if Path(folder).resolve() in seen:
            other = seen[Path(folder).resolve()]
            return f"{folder} is given twice{'' if other == folder else f' (as {other} too)'}; name each folder once"
        seen[Path(folder).resolve()] = folder
    if Path(args.out).exists() and not Path(args.out).is_dir():
        return f"--out {args.out} is a file; give a folder for suite.json, suite.md and suite.png"
    if args.readme is not None and not Path(args.readme).is_file():
        return f"--readme {args.readme}: no such file (allowed: a Markdown file holding {SUITE_MARKERS[0]} ... {SUITE_MARKERS[1]})"
    return ""
