"""`memorybench diagnose through-time|memory-capacity|extrapolate`: their parsers, light enough that `--help`
imports neither torch, pandas nor matplotlib; the diagnostic is imported once the arguments parse.

    memorybench diagnose through-time results/
    memorybench diagnose memory-capacity results/delayed_recall
    memorybench diagnose extrapolate results/adding --factors 1 2 4
"""

from __future__ import annotations

from memorybench.diagnostics.defaults import DEFAULT_SIZE, MIN_SIZE, STREAMS, TEST_STEPS, TRAIN_STEPS, WASHOUT
from memorybench.parser import Parser, folder_path, positive_int


def folder_parser(prog: str, description: str) -> Parser:
    """A diagnostic's parser: its description and the results folder it reads."""
    parser = Parser(prog=prog, description=description)
    parser.add_argument(
        "folder", type=folder_path, help="a results folder written by memorybench (holding store.json and runs/)"
    )
    return parser


def through_time(argv: list[str] | None = None, prog: str = "memorybench diagnose through-time") -> int:
    parser = folder_parser(
        prog,
        "Gradient norms through time (‖∂L/∂h_t‖, and ‖∂L/∂c_t‖ for the LSTM) of every successful run "
        "of a results folder, at its best-dev checkpoint and at initialisation, on the test split. Writes "
        "tables/grad_through_time.csv, tables/grad_decay.csv and figures/grad_through_time/*.png into the folder.",
    )
    args = parser.parse_or_exit(argv)
    from memorybench.diagnostics.through_time import write_through_time
    from memorybench.report.writer import run_writer

    return run_writer(parser, lambda warn: write_through_time(args.folder, warn=warn), args.folder)


def memory_capacity(argv: list[str] | None = None, prog: str = "memorybench diagnose memory-capacity") -> int:
    parser = folder_parser(
        prog,
        "Jaeger's memory capacity of every successful delayed-recall run of a results folder: read-outs "
        "of u(t-k), k = 1..K, refitted by least squares on the hidden state h over one input stream and scored "
        "(squared correlation) on another, repeated on --streams independent pairs of streams, beside the trained "
        "head's test MSE. Writes tables/memory_capacity.csv (per cell and N: the seed interval of the stream-mean MC "
        "and the models' stream range), tables/memory_capacity_streams.csv (per run and stream, with the streams' "
        "seeds), tables/memory_capacity_differences.csv (which cells' MC differ), figures/memory_capacity.png and "
        "figures/memory_capacity_streams.png into the folder.",
    )
    stream_options(parser)
    args = parser.parse_or_exit(argv)
    from memorybench.diagnostics.memory_capacity import write_memory_capacity
    from memorybench.report.writer import run_writer

    streams = dict(streams=args.streams, train_steps=args.train_steps, test_steps=args.test_steps, washout=args.washout)
    return run_writer(parser, lambda warn: write_memory_capacity(args.folder, warn=warn, **streams), args.folder)


def stream_options(parser) -> None:
    """The input streams memory capacity is measured on: their lengths, washout and number."""
    parser.add_argument(
        "--train-steps",
        type=positive_int(1, "train steps"),
        default=TRAIN_STEPS,
        help="stream steps the read-outs are fitted on (default: %(default)s)",
    )
    parser.add_argument(
        "--test-steps",
        type=positive_int(2, "test steps"),
        default=TEST_STEPS,
        help="stream steps MC_k is scored on (default: %(default)s)",
    )
    parser.add_argument(
        "--washout",
        type=positive_int(1, "washout"),
        default=WASHOUT,
        help="steps dropped at the start of each stream, >= K (default: %(default)s)",
    )
    parser.add_argument(
        "--streams",
        type=positive_int(1, "streams"),
        default=STREAMS,
        help="independent (fit, score) stream pairs each model is scored on; stream 0 is the one pair "
        "scored before this option existed (default: %(default)s)",
    )


def extrapolate(argv: list[str] | None = None, prog: str = "memorybench diagnose extrapolate") -> int:
    parser = folder_parser(
        prog,
        "Score every successful run of a results folder at test lengths it was not trained on "
        "(factor x its training length), on a fresh, larger test set from its own task generator. Writes "
        "tables/extrapolation.csv, tables/extrapolation_summary.csv and figures/extrapolation/*.png into the folder.",
    )
    parser.add_argument(
        "--factors",
        type=float,
        nargs="+",
        default=None,
        metavar="K",
        help="test lengths as whole multiples >= 1 of each run's training length "
        "(default: the task's own, TaskSpec.extrapolation_factors: 1 2 3 for the digit sum, 1 2 for the built-in others)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help=f"fresh test sequences per run and length, >= {MIN_SIZE} (default {DEFAULT_SIZE}; "
        "the digit sum rounds it down to a multiple of 100)",
    )
    args = parser.parse_or_exit(argv)
    from memorybench.diagnostics.extrapolate import check_factors, check_size, write_extrapolation
    from memorybench.report.writer import run_writer

    def write(warn):
        factors = None if args.factors is None else check_factors(args.factors)
        return write_extrapolation(args.folder, factors, check_size(args.size), warn=warn)

    return run_writer(parser, write, args.folder)


def shift(argv: list[str] | None = None, prog: str = "memorybench diagnose shift") -> int:
    parser = folder_parser(
        prog,
        "Score every successful run of a results folder, at its own length, on fresh test sets drawn with "
        "the task parameters its task names as shifts (flip-flop: sparse p_ignore 0.98 and dense 0.1, as the paper "
        "evaluates models trained at 0.8), beside one drawn as trained. Writes tables/shift.csv, "
        "tables/shift_summary.csv and figures/shift/<task>.png into the folder.",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help=f"fresh test sequences per run and shift, >= {MIN_SIZE} (default {DEFAULT_SIZE})",
    )
    args = parser.parse_or_exit(argv)
    from memorybench.diagnostics.extrapolate import check_size
    from memorybench.diagnostics.shift import write_shift
    from memorybench.report.writer import run_writer

    return run_writer(parser, lambda warn: write_shift(args.folder, check_size(args.size), warn=warn), args.folder)
