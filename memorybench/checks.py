"""Checks of user-given values: each failure is a ValueError whose message names the value
and what is allowed, in one line (the command prints it as is). No torch here: the
command's parser uses these before anything heavy is imported.

Example:
    >>> check_choice("cell", "rnn", ("srn", "lstm", "gru"))
    Traceback (most recent call last):
    ...
    ValueError: cell='rnn' is not allowed; choose one of srn, lstm, gru
"""

from __future__ import annotations

import numbers


def check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")


def check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}={value!r} is not allowed; it must be an integer >= {minimum}")


def check_probability(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value!r} is not allowed; it must be a number in [0, 1]")


MAX_RUNS = 10_000  # a plan beyond these runs asks for --yes (run, horizon, explosion)
MAX_LENGTH = 10_000  # and one beyond these sequence lengths


def check_plan_size(runs: int, longest: int = 0, what: str = "this sweep plans", flag: str = "--lengths") -> None:
    """A plan beyond the sane bounds is a ValueError naming --yes (the command checks it only without --yes).

    >>> check_plan_size(600_000, what="this experiment plans")
    Traceback (most recent call last):
    ...
    ValueError: this experiment plans 600,000 runs (more than 10,000); pass --yes to run it
    """
    if runs > MAX_RUNS:
        raise ValueError(f"{what} {runs:,} runs (more than {MAX_RUNS:,}); pass --yes to run it")
    if longest > MAX_LENGTH:
        raise ValueError(f"{flag} {longest} is longer than {MAX_LENGTH:,} steps; pass --yes to train at it")


def about(seconds: float) -> str:
    """A time estimate as a person reads it.

    >>> about(20.4), about(600)
    ('20 s', '10 min')
    """
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
