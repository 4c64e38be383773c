import pandas as pd

from memorybench.analysis.outcomes import outcome, outcome_counts, outcomes_of


def test_each_run_is_classed_by_its_dev_curve_in_step_order():
    curves = pd.DataFrame(
        dict(
            run_id=["a", "a", "a", "b", "b", "c", "c"],
            step=[300, 100, 200, 100, 200, 200, 100],  # stored out of order: the class reads them by step
            dev_score=[0.4, 0.2, 0.9, 0.6, 0.7, 0.1, 0.3],
        )
    )
    classes = outcomes_of(curves, 0.55, "higher")
    assert classes.to_dict() == {"a": "lost", "b": "solved", "c": "never"}
    assert outcome_counts(classes) == "1 solved, 1 lost, 1 never"


def test_a_threshold_met_exactly_passes_and_a_missing_score_is_skipped():
    assert outcome([0.55], 0.55, "higher") == "solved" and outcome([0.6, float("nan")], 0.55, "higher") == "solved"
    assert outcome([], 0.55, "higher") == "never" and outcome([0.2, 0.3], 0.25, "lower") == "lost"
