"""`memorybench run` (also `python run_all.py`): run a sweep, then write the report.

    python run_all.py --lengths 5 10 15 20 25 30            # the book's protocol, 3 seeds
    python run_all.py --lengths 5 10 --cells lstm --quick    # a smoke test
    memorybench report results/                              # rebuild the report only

Bad input is one line on stderr and exit status 2; nothing on disk is touched. The
first Ctrl-C (or SIGTERM) stops the sweep within seconds, keeps every finished run and
says how to resume; a second one exits at once. Torch, pandas and the rest are imported
only after the signal handlers are in place, so even an early Ctrl-C ends cleanly.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from dataclasses import dataclass

from memorybench.checks import MAX_LENGTH, MAX_RUNS, check_plan_size
from memorybench.invocation import command, running
from memorybench.parser import Parser, UsageError, folder_path, plain_output, positive_int
from memorybench.plugins import load_plugins, take_plugins
from memorybench.sweep.settings import SweepAxes

PROG = "memorybench run"  # the sweep's name as `memorybench` and run_all.py both run it


def integer(what: str):
    """An integer of any size: the task decides the smallest allowed (see `resolve_task`)."""

    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not an integer") from None

    return parse


def positive_float(what: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not a number (allowed: finite numbers > 0)") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{what} {text} is not allowed (allowed: finite numbers > 0)")
        return value

    return parse


def bias_value(text: str) -> float | None:
    """A forget-gate bias: a finite number, or 'none' for the initialisation's own."""
    if text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"forget bias {text!r} is not a number (allowed: finite numbers, or none)"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"forget bias {text} is not allowed (allowed: finite numbers, or none)")
    return value


def make_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command's options. Only light modules are imported here (no torch), so --help answers at once;
    the command offers the built-in cells (a cell registered from Python trains through the Python API)."""
    parser = Parser(
        prog=prog,
        description="Train SRN, LSTM and GRU cells on a memory task (default: the NNDL digit sum) at every length and seed, "
        "store every run, and write a report (report.md, figures, CSV tables) into --out.",
    )
    for options in (
        task_options,
        data_options,
        run_options,
        setting_options,
        machine_options,
        packing_options,
        folder_options,
        resume_options,
    ):
        options(parser)
    return parser


def task_options(parser) -> None:
    """The task, the grid of its lengths, and the lengths themselves."""
    parser.add_argument(
        "--task",
        default="nndl",
        metavar="TASK",
        help="the memory task, a registered one (`memorybench list tasks` shows each with its metric, memoryless "
        "baseline, protocols, lengths and results folder); its first protocol, lengths and folder are the "
        "defaults (default: %(default)s)",
    )
    parser.add_argument(
        "--grid",
        choices=("cpu", "literature"),
        default="cpu",
        help="default lengths: cpu (each task's grid sized for 2 cores, <= 15 minutes) or literature (the "
        "published lengths, for GPUs and Ray clusters) (default: %(default)s)",
    )
    parser.add_argument(
        "--lengths",
        nargs="+",
        type=integer("length"),
        default=None,
        metavar="L",
        help="sequence lengths to train at, each at least the task's minimum (default: the task's grid)",
    )


def data_options(parser) -> None:
    """The task's data: its parameters and, for a task that reads files, their folder."""
    parser.add_argument(
        "--data-dir",
        type=folder_path,
        default=None,
        metavar="DIR",
        help="mnist_rows: the folder holding MNIST's four idx files (torchvision's layout works); nothing is downloaded",
    )
    parser.add_argument(
        "--task-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of the task's data (e.g. markers=anywhere for adding, scale=1.0 for delayed_recall, "
        "p=0.2 for the stream digit sum, recall=16 for selective_copying, p_ignore=0.98 for flip_flop); repeat for several",
    )


def run_options(parser) -> None:
    """The cells, the plugins that add more, the seeds and the training protocol."""
    from memorybench.config import PROTOCOLS

    parser.add_argument(
        "--cells",
        nargs="+",
        default=None,
        metavar="CELL",
        help="recurrent cells to compare, registered ones (`memorybench list cells`) or a --plugin's; all: every "
        "classic and modern cell (default: the classic cells, srn lstm gru)",
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="PATH_OR_MODULE",
        help="import a user's file or module that registers cells or tasks before anything is checked; repeatable",
    )
    parser.add_argument(
        "--seeds",
        type=positive_int(1, "seed count"),
        default=3,
        metavar="N",
        help="independent seeds per cell and length, seeds 0..N-1 from --first-seed 0 (default: %(default)s)",
    )
    fresh = "the first seed: seeds S..S+N-1, fresh ones that a folder's runs did not use (default: %(default)s)"
    parser.add_argument("--first-seed", type=positive_int(0, "first seed"), default=0, metavar="S", help=fresh)
    parser.add_argument(
        "--protocol",
        choices=tuple(PROTOCOLS),
        default=None,
        help="the training settings, one of the task's (default: the task's first). Digit sum: nndl: the book exactly (batches in file order); nndl-shuffled: the same, reshuffled every "
        "epoch; stream: fresh noisy sequences every step; nndl-6.2: the book's gradient-explosion settings (SGD lr 0.2, "
        "batch 64, summed loss, 250 steps; see memorybench explosion). Every other task has one protocol, named after it",
    )


def setting_options(parser) -> None:
    """The setting axes (capacity against trainability): each flag an axis, every combination trained."""
    axes = parser.add_argument_group(
        "settings (capacity against trainability; each flag an axis, every combination trained)"
    )
    axes.add_argument(
        "--lr",
        nargs="+",
        type=positive_float("learning rate"),
        default=[],
        metavar="LR",
        help="learning rates to train with (default: the protocol's)",
    )
    axes.add_argument(
        "--init",
        nargs="+",
        choices=("book", "torch"),
        default=[],
        metavar="INIT",
        help="initialisations, from book (the NNDL book's Paddle defaults) and torch (torch's own) (default: the protocol's)",
    )
    axes.add_argument(
        "--hidden",
        nargs="+",
        type=positive_int(1, "hidden size"),
        default=[],
        metavar="H",
        help="hidden sizes (default: the protocol's, 32)",
    )
    variant_options(axes)


def variant_options(axes) -> None:
    """The LSTM's forget-gate variants and the matching of the other cells' sizes to the SRN's."""
    axes.add_argument(
        "--forget-bias",
        nargs="+",
        type=bias_value,
        default=[],
        metavar="B",
        help="LSTM forget-gate biases: a number sets the bias, none keeps the initialisation's own "
        "(default: none); each value is a variant of the LSTM, compared with the LSTM, not an extra try",
    )
    axes.add_argument(
        "--match",
        choices=("params", "state"),
        default=None,
        help="each hidden size is the SRN's; the other cells get the hidden size whose parameter count "
        "(params) or state size (state: the numbers carried from step to step, what memory capacity is "
        "bounded by; the LSTM's h and c, the LRU's complex units) is closest to the SRN's",
    )


def machine_options(parser) -> None:
    """Where the runs train: device, workers, executor and its cluster."""
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where to train; auto takes CUDA when present (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int(1, "worker count"),
        default=None,
        metavar="N",
        help="runs trained at once on the CPU, one torch thread each (default: the number of cores; 1 on CUDA)",
    )
    parser.add_argument(
        "--executor",
        default="local",
        metavar="NAME",
        help='where jobs train: local (this machine\'s cores), ray (a Ray cluster; pip install -e ".[ray]"), '
        "or a --plugin's executor (default: %(default)s)",
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="auto|HOST:PORT",
        help="with --executor ray: the cluster to join (auto: the one `ray start` made here); default: start a local Ray instance",
    )


def packing_options(parser) -> None:
    """How the runs train together: packs of seeds, compiled or eager."""
    parser.add_argument(
        "--pack",
        type=positive_int(1, "pack size"),
        default=None,
        metavar="N",
        help="train up to N seeds of one cell and length together as one packed model (same results to "
        "float tolerance; 1 = single runs); N above --seeds fills packs with the next length's seeds. "
        "Default: all of a cell's runs in packs of at most 32 (256 on CUDA, block-diagonal, replayed from CUDA "
        "graphs; on the CPU stacked, for a cell whose packs beat one run at a time: the LSTM from 6; split "
        "further where that lets the workers finish sooner)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="train each pack through torch.compile's forward (CPU; compiles once per pack shape and worker; "
        "same function, other rounding: recorded as +compiled in each run's packing; eager with a note where "
        "this machine cannot compile). See benchmarks/README.md for where it wins",
    )


def folder_options(parser) -> None:
    """The results folder and the budget."""
    from memorybench.config import QUICK

    parser.add_argument(
        "--out",
        type=folder_path,
        default=None,
        metavar="DIR",
        help="results folder: runs, tables, report and figures (default: the task's, results for the digit sum)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {QUICK['steps']} steps per run instead of the protocol's budget; not a measurement",
    )
    parser.add_argument(
        "--steps",
        type=positive_int(1, "step count"),
        default=None,
        metavar="N",
        help="training steps per run instead of the protocol's budget (a run's id and the report's "
        "experiment heading name it); evaluation keeps the protocol's interval and the last step",
    )


def resume_options(parser) -> None:
    """What to do with the runs the folder (or another) already holds, and with a large plan."""
    parser.add_argument(
        "--reuse",
        type=folder_path,
        default=None,
        metavar="DIR",
        help="take the runs already complete in results folder DIR as links (stored once, not trained again)",
    )
    parser.add_argument("--force", action="store_true", help="retrain runs that are already complete in --out")
    parser.add_argument(
        "--retry-failed", action="store_true", help="retrain runs recorded as failed (default: keep them)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no live progress display")
    parser.add_argument(
        "--yes",
        action="store_true",
        help=f"run a plan beyond the sane bounds ({MAX_RUNS:,} runs, lengths above {MAX_LENGTH:,}) without asking",
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="record runs trained by code with uncommitted changes (their commit marked +dirty; refused otherwise)",
    )


def _exit_now(signum, frame) -> None:
    os.write(2, b"memorybench: interrupted again; exiting now\n")
    os._exit(130)


def _interrupt(signum, frame) -> None:
    """The first Ctrl-C or SIGTERM: unwind (the sweep stops its workers and keeps what finished);
    from now on a second one exits at once."""
    signal.signal(signal.SIGINT, _exit_now)
    signal.signal(signal.SIGTERM, _exit_now)
    raise KeyboardInterrupt


def unique(values: list, flag: str) -> list:
    """`values` without repeats, in order; a note on stderr names what was dropped."""
    kept = list(dict.fromkeys(values))
    if len(kept) < len(values):
        dropped = sorted({str(v) for v in values if values.count(v) > 1})
        print(
            f"memorybench: note: {flag} {' '.join(dropped)} given more than once; each is trained once", file=sys.stderr
        )
    return kept


def task_param(text: str) -> tuple[str, object]:
    """'markers=anywhere' -> ('markers', 'anywhere'); numbers become int or float."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise UsageError(f"--task-param {text!r} is not NAME=VALUE")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


def resolve_task(args) -> None:
    """Fill the task's defaults (protocol, lengths, results folder) and check what was given against the task."""
    from memorybench.config import PROTOCOLS, QUICK
    from memorybench.sweep.catalogue import offered_task

    spec = offered_task(args.task)
    grid = spec.grid
    args.protocol = args.protocol or grid.protocols[0]
    if args.protocol not in grid.protocols:
        raise UsageError(
            f"--protocol {args.protocol} does not train task {args.task} (task {PROTOCOLS[args.protocol]['task']}); "
            f"{args.task} has {', '.join(grid.protocols)}"
        )
    args.lengths = (
        unique(args.lengths, "--lengths")
        if args.lengths
        else list(grid.lengths if args.grid == "cpu" else grid.literature)
    )
    short = [n for n in args.lengths if n < spec.min_seq_len]
    if short:
        raise UsageError(
            f"argument --lengths: length {min(short)} is too small for task {args.task} "
            f"(allowed: integers >= {spec.min_seq_len})"
        )
    args.out = args.out or grid.out
    args.task_params = task_params(args, grid)
    if args.forget_bias and "lstm" not in args.cells:
        raise UsageError(
            f"--forget-bias sets the LSTM's forget gate, and --cells {' '.join(args.cells)} has no LSTM; "
            "add lstm or leave --forget-bias out"
        )
    if args.quick and args.steps:
        raise UsageError(f"--quick ({QUICK['steps']} steps) and --steps {args.steps} contradict each other; give one")


def task_params(args, grid) -> dict:
    """--task-param NAME=VALUE (each once) and --data-dir (for a task that reads data files) as the task's parameters."""
    from memorybench.sweep.catalogue import offered_tasks

    params = {}
    for name, value in map(task_param, args.task_param):
        if name in params and params[name] != value:
            raise UsageError(f"--task-param {name} is given twice ({params[name]!r} and {value!r}); give it once")
        params[name] = value
    if args.data_dir is not None:
        if not grid.reads_files:
            readers = ", ".join(name for name, spec in offered_tasks().items() if spec.grid.reads_files)
            raise UsageError(
                f"--data-dir {args.data_dir} is not read by task {args.task}: it makes its own data "
                f"(tasks that read data files: {readers})"
            )
        params["data_dir"] = args.data_dir
    return params


def check_task_data(configs) -> None:
    """Build one run's data before anything is written, so a bad task parameter or a missing data folder
    is one line now, not a failed run in every worker."""
    import inspect

    from memorybench.tasks import get_task

    first = min(configs, key=lambda c: c.seq_len)
    make_data = get_task(first.task).make_data
    parameters = inspect.signature(make_data).parameters
    allowed = [
        name
        for name, p in parameters.items()
        if name not in ("seq_len", "seed") and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        for name in first.task_params:
            if name not in allowed:
                raise ValueError(
                    f"--task-param {name} is not a parameter of task {first.task} "
                    f"(allowed: {', '.join(n for n in allowed if n != 'data_dir') or 'none'})"
                )
    if "data_dir" in allowed and first.task_params.get("data_dir") is None:
        raise ValueError(
            f"--task {first.task} needs --data-dir DIR, the folder holding its data files (nothing is downloaded)"
        )
    make_data(first.seq_len, first.seed, **first.task_params)


def holds(store) -> str:
    """What a results folder holds, for a note: 'runs of protocol nndl at lengths 5, 10' or 'no complete run'."""
    runs, _ = store.collect()
    if runs.empty:
        return "no complete run"
    return (
        f"runs of protocol {', '.join(sorted(runs['protocol'].astype(str).unique()))} at lengths "
        f"{', '.join(map(str, sorted(runs['seq_len'].unique())))}"
    )


def check_size(args) -> None:
    """Refuse a plan beyond the sane bounds unless --yes (before anything is built or written)."""
    if not args.yes:
        check_plan_size(len(args.cells) * len(args.lengths) * args.seeds * args.axes.size(), max(args.lengths))


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """The sweep; returns the exit status. Called as the process's entry (argv None), an
    interrupted sweep ends the process at once (`exit_interrupted`)."""
    entry = argv is None
    argv = sys.argv[1:] if argv is None else argv
    if entry:  # run_all.py: a terminal that cannot show a character gets a replacement, not a traceback
        plain_output()
    handlers = signal.signal(signal.SIGINT, _interrupt), signal.signal(signal.SIGTERM, _interrupt)
    try:
        with running([*prog.split(), *argv]):
            code = _main(argv, prog)
    except KeyboardInterrupt:
        print("memorybench: interrupted before training started; no run was stored", file=sys.stderr)
        code = 130
    if entry:
        exit_interrupted(code)
    signal.signal(signal.SIGINT, handlers[0])
    signal.signal(signal.SIGTERM, handlers[1])
    return code


def exit_interrupted(code: int) -> None:
    """After an interrupt (130), end the process now: a second Ctrl-C during the interpreter's
    shutdown (worker pools, atexit) would otherwise print a traceback instead of exiting at once."""
    if code == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


def _main(argv: list[str], prog: str) -> int:
    try:
        args = parse_sweep(argv, prog)  # --help and bad flags answer here, before torch is imported
    except (UsageError, ValueError) as exc:
        print(f"memorybench: error: {exc}", file=sys.stderr)
        return 2
    from memorybench.storage.store import StoreError

    try:
        sweep = prepare(args)
    except (UsageError, ValueError, StoreError) as exc:
        print(f"memorybench: error: {exc}", file=sys.stderr)
        return 2
    try:
        return train_and_report(args, sweep)
    except (StoreError, UsageError) as exc:
        print(f"memorybench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a folder made read-only mid-sweep: what was stored before stays whole
        print(
            f"memorybench: error: writing to {sweep.store.root} failed ({exc.strerror or exc}); the runs stored before "
            "it are kept: make room and re-run the same command to train the rest",
            file=sys.stderr,
        )
        return 1


def parse_sweep(argv: list[str], prog: str):
    """The sweep's arguments, checked against the task (its plugins loaded first: they add cells, tasks and protocols)."""
    parsed, plugins = take_plugins(argv)
    load_plugins(plugins)  # a user's cells, tasks, protocols, executors: offered by the parser
    args = make_parser(prog).parse_args(parsed)  # --help answers here, before torch is imported
    from memorybench.sweep.catalogue import default_cells, resolve_cells

    args.cells = resolve_cells(unique(args.cells, "--cells")) if args.cells else default_cells()
    resolve_task(args)
    args.axes = SweepAxes(
        tuple(unique(args.lr, "--lr")),
        tuple(unique(args.init, "--init")),
        tuple(unique(args.hidden, "--hidden")),
        tuple(unique(args.forget_bias, "--forget-bias")),
        args.match or "",
    )
    check_size(args)
    return args


@dataclass(frozen=True)
class Prepared:
    """What a sweep trains and where: its configs, the machine, the packing, the folder and the one it reuses."""

    configs: list
    machine: object
    pack_size: object
    across_lengths: bool
    store: object
    source: object


def prepare(args) -> Prepared:
    """Everything checked and opened before anything is written: cells, configs, the task's data, the machine, the
    folders. Bad input is a ValueError, UsageError or StoreError."""
    from memorybench.engine.policy import default_pack_sizes, packs_span_lengths
    from memorybench.storage.store import ResultsStore, open_results
    from memorybench.sweep.plan import plan_sweep
    from memorybench.sweep.session import open_machine

    if args.reuse and args.force:
        raise UsageError(
            f"--reuse {args.reuse} and --force contradict each other (--force retrains every run); give one"
        )
    configs = plan_sweep(
        args.protocol, args.cells, args.lengths, args.seeds, args.quick, args.device, args.axes, args.task_params,
        steps=args.steps, first_seed=args.first_seed,
    )  # fmt: skip
    check_task_data(configs)
    machine = open_machine(args.device, args.workers, args.executor, args.address)
    kind = machine.device.type
    pack_size = args.pack or default_pack_sizes(args.cells, args.lengths, args.seeds, kind, machine.workers)
    source = open_results(args.reuse) if args.reuse else None
    store = ResultsStore.open(args.out)
    return Prepared(configs, machine, pack_size, packs_span_lengths(args.pack, args.seeds, kind), store, source)


def reuse_runs(args, sweep: Prepared) -> list:
    """Link the runs `--reuse` holds complete into the folder; says how many, and when it holds none of the plan's."""
    from memorybench.storage.sharing import reuse

    if sweep.source is None:
        return []
    shared = reuse(sweep.store, sweep.source, sweep.configs, args.retry_failed)
    print(f"reused {len(shared)} runs complete in {sweep.source.root} (linked, not copied)")
    wanted = {c.run_id() for c in sweep.configs}
    if not shared and not sweep.source.complete_ids(sweep.source.scan()[0], args.retry_failed) & wanted:
        print(
            f"memorybench: note: {sweep.source.root} holds none of this plan's runs ({holds(sweep.source)})",
            file=sys.stderr,
        )
    return shared


def plan_of(args, sweep: Prepared):
    """The work left in the folder (`--compile` dropped with a note where this machine cannot compile); damaged runs named."""
    from memorybench.engine.compiled import compile_note, compile_unavailable
    from memorybench.sweep.plan import plan_work

    store, kind = sweep.store, sweep.machine.device.type
    compiled = args.compile and kind != "cuda"
    if compiled and (note := compile_note(compile_unavailable())):
        print(f"memorybench: note: {note}", file=sys.stderr)
        compiled = False
    plan = plan_work(
        store, sweep.configs, args.force, args.retry_failed, sweep.pack_size, sweep.across_lengths, kind, compiled
    )
    for run_id, why in plan.damaged.items():
        print(
            f"memorybench: warning: run folder {store.runs_dir / run_id} is damaged ({why}); it is trained again",
            file=sys.stderr,
        )
    print(plan.describe(store, sweep.machine.workers))
    return plan


def train_and_report(args, sweep: Prepared) -> int:
    """The sweep in its session (the folder's lock, its provenance), then the report; the exit status."""
    from memorybench.sweep.plan import describe, run_sweep
    from memorybench.sweep.session import check_clean, session

    store, machine = sweep.store, sweep.machine
    with session(store, machine, command()) as record:
        shared = reuse_runs(args, sweep)
        plan = plan_of(args, sweep)
        report = store.root / "report.md"
        if not plan.todo and report.exists() and not plan.damaged and not shared:
            print(
                f"nothing to train: all {len(sweep.configs)} runs are complete in {store.root}; report unchanged: {report}"
            )
            return 0
        check_clean(args.allow_dirty)
        outcome = run_sweep(
            store, sweep.configs, machine.workers, progress=not args.no_progress, plan=plan, executor=machine.executor
        )
        complete = outcome.skipped - len(
            shared
        )  # complete before this command: the plan counts the linked runs as complete
        for config, result in outcome.lost:
            print(f"memorybench: {describe(config, result)}", file=sys.stderr)
        record.entry.update(
            pack_size=sweep.pack_size, runs_planned=len(sweep.configs), runs_trained=len(outcome.done),
            runs_skipped=complete, runs_shared=len(shared), runs_failed=len(outcome.failed),
        )  # fmt: skip
        record.write(interrupted=outcome.interrupted, always=bool(shared))  # before the report, which lists it
        if outcome.interrupted:
            left = len(plan.todo) - len(outcome.done)
            print(
                f"memorybench: interrupted: {len(outcome.done)} of {len(plan.todo)} runs completed and are stored in "
                f"{store.root}; re-run the same command to train the remaining {left}",
                file=sys.stderr,
            )
            return 130
        report = write_report(store, len(outcome.done))
    return 130 if report is None else summary(outcome, complete, shared, sweep.source, report)


def summary(outcome, complete: int, shared: list, source, report) -> int:
    """The sweep's last line, and its exit status (`failures_status`)."""
    lost = f", {len(outcome.lost)} lost (not stored: re-run the same command to train them)" if outcome.lost else ""
    reused = f", {len(shared)} reused from {source.root}" if source else ""
    print(
        f"{len(outcome.done)} runs trained, {complete} already complete{reused}, {len(outcome.failed)} failed{lost}, "
        f"{outcome.wall_time_s:.0f}s; report: {report}"
    )
    return failures_status(outcome, report)


def write_report(store, trained: int):
    """The folder's report after a sweep (its path), or None when Ctrl-C stopped it (every run is stored)."""
    from memorybench.report.build import build_report  # matplotlib: imported only when a report is written

    try:
        return build_report(store.root)
    except KeyboardInterrupt:
        print(
            f"memorybench: interrupted while writing the report; every run is stored in {store.root} "
            f"({trained} trained now): `memorybench report {store.root}` writes the report",
            file=sys.stderr,
        )
        return None


def failures_status(outcome, report) -> int:
    """The exit status of a finished sweep: 1 when every run it trained failed, else 0; failed runs are named on
    stderr (the progress display may be off), the first with its error, each in the report's 'Failed runs'."""
    failed = outcome.failed
    if not failed:
        return 0
    config, result = failed[0]
    every = len(failed) == len(outcome.done)
    print(
        f"memorybench: {'error: every run trained failed' if every else 'warning: some runs failed'} ({len(failed)} of "
        f"{len(outcome.done)}; first: {config.cell} L={config.seq_len} seed {config.seed}: {result.error or 'failed'}); "
        f"all are listed in {report} under 'Failed runs', and --retry-failed trains them again",
        file=sys.stderr,
    )
    return 1 if every else 0
