"""The commands a results folder recorded, made rerunnable: each sweep's `command` in store.json as the user
would type it today. Records written before the command was recorded as typed (memorybench.invocation) name the
interpreter's path to `__main__.py`, the one-command form before subcommands (`memorybench --task adding`), an old
module path (`python -m memorybench.explosion`), a subcommand twice (`memorybench horizon horizon`) or a flag
removed in 0.3.0 (`--match-params`, now `--match params`);
`memorybench store rebuild` corrects those and flags any other it cannot read as a command.

Example:
    >>> corrected("memorybench --task adding --seeds 3"), corrected("/tmp/x/memorybench/__main__.py run --quick")
    ('memorybench run --task adding --seeds 3', 'memorybench run --quick')
    >>> corrected("memorybench horizon horizon --task adding"), corrected("python -m memorybench.explosion --seeds 5")
    ('memorybench horizon --task adding', 'memorybench explosion --seeds 5')
    >>> corrected("memorybench run --lengths 5"), corrected("make results") is None
    ('memorybench run --lengths 5', True)
    >>> corrected("python run_all.py --lengths 10 --match-params")
    'python run_all.py --lengths 10 --match params'
"""

from __future__ import annotations

import shlex
from pathlib import Path

SUBCOMMANDS = (
    "run",
    "report",
    "suite",
    "horizon",
    "docs",
    "explosion",
    "diagnose",
    "store",
    "list",
)  # memorybench.cli.main


def corrected(command: str) -> str | None:
    """`command` as it reruns today ('' stays ''), or None when it is not a memorybench command this can correct."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return command
    words = [w for word in words for w in (("--match", "params") if word == "--match-params" else (word,))]
    if Path(words[0]).name == "__main__.py" and Path(words[0]).parent.name == "memorybench":
        words[0] = "memorybench"
    if words[:2] == ["python", "-m"] and len(words) > 2 and words[2].startswith("memorybench"):
        words = ["memorybench", *([words[2].split(".", 1)[1]] if "." in words[2] else []), *words[3:]]
    if Path(words[0]).name in ("run_all.py",) or words[:2] in (["python", "run_all.py"], ["python3", "run_all.py"]):
        return shlex.join(words)
    if words[0] != "memorybench":
        return None
    if len(words) == 1 or words[1].startswith("-") and words[1] not in ("-h", "--help", "--version", "--plugin"):
        words.insert(1, "run")  # the one-command form before subcommands ran the sweep
    while len(words) > 2 and words[1] in SUBCOMMANDS and words[2] == words[1]:
        del words[2]
    return shlex.join(words)


def corrected_sweeps(sweeps: list) -> tuple[list, int, int]:
    """(the sweeps with their commands corrected, how many were corrected, how many are flagged): a corrected entry
    keeps what it recorded as `command_as_recorded`; one that cannot be corrected gets a `command_note`."""
    out, fixed, flagged = [], 0, 0
    for sweep in sweeps:
        if not isinstance(sweep, dict) or not isinstance(sweep.get("command", ""), str):
            out.append(sweep)
            continue
        command = sweep.get("command", "")
        new = corrected(command)
        if new is None:
            sweep = {
                **sweep,
                "command_note": "not a memorybench command as recorded; rerun it as its other fields describe",
            }
            flagged += 1
        elif new != command:
            sweep = {**sweep, "command": new, "command_as_recorded": sweep.get("command_as_recorded", command)}
            fixed += 1
        out.append(sweep)
    return out, fixed, flagged
