"""The horizon searches a results folder keeps (`memorybench horizon`): tables/search_horizons.csv, one row per
search and cell, and tables/search_probes.csv, one row per search, cell and probed length. Each row is keyed by
`SEARCH_KEY`: a new search adds its rows beside the folder's earlier ones, and a repeated search (the same
task, protocol, cell, seeds, budget and threshold) replaces only its own.

Example:
    >>> import pandas as pd
    >>> row = dict(task="parity", protocol="parity", seeds=3, steps=5000, threshold=0.75)
    >>> old = pd.DataFrame([dict(row, cell="srn", horizon=5), dict(row, cell="gru", horizon=7)])
    >>> merged(old, pd.DataFrame([dict(row, cell="gru", horizon=8), dict(row, cell="lru", horizon=4)]))[["cell", "horizon"]].values.tolist()
    [['srn', 5], ['gru', 8], ['lru', 4]]
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from memorybench.storage.rundir import write_csv_tables

SEARCH_KEY = [
    "task",
    "protocol",
    "cell",
    "seeds",
    "steps",
    "threshold",
]  # what makes two searches of one cell the same search
SETTINGS = [
    "task",
    "protocol",
    "seeds",
    "steps",
    "threshold",
    "start",
    "cap",
    "growth",
]  # what the cells of one report table share
HORIZONS, PROBES = "search_horizons.csv", "search_probes.csv"
TUNED = ("tuned_horizons.csv", "tuned_probes.csv")  # a tuned search's (memorybench.sweep.tuned), kept apart


def _text(value) -> str:
    """A key's value as text, a whole float as its integer (a column pandas read with a gap is float)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _keys(frame: pd.DataFrame) -> pd.Series:
    if frame.empty:
        return pd.Series([], dtype=str, index=frame.index)
    return frame[SEARCH_KEY].apply(lambda column: column.map(_text)).agg("|".join, axis=1)


def merged(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """`old`'s rows with their search's rows from `new` in their place, then `new`'s other rows."""
    if old is None or old.empty:
        return new.reset_index(drop=True)
    old_keys, new_keys = _keys(old), _keys(new)
    replaced = [
        new[new_keys == key] if key in set(new_keys) else old[old_keys == key] for key in dict.fromkeys(old_keys)
    ]
    return pd.concat([*replaced, new[~new_keys.isin(set(old_keys))]], ignore_index=True)


def keyed_probes(probes: pd.DataFrame, horizons: pd.DataFrame) -> pd.DataFrame:
    """`probes` with every column of SEARCH_KEY: probes written before searches accumulated lack the budget and
    threshold, which their cell's one search row (task, protocol, cell) holds."""
    missing = [key for key in SEARCH_KEY if key not in probes]
    if not missing:
        return probes
    known = horizons.drop_duplicates(["task", "protocol", "cell"])[["task", "protocol", "cell", *missing]]
    return probes.merge(known, on=["task", "protocol", "cell"], how="left")[[*probes.columns, *missing]]


def read_searches(
    tables: Path, names: tuple[str, str] = (HORIZONS, PROBES)
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(horizons, probes) of the folder whose tables/ is `tables`, every probe keyed; None before any search. `names`:
    the two tables' file names (TUNED: the tuned searches')."""
    if not (tables / names[0]).is_file():
        return None
    horizons = pd.read_csv(tables / names[0])
    probes = (
        pd.read_csv(tables / names[1])
        if (tables / names[1]).is_file()
        else pd.DataFrame(columns=[*SEARCH_KEY, "seq_len"])
    )
    return horizons, keyed_probes(probes, horizons)


def write_searches(
    tables: Path, horizons: pd.DataFrame, probes: pd.DataFrame, names: tuple[str, str] = (HORIZONS, PROBES)
) -> list[Path]:
    """Add one search's rows to the folder's record (`merged`), both tables written atomically."""
    earlier = read_searches(tables, names)
    if earlier is not None:
        horizons, probes = merged(earlier[0], horizons), merged(earlier[1], probes)
    tables.mkdir(exist_ok=True)
    return write_csv_tables(tables, dict(zip(names, (horizons, probes))))


def probes_of(probes: pd.DataFrame, row) -> pd.DataFrame:
    """The probes of the search and cell of one search_horizons row."""
    return probes[_keys(probes) == "|".join(_text(row[key]) for key in SEARCH_KEY)]
