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
