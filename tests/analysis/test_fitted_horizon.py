"""The horizon fitted from every seed (issue 45): a logistic fit where outcomes overlap, the separation bracket
where they do not, censored readings at the ends, and a bootstrap interval over seeds."""

import numpy as np
import pandas as pd
import pytest

from memorybench.analysis.fitted_horizon import fitted_horizon, point_reading, seed_outcomes, solve_curve, solve_rates


def runs_of(scores: dict[int, list[float]]) -> pd.DataFrame:
    """Runs with these test scores per length (seed i is the i-th score at every length)."""
    rows = [
        dict(seq_len=n, seed=i, status="ok", test_score=v) for n, values in scores.items() for i, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_overlapping_outcomes_are_fitted_and_the_crossing_lies_where_half_the_seeds_solve():
    runs = runs_of({8: [1] * 6, 16: [1, 1, 1, 1, 0, 0], 32: [1, 1, 0, 0, 0, 0], 64: [0] * 6})
    fitted = fitted_horizon(runs, 0.5, "higher", resamples=100)
    assert fitted.reading == "fit" and 16 < fitted.l50 < 32 and fitted.seeds == 6
    assert fitted.low <= fitted.l50 <= fitted.high and fitted.text().startswith("L50 2")


def test_separated_outcomes_give_the_bracket_not_a_number():
    runs = runs_of({10: [1, 1, 1], 20: [1, 1, 1], 40: [0, 0, 0]})  # the unpenalised fit would not exist
    assert point_reading(seed_outcomes(runs, 0.5, "higher")) == ("separated", None, (20, 40))
    fitted = fitted_horizon(runs, 0.5, "higher", resamples=50)
    assert fitted.text() == "L50 in [20, 40]" and fitted.low == fitted.high == pytest.approx((20 * 40) ** 0.5)


@pytest.mark.parametrize("scores, reading, text", [
    ({10: [1, 1], 20: [1, 1]}, "censored above", "L50 ≥ 20"),
    ({10: [0, 0], 20: [0, 0]}, "censored below", "L50 < 10"),
    ({10: [1, 1, 1, 0], 20: [1, 1, 1, 0], 40: [1, 1, 0, 1]}, "censored above", "L50 ≥ 40"),  # the fit's crossing lies beyond 40
])  # fmt: skip
def test_a_crossing_beyond_the_lengths_probed_is_censored_not_extrapolated(scores, reading, text):
    fitted = fitted_horizon(runs_of(scores), 0.5, "higher", resamples=20)
    assert (fitted.reading, fitted.l50, fitted.text()) == (reading, None, text)


def test_a_lower_is_better_metric_and_a_failed_run_count_as_the_metric_says():
    runs = runs_of({10: [0.001, 0.002, 0.5], 20: [0.5, 0.002, 0.5]})  # MSE: solved at or below 0.01
    runs.loc[1, "status"] = "failed"  # a failed run did not solve, whatever its score
    assert seed_outcomes(runs, 0.01, "lower")["solved"].tolist() == [True, False, False, False, True, False]


def test_the_solve_curve_falls_through_half_at_l50_inside_its_band():
    runs = runs_of({8: [1] * 6, 16: [1, 1, 1, 1, 0, 0], 32: [1, 1, 0, 0, 0, 0], 64: [0] * 6})
    rates = solve_rates(runs, 0.5, "higher")
    assert rates[["seq_len", "solved", "seeds"]].values.tolist() == [[8, 6, 6], [16, 4, 6], [32, 2, 6], [64, 0, 6]]
    curve = solve_curve(runs, 0.5, "higher", points=31, resamples=40)
    l50 = fitted_horizon(runs, 0.5, "higher", resamples=10).l50
    assert curve["seq_len"].iloc[0] == pytest.approx(8) and curve["seq_len"].iloc[-1] == pytest.approx(64)
    assert curve["p"].is_monotonic_decreasing and ((curve["low"] <= curve["p"]) & (curve["p"] <= curve["high"])).all()
    crossing = np.interp(0.5, curve["p"][::-1], curve["seq_len"][::-1])  # the curve is the fit L50 is read from
    assert crossing == pytest.approx(l50, rel=0.02)
    assert (curve["high"] - curve["low"]).max() > 0.1  # six seeds leave a band


def test_a_solve_curve_of_one_outcome_class_is_flat():
    curve = solve_curve(runs_of({10: [1, 1], 20: [1, 1]}), 0.5, "higher", points=5, resamples=20)
    assert curve["p"].tolist() == [1.0] * 5 and curve["low"].tolist() == [1.0] * 5
