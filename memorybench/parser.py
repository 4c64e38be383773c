"""The one parser every command uses, and the one way a command prints bad input: a single line
`PROG: error: MESSAGE` on stderr and exit status 2 (argparse's own prints the usage and two lines).

Example:
    >>> parser = Parser(prog="memorybench example")
    >>> _ = parser.add_argument("--seeds", type=positive_int(1, "seeds"))
    >>> parser.parse_or_exit(["--seeds", "0"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
"""

from __future__ import annotations

import argparse
import sys


class UsageError(Exception):
    """Bad input, from `Parser` or the checks after parsing: one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)

    def parse_or_exit(self, argv: list[str] | None):
        """`parse_args`, a bad argument printed by `usage_error` and the process ended with status 2."""
        try:
            return self.parse_args(argv)
        except UsageError as exc:
            sys.exit(usage_error(self.prog, str(exc)))


def usage_error(prog: str, message: str) -> int:
    """Bad input as one line on stderr, `PROG: error: MESSAGE`; returns the exit status, 2."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def positive_int(minimum: int, what: str):
    """An argparse type for an integer >= `minimum`, refused naming `what` and what is allowed."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} {text!r} is not an integer (allowed: integers >= {minimum})"
            ) from None
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


def plain_output() -> None:
    """Let a terminal that cannot show a character (an ASCII locale) show a replacement instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
