"""The `memorybench` command: one command with subcommands, as git and pip have them.

    memorybench run --lengths 5 10 15 20 25 30    # a sweep and its report (the same as python run_all.py)
    memorybench report results/                   # rebuild a results folder's report
    memorybench diagnose through-time results/    # a diagnostic of a results folder
    memorybench list cells                        # what is registered
    memorybench --help                            # every command

`python -m memorybench` is the same command. Each command is the `main(argv, prog)` of its module,
imported only when the command runs, so `--help` imports neither torch, pandas nor matplotlib. The
old `memorybench report` (and the others) still work. Bad input is one line on stderr,
`PROG: error: ...`, and exit status 2.

Example:
    >>> main(["list", "protocols"])  # doctest: +ELLIPSIS
    nndl                task nndl: adam lr 0.001, batch 8, 19,000 steps, book init
    ...
    0
"""

from __future__ import annotations

import sys
from importlib import import_module

from memorybench.version import __version__
from memorybench.invocation import running
from memorybench.parser import Parser, plain_output, usage_error
from memorybench.commands import COMMANDS
from memorybench.plugins import load_plugins, take_plugins

PROG = "memorybench"


def main(argv: list[str] | None = None) -> int:
    """Run `memorybench ARGV...`; returns the exit status (as the process's entry, argv None, an
    interrupted command ends the process at once: `cli.exit_interrupted`)."""
    if argv is None:
        plain_output()
        code = main(sys.argv[1:])
        if code == 130:
            from memorybench.cli.run import exit_interrupted

            exit_interrupted(code)
        return code
    with running([PROG, *argv]):  # the command as typed, --plugin included, for the provenance it records
        argv, plugins = take_plugins(list(argv))
        try:
            load_plugins(plugins)
        except ValueError as exc:
            return usage_error(PROG, str(exc))
        if argv == ["--version"]:
            print(f"{PROG} {__version__}")
            return 0
        return dispatch(COMMANDS, argv, PROG)


def dispatch(commands: dict, argv: list[str], prog: str) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(help_text(commands, prog))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in commands:
        hint = (
            f"; a sweep's options follow `run`: {PROG} run {name} ..." if name.startswith("-") and prog == PROG else ""
        )
        hint = hint or "; a plugin's command needs its --plugin"
        return usage_error(prog, f"unknown command {name!r} (allowed: {', '.join(commands)}){hint}")
    entry = commands[name]
    if isinstance(entry, dict):
        return dispatch(entry, rest, f"{prog} {name}")
    module, function, _ = entry
    prog = f"{prog} {name}"
    try:
        return (function if callable(function) else getattr(import_module(module), function))(rest, prog=prog)
    except (
        OSError
    ) as exc:  # a file the command could not write or read (read-only, a folder where a file goes): one line
        print(
            f"{prog}: error: {os_error(exc)}; every file is written whole or not at all, so nothing stored was lost",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted; every file is written whole or not at all, so nothing stored was lost: "
            "re-run the same command to finish",
            file=sys.stderr,
        )
        return 130


def os_error(exc: OSError) -> str:
    """An OSError as one line: what, where.

    >>> os_error(PermissionError(13, "Permission denied", "results/report.md"))
    'results/report.md: Permission denied'
    """
    where = exc.filename2 or exc.filename  # a rename's destination: the file the user knows
    return f"{where}: {exc.strerror}" if where and exc.strerror else str(exc)


def help_text(commands: dict, prog: str) -> str:
    rows = list(command_rows(commands))
    width = max(len(name) for name, _ in rows)
    lines = [f"usage: {prog} COMMAND [ARGS ...]", ""]
    if prog == PROG:
        lines += [f"memorybench {__version__}: how far back can recurrent cells (SRN, LSTM, GRU) remember?", ""]
    lines += [
        "commands:",
        *(f"  {name:<{width}}  {text}" for name, text in rows),
        "",
        f"`{prog} COMMAND --help` explains a command's options. `--plugin PATH_OR_MODULE` (any command, "
        "repeatable) first imports a user's file or module that registers cells or tasks.",
    ]
    return "\n".join(lines)


def command_rows(commands: dict, prefix: str = ""):
    """(name, help) of every command, a group's as 'group name'."""
    for name, entry in commands.items():
        if isinstance(entry, dict):
            yield from command_rows(entry, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", entry[2]


def store_rebuild(argv: list[str], prog: str) -> int:
    """`memorybench store rebuild FOLDER`: `memorybench report FOLDER --rebuild-store`."""
    from memorybench.cli.report import main as report

    return report(["--rebuild-store", *argv], prog=prog)


def print_rows(prog: str, description: str, argv: list[str], rows) -> int:
    """Parse `argv` (--help, or nothing), then print `rows()` (name -> text) as two columns: the registries
    are imported only after parsing, so `--help` stays torch-free."""
    Parser(prog=prog, description=description).parse_or_exit(argv)
    rows = rows()
    width = max(map(len, rows), default=0)
    for name, text in rows.items():
        print(f"{name:<{width}}  {text}")
    return 0


def list_tasks(argv: list[str], prog: str) -> int:
    def rows():
        from memorybench.config import PROTOCOLS
        from memorybench.tasks import TASKS

        def describe(name, spec):
            protocols = ", ".join(p for p, settings in PROTOCOLS.items() if settings["task"] == name)
            if spec.grid is None:
                owners = [
                    f"--task {t} --protocol {p}"
                    for t, s in TASKS.items()
                    if s.grid
                    for p in s.grid.protocols
                    if PROTOCOLS[p]["task"] == name
                ]
                how = f" ({', '.join(owners)})" if owners else ""
                return f"{spec.label}, {spec.metric}; protocols: {protocols or 'none (train it from Python)'}{how}"
            grid = spec.grid
            return (
                f"{grid.what}; --task {name}: protocols {', '.join(grid.protocols)}; lengths "
                f"{' '.join(map(str, grid.lengths))} (--grid literature: {' '.join(map(str, grid.literature))}), "
                f"at least {spec.min_seq_len}; into {grid.out}"
            )

        return {name: describe(name, spec) for name, spec in TASKS.items()}

    return print_rows(
        prog,
        "The registered memory tasks: what each is, its metric and memoryless baseline, and how `memorybench run "
        "--task` trains it (protocols, default lengths, results folder).",
        argv,
        rows,
    )


def list_cells(argv: list[str], prog: str) -> int:
    def rows():
        import math

        from memorybench.cells import cell_names, get_cell

        def describe(spec):
            gates = f"gates {' '.join(spec.gates)}" if spec.gates else "no gates"
            paths = (
                "fused kernel"
                if spec.fused
                else "step by step" + (" or a scan over time" if spec.scan else "") + " (no fused kernel)"
            )
            group = {
                "classic": "classic (compared by default)",
                "modern": "modern (compared with --cells all)",
                "book": "the book's section 6.2 cell (memorybench explosion), not compared by --cells all",
                "plugin": "a plugin's (compared when named)",
            }[spec.group]
            constraint = "; its weights constrained after every step" if spec.constrain else ""
            size = sum(math.prod(shape) for shape in spec.shapes(input_size=32, hidden_size=32).values())
            return (
                f"{spec.label}, {group}: {gates}; {paths}{constraint}; at input and hidden size 32 a layer has "
                f"{size:,} parameters and carries {spec.state_size(32)} numbers from step to step"
            )

        return {name: describe(get_cell(name)) for name in cell_names()}

    return print_rows(
        prog,
        "The registered recurrent cells: their group, gates, whether a fused kernel trains them, their parameters "
        "and state size.",
        argv,
        rows,
    )


def list_protocols(argv: list[str], prog: str) -> int:
    def rows():
        from memorybench.config import PROTOCOLS

        shown = {"task", "optimizer", "lr", "batch_size", "steps", "init", "eval_interval", "shuffle"}

        def describe(p):
            extra = "".join(f", {key}={value}" for key, value in p.items() if key not in shown)
            return (
                f"task {p['task']}: {p['optimizer']} lr {p['lr']:g}, batch {p['batch_size']}, {p['steps']:,} steps, {p['init']} init"
                + (", reshuffled every epoch" if p.get("shuffle") else "")
                + extra
            )

        return {name: describe(p) for name, p in PROTOCOLS.items()}

    return print_rows(
        prog,
        "The training protocols (`memorybench run --protocol NAME`): task, optimizer, batch, steps, init.",
        argv,
        rows,
    )
