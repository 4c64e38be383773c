"""What a stored run must hold to be read: every field of its config, result and curves present where
required and of its type. Storage asks this of each run when it reads a folder (`ResultsStore.scan`),
without the cell and task registries: a folder is data, readable without the plugins its runs were
trained with. Whether a run's cell or task exists here is asked where a model is built.

Example:
    >>> run_problem({"cell": "gru", "seq_len": 5, "seed": 0}, {"status": "ok", "test_score": 0.9, "best_dev_score": 0.8}, ["step"], [[10]])
    ''
    >>> run_problem({"cell": "gru", "seq_len": 5, "seed": 0}, {"status": "ok", "test_score": "high", "best_dev_score": 0.8}, ["step"], [[10]])
    "its result is not a run's (test_score='high' is not allowed; it must be a number)"
"""

from __future__ import annotations

import typing
from memorybench.config import check_values, config_defaults
from memorybench.result import RunResult, upgrade

REQUIRED_CONFIG = ("cell", "seq_len", "seed")  # what names a run; any other field missing takes its default
REQUIRED_RESULT = ("status", "test_score", "best_dev_score")  # what every table reads; a result of any format has them
RESULT_TYPES = {name: hint for name, hint in typing.get_type_hints(RunResult).items() if name != "curves"}
STATUSES = ("ok", "failed")


def config_problem(config) -> str:
    """Why a stored config cannot be read ('' when it can): not a mapping, a field missing or unknown, a
    value of the wrong type or range."""
    if not isinstance(config, dict):
        return f"its config is not a mapping ({type(config).__name__})"
    missing = [name for name in REQUIRED_CONFIG if name not in config]
    defaults = config_defaults()
    unknown = sorted(set(config) - set(defaults))
    try:
        if missing or unknown:
            raise ValueError(f"field {(missing or unknown)[0]!r} is {'missing' if missing else 'unknown'}")
        check_values({**defaults, **config})
    except ValueError as exc:
        return f"its config is not a valid run config ({' '.join(str(exc).split())})"
    return ""


def result_problem(result) -> str:
    """Why a stored result cannot be read ('' when it can): a required field missing, a value of the wrong type."""
    if not isinstance(result, dict):
        return f"its result is not a mapping ({type(result).__name__})"
    result = upgrade(result)
    missing = [name for name in REQUIRED_RESULT if name not in result]
    if missing:
        return f"its result is not a run's (field {missing[0]!r} is missing)"
    if result["status"] not in STATUSES:
        return f"its result is not a run's (status={result['status']!r} is not allowed; choose one of {', '.join(STATUSES)})"
    for name, value in result.items():
        hint = RESULT_TYPES.get(name)
        if hint is not None and not _fits(value, hint):
            return f"its result is not a run's ({name}={value!r} is not allowed; it must be {_describe(hint)})"
    return ""


def curves_problem(columns, rows) -> str:
    """Why stored curves cannot be read ('' when they can): every row as long as the columns, every value a
    number (or null), the step a whole number."""
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns) or "step" not in columns:
        return "its curves are not a run's (their columns name no step)"
    for row in rows:
        if not isinstance(row, list) or len(row) != len(columns):
            return f"its curves are not a run's (a row {str(row)[:40]} does not match the columns {columns})"
        for name, value in zip(columns, row):
            if not (value is None or _fits(value, int if name == "step" else float)):
                return f"its curves are not a run's ({name}={value!r} is not allowed; it must be {_describe(int if name == 'step' else float)})"
    return ""


def run_problem(config, result, columns, rows) -> str:
    """Why a stored run cannot be read ('' when every part can): `config_problem`, `result_problem`, `curves_problem`."""
    return config_problem(config) or result_problem(result) or curves_problem(columns, rows)


def _fits(value, hint) -> bool:
    """Whether `value` (as JSON reads it) is of type `hint`: an int is a number too, a bool is neither; a
    missing number (None) is allowed where a float is."""
    if typing.get_origin(hint) is typing.Union or type(hint).__name__ == "UnionType":
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if hint is int:
        return isinstance(value, int)
    if hint is float:
        return value is None or isinstance(value, (int, float))
    return isinstance(value, typing.get_origin(hint) or hint)


def _describe(hint) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(hint, str(hint))
