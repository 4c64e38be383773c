import math

import numpy as np
import pandas as pd
import pytest

from memorybench.analysis.search import memory_horizon
from memorybench.analysis.summary import score_table, t975, throughput_table


def runs_frame(values: dict) -> pd.DataFrame:
    rows = [
        dict(
            cell=cell,
            seq_len=L,
            seed=s,
            test_score=v,
            status="ok",
            run_id=f"{cell}{L}{s}",
            steps_per_s=100 + s,
            wall_time_s=1.0,
            device="cpu",
        )
        for (cell, L), accs in values.items()
        for s, v in enumerate(accs)
    ]
    return pd.DataFrame(rows)


def test_interval_is_the_student_t_interval():
    table = score_table(runs_frame({("gru", 5): [0.2, 0.4, 0.9, 0.5]}))
    row = table.iloc[0]
    values = np.array([0.2, 0.4, 0.9, 0.5])
    half = 3.1824463 * values.std(ddof=1) / 2  # t(0.975, 3)
    assert row["n"] == 4 and row["mean"] == pytest.approx(0.5)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    assert (row["best"], row["best_seed"]) == (0.9, 2)


def test_single_seed_has_no_interval_and_failed_runs_are_left_out():
    runs = runs_frame({("srn", 5): [0.3, 0.9]})
    runs.loc[1, "status"] = "failed"
    row = score_table(runs).iloc[0]
    assert row["n"] == 1 and math.isnan(row["ci_low"]) and row["mean"] == 0.3


def test_t_quantiles():
    exact = {1: 12.7062047, 2: 4.3026527, 3: 3.1824463, 10: 2.2281389, 30: 2.0422725, 60: 2.0002978, 1000: 1.9623391}
    assert {df: t975(df) for df in exact} == pytest.approx(exact, rel=1e-7)
    assert math.isnan(t975(0))


def test_memory_horizon_is_the_longest_passing_length_with_pessimistic_and_optimistic_ends():
    table = score_table(
        runs_frame(
            {
                ("lstm", 5): [1.0, 1.0, 1.0],
                ("lstm", 10): [0.9, 0.7, 0.5],
                ("lstm", 20): [0.2, 0.3, 0.9],
                ("srn", 5): [0.3, 0.2, 0.1],
            }
        )
    )
    horizon = memory_horizon(table, threshold=0.55).set_index("cell")
    assert horizon.at["lstm", "horizon"] == 10  # mean 0.7 at L=10, 0.467 at L=20
    assert horizon.at["lstm", "horizon_low"] == 5 and horizon.at["lstm", "horizon_high"] == 20
    assert math.isnan(horizon.at["srn", "horizon"])


def test_lower_is_better_metrics_read_best_seed_and_horizon_the_other_way():
    runs = runs_frame({("gru", 5): [0.01, 0.02, 0.03], ("gru", 10): [0.05, 0.2, 0.05], ("gru", 20): [0.3, 0.2, 0.25]})
    table = score_table(runs, direction="lower")
    assert table.set_index("seq_len").loc[5, ["best", "best_seed"]].tolist() == [0.01, 0]
    horizon = memory_horizon(table, threshold=0.1, direction="lower").iloc[0]
    assert horizon["horizon"] == 10  # mean 0.1 at L=10; 0.25 at L=20
    assert horizon["horizon_low"] == 5 and horizon["horizon_high"] == 10  # pessimistic reads the upper end


def test_throughput_is_the_median_over_seeds():
    table = throughput_table(runs_frame({("lstm", 5): [0.1, 0.2, 0.3]}))
    assert table.iloc[0]["steps_per_s"] == 101 and table.iloc[0]["runs"] == 3
    packed = throughput_table(runs_frame({("lstm", 5): [0.1, 0.2, 0.3]}).assign(pack_size=3, packing="stacked"))
    assert packed.iloc[0]["model_steps_per_s"] == 303 and table.iloc[0]["model_steps_per_s"] == 101
    assert (table.iloc[0]["training"], packed.iloc[0]["training"]) == ("single run", "stacked pack of 3")


def test_throughput_keeps_single_and_packed_runs_apart():
    runs = runs_frame({("gru", 5): [0.1, 0.2, 0.3, 0.4]}).assign(
        pack_size=[1, 1, 2, 2], packing=["", "", "block", "block"], graphed=[False, False, True, True]
    )
    table = throughput_table(runs).set_index("training")
    assert (
        table.loc["single run", "runs"] == 2
        and table.loc["block pack of 2 + CUDA graphs", "model_steps_per_s"] == 2 * 102.5
    )


def test_paired_differences_pair_by_seed_and_are_tighter_than_two_means():
    from memorybench.analysis.summary import paired_differences

    # seed difficulty moves both cells together: the per-seed difference is nearly constant
    easy = {0: 0.9, 1: 0.5, 2: 0.7, 3: 0.3}
    rows = [dict(cell="lstm", seq_len=10, seed=s, status="ok", test_score=v + 0.1 + 0.01 * s) for s, v in easy.items()]
    rows += [dict(cell="srn", seq_len=10, seed=s, status="ok", test_score=v) for s, v in easy.items()]
    rows += [dict(cell="srn", seq_len=10, seed=9, status="ok", test_score=0.0)]  # no LSTM partner: left out
    rows += [dict(cell="lstm", seq_len=10, seed=3, status="failed", test_score=float("nan"))]
    runs = pd.DataFrame(rows)
    paired = paired_differences(runs, "cell", "lstm", "srn").iloc[0]
    assert paired["pairs"] == 4 and paired["mean"] == pytest.approx(0.115)
    unpaired = score_table(runs[runs["seed"] != 9])
    width = lambda r: r["ci_high"] - r["ci_low"]
    assert width(paired) < 0.05 < min(width(r) for _, r in unpaired.iterrows())


def test_a_score_that_is_not_monotone_reads_below_its_first_fail_with_the_longest_pass_beside_it():
    # nndl-shuffled GRU before 0.2.0's retraining: 0.64 at L=20, 0.54 at L=25 (below 0.55), 0.82 at L=30
    table = score_table(
        runs_frame({("gru", 20): [0.64, 0.63, 0.65], ("gru", 25): [0.54, 0.53, 0.55], ("gru", 30): [0.82, 0.80, 0.84]})
    )
    horizon = memory_horizon(table, threshold=0.55).iloc[0]
    assert (horizon["horizon"], horizon["longest_pass"]) == (20, 30)  # not ">= 30" over a failing L=25
    assert horizon["horizon_high"] == 30 and horizon["horizon_low"] == 20
