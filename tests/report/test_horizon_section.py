"""The report's horizon-search section: tables with the interval readings, and its two figures."""

import pandas as pd

from memorybench.analysis.search import probe_summary, search_reading
from memorybench.report.horizon_section import report_section
from memorybench.analysis.search_rule import Search
from tests.report.test_suite import stored


def test_the_section_shows_every_reading_and_draws_both_figures(tmp_path):
    store = stored(
        tmp_path / "nndl",
        "nndl",
        {("gru", 30): [0.9, 0.8, 0.85], ("gru", 60): [0.7, 0.6, 0.65], ("gru", 120): [0.3, 0.2, 0.25]},
    )
    runs = store.collect()[0]
    probes = probe_summary(runs, 0.55, "higher").assign(task="nndl", protocol="nndl")
    search = Search(start=30, min_length=3, cap=240)
    reading = search_reading(search, probes, 0.55, "higher")
    store.tables_dir.mkdir(exist_ok=True)
    pd.DataFrame(
        [
            dict(
                task="nndl",
                protocol="nndl",
                cell="gru",
                **{k: v for k, v in reading.items() if k != "bracket"},
                cap=240,
                min_length=3,
                start=30,
                growth=2.0,
                threshold=0.55,
                direction="higher",
                metric="accuracy",
                baseline=0.1,
                seeds=3,
                steps=int(runs["steps"].iloc[0]),
                probes=3,
                runs=9,
                wall_time_s=12.0,
            )
        ]
    ).to_csv(store.tables_dir / "search_horizons.csv", index=False)
    probes.to_csv(store.tables_dir / "search_probes.csv", index=False)

    text = "\n".join(report_section(store, runs))
    assert (
        "| GRU | L50 in [60, 120] | 60 [60, 120] | 30 | 60 | 3 | 9 | 12 |" in text
    )  # pessimistic 30: at 60 the interval reaches down to 0.526
    assert "| GRU | 60 | 0.65 | [0.526, 0.774] | 1.00 | 3 never | pass |" in text  # dev 0.5 at its one evaluation
    for name in ("nndl_scores.png", "nndl_budget.png", "nndl_solve_rate.png"):
        assert (store.root / "figures" / "search" / name).read_bytes().startswith(
            b"\x89PNG"
        ) and f"figures/search/{name}" in text
