"""The report's section for a horizon search (`memorybench horizon`): each cell's searched horizon, its
bracket and every probed length's mean test score and solve rate, from tables/search_horizons.csv and
tables/search_probes.csv."""
from __future__ import annotations

import pandas as pd

from memorybench.analysis.experiments import label_of
from memorybench.report.markdown import markdown_table
from memorybench.report.sections import ReportSection, register_section


def horizon_text(row) -> str:
    """'17 [17, 19]', '>= 240 (cap)', '< 3 (minimum)'; the longest passing length probed beside it where it is longer."""
    if row["censored"] == "above":
        return f">= {int(row['cap'])} (cap)"
    if row["censored"] == "below":
        return f"< {int(row['min_length'])} (minimum)"
    text = f"{int(row['horizon'])} [{int(row['last_pass'])}, {int(row['first_fail'])}]"
    return text + (f"; passes again at {int(row['longest_pass'])}" if row["longest_pass"] > row["horizon"] else "")


def report_section(store, runs=None) -> list[str]:
    path, probes_path = store.tables_dir / "search_horizons.csv", store.tables_dir / "search_probes.csv"
    if not path.exists():
        return []
    table, probes = pd.read_csv(path), pd.read_csv(probes_path)
    first = table.iloc[0]
    rows = [[label_of(r["cell"]), horizon_text(r), int(r["probes"]), int(r["runs"])] for _, r in table.iterrows()]
    probed = probes.sort_values(["cell", "seq_len"])
    probe_rows = [[label_of(r["cell"]), int(r["seq_len"]), f"{r['mean']:.3g}", f"{r['solve_rate']:.2f}", "pass" if r["passed"] else "fail"]
                  for _, r in probed.iterrows()]
    return ["## Horizon search", "",
            f"Task `{first['task']}` ({first['protocol']}), {int(first['seeds'])} seeds a length: the horizon is the last length whose "
            f"mean test score passes {first['threshold']:g} ({first['direction']} is better; memoryless baseline {first['baseline']:.3g}) "
            f"below the first that fails, found from {int(first['start'])} by growing x2, shrinking and bisecting "
            f"(`memorybench horizon`), capped at {int(first['cap'])}. [last pass, first fail] is the bracket; a cell whose "
            "score is not monotone in length shows the longest passing length it was probed at too.", "",
            markdown_table(pd.DataFrame(rows, columns=["cell", "horizon", "lengths probed", "runs"])), "",
            markdown_table(pd.DataFrame(probe_rows, columns=["cell", "L", "mean test score", "solve rate", "threshold"])), ""]


register_section(ReportSection("horizon_search", needs=("tables/search_horizons.csv",), write=report_section))
