"""Markdown for reports: tables, numbers and intervals as the reports print them.

Example:
    >>> import pandas as pd
    >>> print(markdown_table(pd.DataFrame({"L": [5], "SRN": [interval_text(3, 0.5, 0.2, 1.1, bounds=(0, 1))]})))
    | L | SRN |
    |---|---|
    | 5 | 0.50 [0.20, 1.00] (n=3) |
"""

from __future__ import annotations

import math

import pandas as pd


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def fmt(value: float, digits: int = 2) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


def interval_text(
    n: int, mean: float, low: float, high: float, bounds=(-math.inf, math.inf), sign: str = "", digits: int = 2
) -> str:
    """'mean [low, high] (n=N)' with the interval clipped to `bounds`; one value has no interval; none is '–'.

    >>> interval_text(3, 0.5, 0.2, 1.1, bounds=(0, 1)), interval_text(1, -0.25, math.nan, math.nan, sign="+")
    ('0.50 [0.20, 1.00] (n=3)', '-0.25 (n=1)')
    """
    if not n or pd.isna(mean):
        return "–"
    text = f"{mean:{sign}.{digits}f}"
    if n > 1:
        text += f" [{max(low, bounds[0]):{sign}.{digits}f}, {min(high, bounds[1]):{sign}.{digits}f}]"
    return text + f" (n={int(n)})"


def paired_markdown(table: pd.DataFrame, label, digits: int = 2) -> str:
    """`paired_table` as markdown: one row per length, one column per difference."""
    if table.empty:
        return "Only one cell: nothing to pair."
    pairs = list(dict.fromkeys(zip(table["first"], table["second"])))
    cells = {pair: at.set_index("seq_len") for pair, at in table.groupby(["first", "second"], sort=False)}
    rows = [
        [length]
        + [
            interval_text(*cells[p].loc[length, ["pairs", "mean", "ci_low", "ci_high"]], sign="+", digits=digits)
            if length in cells[p].index
            else "–"
            for p in pairs
        ]
        for length in sorted(table["seq_len"].unique())
    ]
    return markdown_table(pd.DataFrame(rows, columns=["L"] + [f"{label(a)} − {label(b)}" for a, b in pairs]))
