"""`memorybench store prune`, `store share` and `store compact`: their parsers, light enough that `--help`
imports neither torch, pandas nor matplotlib; the work is imported once the arguments parse.

    memorybench store prune results results/nndl-seeds5 --dry-run
    memorybench store share results/nndl-seeds5 --from results
    memorybench store compact results results/nndl-seeds5
"""

from __future__ import annotations

import shlex
import sys

from memorybench.invocation import as_typed
from memorybench.parser import Parser, folder_path


def prune(argv: list[str] | None = None, prog: str = "memorybench store prune") -> int:
    """`memorybench store prune FOLDER ... [--dry-run]`."""
    parser = Parser(
        prog=prog,
        description="Remove the checkpoints (best-dev weights) that neither the report's gate heatmaps "
        "nor a diagnostic's table of the named folders reads. Scores, curves, tables and "
        "reports are unchanged; name every folder that links to one you prune.",
    )
    parser.add_argument(
        "folders", nargs="+", type=folder_path, metavar="FOLDER", help="results folders to slim together"
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be removed, change nothing")
    args = parser.parse_or_exit(argv)
    from contextlib import ExitStack

    from memorybench.report.prune import prune as prune_folders
    from memorybench.storage.store import StoreError, open_results

    command = shlex.join(as_typed(prog, argv))
    try:
        stores = [open_results(folder) for folder in args.folders]
        with ExitStack() as locks:  # every folder's lock: a sweep writing to one of them is refused meanwhile
            for store in stores:
                locks.enter_context(store.lock(command))
            kept, removed = prune_folders(stores, args.dry_run)
    except StoreError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    verb = "would remove" if args.dry_run else "removed"
    for store in stores:
        own = [path for path in removed if path.is_relative_to(store.runs_dir)]
        held = [path for path in kept if path.is_relative_to(store.runs_dir)]
        print(
            f"{store.root}: {verb} {len(own)} checkpoints ({sum(removed[p] for p in own) / 1e6:.1f} MB), kept {len(held)}"
        )
    return 0


def share(argv: list[str] | None = None, prog: str = "memorybench store share") -> int:
    """`memorybench store share TARGET --from SOURCE [--dry-run]`."""
    parser = Parser(
        prog=prog,
        description="Replace the runs a results folder holds a copy of by links to another folder's same runs "
        "(checked equal first). The report is unchanged: rebuild it to confirm.",
    )
    parser.add_argument("target", type=folder_path, help="the results folder to slim")
    parser.add_argument(
        "--from",
        dest="source",
        type=folder_path,
        required=True,
        metavar="SOURCE",
        help="the results folder that keeps the runs",
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be linked, change nothing")
    args = parser.parse_or_exit(argv)
    from memorybench.storage.sharing import share_copies
    from memorybench.storage.store import StoreError, open_results

    try:
        target, source = open_results(args.target), open_results(args.source)
        with target.lock(shlex.join(as_typed(prog, argv))):
            linked, kept = share_copies(target, source, args.dry_run)
    except StoreError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    for run_id, why in kept.items():
        print(f"{parser.prog}: kept {run_id}: not the same run as {source.run_folder(run_id)} ({why})", file=sys.stderr)
    verb = "would link" if args.dry_run else "linked"
    print(f"{verb} {len(linked)} runs of {target.root} to {source.root}; {len(kept)} kept as copies (they differ)")
    return 0


def compact(argv: list[str] | None = None, prog: str = "memorybench store compact") -> int:
    """`memorybench store compact FOLDER ...`."""
    parser = Parser(
        prog=prog,
        description="Rewrite each run folder's run.json (or the four files of results formats 1 and 2: "
        "config.json, result.json, env.json, curves.csv) as one run.json.gz holding the same document, bit for "
        "bit, in less than half the bytes. Scores, tables and reports are unchanged; memorybench before 0.3.0 "
        "cannot read the folder afterwards (format 4).",
    )
    parser.add_argument("folders", nargs="+", type=folder_path, metavar="FOLDER", help="results folders to compact")
    args = parser.parse_or_exit(argv)
    from memorybench.storage.store import StoreError, open_results

    command = shlex.join(as_typed(prog, argv))
    try:
        stores = [open_results(folder) for folder in args.folders]
        left = 0
        for store in stores:
            with store.lock(command):
                rewritten, damaged = store.compact()
            for run_id, why in damaged.items():
                print(
                    f"{parser.prog}: warning: run folder {store.runs_dir / run_id} is damaged ({why}); left as it is",
                    file=sys.stderr,
                )
            print(
                f"{store.root}: rewrote {rewritten} run folders as run.json.gz"
                + (
                    f"; {len(damaged)} damaged left as they are (a sweep that plans them trains them again)"
                    if damaged
                    else ""
                )
            )
            left += len(damaged)
    except StoreError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    return 1 if left else 0
