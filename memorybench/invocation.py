"""The command as the user typed it, for provenance: `memorybench ARGS...` with every option kept
(`--plugin` included), whichever way the process was started.

`memorybench.cli.main.main` records it when the process's entry is the `memorybench` command or
`python -m memorybench`; `run_all.py` records its own. A process that recorded nothing (a worker,
a script calling the Python API) falls back on its own `sys.argv`, with `python -m memorybench`'s
`.../memorybench/__main__.py` shown as `memorybench`.

Example:
    >>> typed(["memorybench", "run", "--plugin", "my_cells.py", "--cells", "mine"])
    ['memorybench', 'run', '--plugin', 'my_cells.py', '--cells', 'mine']
    >>> command()[:2]
    ['memorybench', 'run']
    >>> _ = typed([])
    >>> with running(["memorybench", "report", "results"]) as words:
    ...     words == command()
    True
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

TYPED: list[str] = []  # the words of the command this process runs, as typed (empty: not recorded)


def typed(words: list[str]) -> list[str]:
    """Record `words` as this process's command (replacing any recorded before); returns them."""
    TYPED[:] = list(words)
    return TYPED


def command() -> list[str]:
    """The command this process runs: as recorded by `typed`, else `sys.argv` with the package's
    `__main__.py` named `memorybench` (what `python -m memorybench` runs)."""
    if TYPED:
        return list(TYPED)
    argv = list(sys.argv)
    if argv and Path(argv[0]).name == "__main__.py" and Path(argv[0]).parent.name == "memorybench":
        argv[0] = "memorybench"
    return argv


@contextmanager
def running(words: list[str]):
    """Record `words` as the command while the block runs, unless a command is already recorded (the
    `memorybench` entry records the whole command line before a subcommand records its own part)."""
    outer = list(TYPED)
    if not outer:
        typed(words)
    try:
        yield command()
    finally:
        typed(outer)


def as_typed(prog: str, argv: list[str] | None) -> list[str]:
    """The command as typed: the recorded one, else `prog` (`memorybench store prune`) and `argv`
    (this process's own arguments when None)."""
    return command() if TYPED else [*prog.split(), *(sys.argv[1:] if argv is None else argv)]
