import numpy as np
import pytest

from memorybench.analysis.spread import bimodal, largest_gap, median_interval


def test_the_bootstrap_interval_of_the_median_is_reproducible_and_covers_the_sample_median():
    values = np.random.default_rng(3).lognormal(size=10)
    median, low, high = median_interval(values)
    assert median == np.median(values) and low < median < high
    assert median_interval(values) == (median, low, high)  # a fixed seed: the same interval every time
    assert median_interval(values, seed=1) != (median, low, high)
    assert min(values) <= low and high <= max(values)  # resampled medians never leave the sample's range


def test_the_interval_matches_a_direct_bootstrap_of_the_median():
    values = np.array([3.0, 1.0, 4.0, 1.5, 9.0, 2.6])
    draws = np.random.default_rng(0).integers(0, 6, size=(10_000, 6))
    expected = np.percentile(np.median(values[draws], axis=1), [2.5, 97.5])
    assert median_interval(values)[1:] == pytest.approx(tuple(expected))


def test_one_value_collapses_the_interval_and_none_is_nan():
    assert median_interval([2.0]) == (2.0, 2.0, 2.0)
    assert all(np.isnan(median_interval([])))


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1.0, 2.0, 3.0, 25.0, 40.0, 190.0], True),  # the clipped SRN's late norms: two groups far apart
        ([1.0, 2.0, 3.0, 14.0, 20.0], False),  # the largest jump is 14 / 3 < 5
        ([1.0, 1.5, 30.0, 40.0], True),  # 2 seeds each side of a 20x gap
        ([1.0, 1.5, 2.0, 30.0], False),  # one seed beyond the gap: an outlier
        ([0.0, 1.0, 50.0, 60.0], False),  # ratios need positive values
    ],
)
def test_two_groups_need_a_gap_above_5x_with_two_seeds_each_side(values, expected):
    assert bimodal(values) is expected


def test_the_largest_gap_is_found_wherever_it_is_in_the_order():
    assert largest_gap([190.0, 2.0, 25.0, 1.0]) == (12.5, 2)
