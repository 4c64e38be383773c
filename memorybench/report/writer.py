"""How the commands that write into a results folder (the suite, the diagnostics) end: a bad folder
is one line on stderr and exit status 2, warnings go to stderr, and every file written is listed.

Example:
    >>> from memorybench.parser import Parser
    >>> parser = Parser(prog="memorybench diagnose example")
    >>> run_writer(parser, lambda warn: [])
    wrote 0 files in 0.0 s
    0
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from memorybench.report.plugins_needed import refuse_without_plugins
from memorybench.storage.store import StoreError, open_results


def run_writer(parser: argparse.ArgumentParser, write: Callable[[Callable[[str], None]], list], folder=None) -> int:
    """Call `write(warn)`, which returns the paths it wrote; a StoreError or ValueError is one line and exit 2,
    Ctrl-C one line and exit 130. With `folder` (a diagnostic's), a folder whose runs need a plugin not given is
    refused first, and the last line says how its report.md shows what was written."""
    started = time.perf_counter()
    try:
        if (
            folder is not None and Path(folder, "store.json").is_file()
        ):  # a diagnostic builds the folder's models: refused, changing nothing, without their plugin
            refuse_without_plugins(open_results(folder), doing="nothing was written")
        written = write(lambda text: print(f"{parser.prog}: warning: {text}", file=sys.stderr))
    except (StoreError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"{parser.prog}: interrupted: each file it wrote is whole (written atomically), the stored runs are untouched; "
            "re-run the same command to write them all",
            file=sys.stderr,
        )
        return 130
    for path in written:
        print(path)
    print(f"wrote {len(written)} files in {time.perf_counter() - started:.1f} s")
    if folder is not None:
        print(f"report.md is not rebuilt by this command: `memorybench report {folder}` adds these to it")
    return 0
