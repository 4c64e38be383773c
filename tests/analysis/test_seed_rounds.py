"""The seed rounds after a horizon search: seeds added at the lengths nearest L50 until the interval is narrow
enough, the seed cap is reached, or more seeds at those lengths cannot place L50."""

import pandas as pd
import pytest

from memorybench.analysis.seed_rounds import STOPS, SeedRule, next_seeds


def runs_of(outcomes: dict[int, list[int]]) -> pd.DataFrame:
    """length -> each seed's outcome (1 solves) as runs scored 1.0 or 0.0."""
    rows = [
        dict(seq_len=n, seed=s, status="ok", test_score=float(v))
        for n, vs in outcomes.items()
        for s, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def test_a_separated_reading_adds_seeds_at_both_ends_of_its_bracket():
    runs = runs_of({5: [1, 1, 1], 10: [1, 1, 1], 20: [0, 0, 0]})
    assert next_seeds(runs, 0.5, "higher", SeedRule(max_seeds=5, step=3)) == (None, [(10, 3, 2), (20, 3, 2)])


def test_a_censored_reading_probes_further_out_until_the_search_ends_there():
    rule = SeedRule(max_seeds=10, step=3, cap=30, min_length=2, growth=2.0)
    every = runs_of({5: [1, 1, 1], 10: [1, 1, 1]})
    assert next_seeds(every, 0.5, "higher", rule) == (None, [(20, 0, 3)])  # x2, the search's seeds
    assert next_seeds(runs_of({5: [1] * 3, 20: [1] * 3}), 0.5, "higher", rule) == (None, [(30, 0, 3)])  # the cap
    assert next_seeds(runs_of({5: [1] * 3, 30: [1] * 3}), 0.5, "higher", rule) == ("censored above", [])
    assert next_seeds(runs_of({5: [0] * 3, 10: [0] * 3}), 0.5, "higher", rule) == (None, [(2, 0, 3)])
    assert next_seeds(runs_of({2: [0] * 3, 10: [0] * 3}), 0.5, "higher", rule) == ("censored below", [])


def test_censored_readings_and_the_cap_stop_the_rounds():
    rule = SeedRule(max_seeds=10, step=3, min_length=5)  # no cap given: nothing further out to probe
    assert next_seeds(runs_of({5: [1, 1], 10: [1, 1]}), 0.5, "higher", rule) == ("censored above", [])
    assert next_seeds(runs_of({5: [0, 0], 10: [0, 0]}), 0.5, "higher", rule) == ("censored below", [])
    full = runs_of({5: [1] * 10, 10: [1] * 5 + [0] * 5, 20: [0] * 10})
    assert next_seeds(full, 0.5, "higher", SeedRule(max_seeds=10, share=0.01))[0] == "seed cap"


def test_a_narrow_enough_interval_stops_the_rounds():
    many = runs_of({8: [1] * 20, 12: [1] * 16 + [0] * 4, 16: [1] * 10 + [0] * 10, 24: [1] * 3 + [0] * 17, 32: [0] * 20})
    assert next_seeds(many, 0.5, "higher", SeedRule(max_seeds=40, share=0.5))[0] == "interval"
    stop, more = next_seeds(many, 0.5, "higher", SeedRule(max_seeds=40, share=0.001))
    assert stop is None and [n for n, _, _ in more] == [16, 24]  # the lengths around L50 (about 17)


@pytest.mark.slow  # a real search and its seed rounds: about 25 s on 2 cores
def test_the_search_adds_seeds_and_records_why_it_stopped(tmp_path):
    from memorybench.cli.horizon import main
    from memorybench.storage.store import ResultsStore

    out = tmp_path / "parity"
    argv = ["--task", "parity", "--cells", "gru", "--seeds", "2", "--max-seeds", "6", "--quick", "--start", "5"]
    assert (
        main([*argv, "--max-length", "20", "--device", "cpu", "--workers", "2", "--out", str(out), "--no-progress"])
        == 0
    )
    horizons = pd.read_csv(out / "tables" / "search_horizons.csv")
    assert horizons["l50_stop"].iloc[0] in STOPS and horizons["max_seeds"].iloc[0] == 6
    runs = ResultsStore(out).collect()[0]
    seeds = runs.groupby("seq_len")["seed"].nunique()
    assert seeds.max() <= 6 and (seeds.max() > 2 or horizons["l50_stop"].iloc[0] != "seed cap")
    assert "seeds stopped: " in (out / "report.md").read_text()
