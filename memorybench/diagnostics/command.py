"""What the commands that profile a results folder share: a bad argument or folder is one line
on stderr and exit status 2, warnings go to stderr, and every file written is listed.

Example:
    >>> parser = OneLineParser(prog="python -m memorybench.diagnostics.example")
    >>> run_writer(parser, lambda warn: [])
    wrote 0 files in 0.0 s
    0
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager


class UsageError(Exception):
    """Bad input, for `Parser` and the checks after parsing: one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage and two lines)
        raise UsageError(message)


def positive_int(minimum: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not an integer (allowed: integers >= {minimum})") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{what} {value} is too small (allowed: integers >= {minimum})")
        return value

    return parse


def folder_path(text: str) -> str:
    """An argparse type for a folder's path; an empty or blank one (an unset shell variable, say) is
    refused rather than read as the current folder.

    >>> folder_path("results/")
    'results/'
    """
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is empty (allowed: a folder's path)")
    return text


def usage_error(prog: str, message: str) -> int:
    """Bad input as one line on stderr, `PROG: error: MESSAGE`; returns the exit status, 2."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit status 2 (argparse's own prints the usage too)
        sys.exit(usage_error(self.prog, message))


def run_writer(parser: argparse.ArgumentParser, write: Callable[[Callable[[str], None]], list], folder=None) -> int:
    """Call `write(warn)`, which returns the paths it wrote; a StoreError or ValueError is one line and exit 2,
    Ctrl-C one line and exit 130. With `folder`, the last line says how its report.md shows what was written."""
    from ..store import StoreError

    started = time.perf_counter()
    try:
        written = write(lambda text: print(f"{parser.prog}: warning: {text}", file=sys.stderr))
    except (StoreError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted: each file it wrote is whole (written atomically), the stored runs are untouched; "
              "re-run the same command to write them all", file=sys.stderr)
        return 130
    for path in written:
        print(path)
    print(f"wrote {len(written)} files in {time.perf_counter() - started:.1f} s")
    if folder is not None:
        print(f"report.md is not rebuilt by this command: `python -m memorybench.report {folder}` adds these to it")
    return 0


def open_results(root):
    """The results folder `root` as a store, for reading: a missing folder or one without store.json is a StoreError."""
    from pathlib import Path

    from ..store import ResultsStore, StoreError

    root = Path(root)
    if not root.is_dir():
        raise StoreError(f"{root} is not a folder; give a results folder written by memorybench")
    if not (root / "store.json").exists():
        raise StoreError(f"{root} is not a memorybench results folder (no store.json)")
    return ResultsStore.open(root, create=False)


@contextmanager
def one_thread():
    """One torch thread while a diagnostic runs: the same sums in the same order every time (and fastest at these sizes)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
