"""Readings of a horizon search's probes: the mean's, the interval's two ends, and by training budget."""

import pandas as pd
import pytest

from memorybench.analysis.search import horizon_by_budget, probe_summary, search_reading
from memorybench.analysis.search_rule import Search

SEARCH = Search(start=10, min_length=3, cap=80)


def probes(means, half, lengths=(10, 20, 40, 80)):
    return pd.DataFrame(
        dict(
            cell="gru",
            seq_len=list(lengths),
            mean=means,
            ci_low=[m - half for m in means],
            ci_high=[m + half for m in means],
            passed=None,
        )
    )


def test_the_pessimistic_and_optimistic_horizons_read_the_intervals_ends_at_the_probed_lengths():
    table = probes([0.9, 0.8, 0.6, 0.4], 0.15).assign(passed=[True, True, True, False])
    reading = search_reading(SEARCH, table, 0.55, "higher")
    assert (reading["horizon"], reading["bracket"]) == (40, (40, 80))
    assert (reading["horizon_low"], reading["censored_low"]) == (20, "none")  # ci_low 0.75, 0.65, 0.45: fails from 40
    assert (reading["horizon_high"], reading["censored_high"]) == (80, "above")  # ci_high passes at every probed length


def test_for_a_lower_is_better_metric_the_worse_end_is_the_upper_one():
    table = probes([0.01, 0.05, 0.09, 0.2], 0.03).assign(passed=[True, True, True, False])
    reading = search_reading(SEARCH, table, 0.1, "lower")
    assert (reading["horizon"], reading["horizon_low"], reading["horizon_high"]) == (40, 20, 40)
    assert reading["censored_low"] == reading["censored_high"] == "none"


def test_one_seed_gives_no_interval_and_no_side_readings():
    table = probes([0.9, 0.4], float("nan"), lengths=(10, 20)).assign(passed=[True, False])
    reading = search_reading(SEARCH, table, 0.55, "higher")
    assert reading["horizon"] == 10 and reading["horizon_low"] is None and reading["censored_high"] is None


def test_probe_summary_counts_failed_seeds_against_the_solve_rate_and_lists_every_score():
    runs = pd.DataFrame(
        dict(
            cell="srn",
            seq_len=5,
            seed=[1, 0, 2],
            status=["ok", "ok", "failed"],
            test_score=[0.5, 0.9, None],
            wall_time_s=[2.0, 3.0, 1.0],
            pack_size=[2, 1, 1],
        )
    )
    row = probe_summary(runs, 0.55, "higher").iloc[0]
    assert (row["ok"], row["seeds"], row["mean"], row["passed"]) == (2, 3, pytest.approx(0.7), True)
    assert (
        row["solve_rate"] == pytest.approx(1 / 3) and row["scores"] == "0.9 0.5" and row["wall_time_s"] == 5.0
    )  # 2 s was a pack of 2's


def test_the_horizon_by_budget_grows_as_the_dev_scores_do_and_an_early_stop_keeps_its_best():
    runs = pd.DataFrame(
        dict(run_id=["a", "b", "c", "d"], cell="lstm", seq_len=[10, 10, 20, 20], seed=[0, 1, 0, 1], status="ok")
    )
    dev = {
        "a": [0.3, 0.9, 0.95],
        "b": [0.3, 0.8],
        "c": [0.2, 0.3, 0.9],
        "d": [0.3, 0.2, 0.7],
    }  # b stops early at step 200
    curves = pd.DataFrame(
        [dict(run_id=r, step=100 * (i + 1), dev_score=v) for r, values in dev.items() for i, v in enumerate(values)]
    )
    budget = horizon_by_budget(Search(start=10, min_length=3, cap=20), runs, curves, 0.55, "higher")
    assert budget["step"].tolist() == [100, 200, 300] and budget["censored"].tolist() == ["below", "none", "above"]
    assert budget["horizon"].fillna(-1).tolist() == [-1, 10, 20]
    assert (budget["cell"] == "lstm").all()
