"""How long `--help` takes for every command, in fresh processes, and what it imported.

    python benchmarks/help_time.py [--repeats 5] [--out results/benchmarks/help-time-cpu.txt]

Each command's `--help` runs `--repeats` times in a new Python process; the table gives the median
wall time, beside an empty interpreter (`python -c pass`) and `import torch` for scale, and whether
torch, pandas or matplotlib was imported (they must not be: tests/cli/test_main.py checks that; this
benchmark only measures, it asserts nothing).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "pandas", "matplotlib")
COMMANDS = [
    [],
    ["run"],
    ["report"],
    ["suite"],
    ["horizon"],
    ["docs"],
    ["explosion"],
    ["diagnose", "through-time"],
    ["diagnose", "memory-capacity"],
    ["diagnose", "extrapolate"],
    ["store", "prune"],
    ["list", "cells"],
]


def timed(code: str, repeats: int) -> tuple[float, str]:
    """(median seconds, last stdout) of `python -c code` in fresh processes."""
    times, out = [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
        times.append(time.perf_counter() - start)
        out = run.stdout
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from memorybench.storage.provenance import provenance_line

    lines = [
        provenance_line(),
        f"median of {args.repeats} fresh processes each",
        "",
        f"{'command':36} {'seconds':>8}  heavy modules imported",
    ]
    for label, code in (("python -c pass", "pass"), ("import torch", "import torch")):
        lines.append(f"{label:36} {timed(code, args.repeats)[0]:8.3f}")
    for command in COMMANDS:
        argv = [*command, "--help"]
        code = (
            "import contextlib, io, sys\nfrom memorybench.cli.main import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    main({argv!r})\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
        )
        seconds, heavy = timed(code, args.repeats)
        lines.append(f"{'memorybench ' + ' '.join(argv):36} {seconds:8.3f}  {heavy.strip() or 'none'}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
