"""The report's section for a tuned horizon search (`memorybench horizon --tune`, issue 46), from
tables/tuned_horizons.csv and tables/tuned_probes.csv: per cell its reading at the best of N recipes (the horizon on
the picked recipes' means, L50 from their seeds), and per probed length the recipe picked on dev, its mean score and
solve rate, and the solve rate over every recipe and seed (trainability). Its protocol search, where the folder holds
one, is the horizon section above it: the two readings side by side.

Example (an empty folder has no section):
    >>> from types import SimpleNamespace
    >>> from pathlib import Path
    >>> report_section(SimpleNamespace(tables_dir=Path("/nonexistent")))
    []
"""

from __future__ import annotations

import pandas as pd

from memorybench.analysis.experiments import label_of
from memorybench.analysis.fitted_horizon import FittedHorizon
from memorybench.analysis.search_record import TUNED, probes_of, read_searches
from memorybench.report.horizon_section import horizon_text
from memorybench.report.markdown import markdown_table
from memorybench.report.sections import ReportSection, register_section


def l50_text(row) -> str:
    """A tuned row's L50 ('L50 34 [28, 50]', 'L50 < 3', ...) from its stored reading."""
    given = lambda key: None if pd.isna(row.get(key)) else float(row[key])
    ends = given("l50_bracket_low"), given("l50_bracket_high")
    bracket = None if None in ends else tuple(int(end) for end in ends)
    return FittedHorizon(
        row["l50_reading"], given("l50"), given("l50_low"), given("l50_high"), bracket, int(row["seeds"])
    ).text()


def report_section(store, runs=None) -> list[str]:
    searches = read_searches(store.tables_dir, TUNED)
    if searches is None:
        return []
    table, probes = searches
    lines = ["## Tuned horizon search", ""]
    for _, row in table.iterrows():
        mine = probes_of(probes, row).sort_values("seq_len")
        lines += [
            f"**{label_of(row['cell'])}** on `{row['task']}` ({row['protocol']}), {int(row['seeds'])} seeds, "
            f"{int(row['steps'])} steps, {row['recipe']}: horizon {horizon_text(row)}, {l50_text(row)}; "
            f"{int(row['runs'])} runs over {int(row['probes'])} probed lengths.",
            "",
            markdown_table(
                pd.DataFrame(
                    [
                        [
                            int(p["seq_len"]),
                            p["recipe"],
                            f"{p['mean']:.3g}",
                            "pass" if p["passed"] else "fail",
                            f"{p['solve_rate']:.2f}",
                            f"{p['trainability']:.2f}",
                        ]
                        for _, p in mine.iterrows()
                    ],  # fmt: skip
                    columns=[
                        "L",
                        "recipe picked on dev",
                        "its mean test score",
                        "",
                        "its solve rate",
                        "solve rate, every recipe",
                    ],  # fmt: skip
                )
            ),
            "",
        ]
    lines += [
        "A recipe is picked at each length from the dev scores alone (`memorybench.analysis.recipes`); every recipe "
        "has the protocol's budget. A best of N is optimistic by construction: read it beside the protocol search's.",
        "",
    ]
    return lines


register_section(ReportSection("tuned_search", needs=("tables/tuned_horizons.csv",), write=report_section))
