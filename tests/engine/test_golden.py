"""Every execution path still gives the stored golden results (see tests/golden.py)."""

import pytest

from memorybench.engine.machine import machine_kind
from tests.golden import CASES, load_records, run_case

RECORDS = load_records()


def test_golden_runs_are_stored():  # every case in some record, and no record of a case that is gone
    assert RECORDS and set().union(*(r["cases"] for r in RECORDS)) == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_golden_case_is_unchanged(name):
    now, kind = run_case(name), machine_kind()
    for record in (r for r in RECORDS if name in r["cases"]):
        stored = record["cases"][name]
        assert len(now) == len(stored)
        for run, (got, want) in enumerate(zip(now, stored)):
            if record["machine"] == kind:  # bit for bit: the same numbers in the same order
                assert got == want, f"{name} run {run} differs from tests/golden_runs.json's record for {kind}"
                continue
            # Another kind of machine rounds differently. Over these 300 steps the train losses of
            # the AVX-512, AVX2 and scalar kernels of one Intel Xeon and of an AMD EPYC stayed within
            # 1.3e-7 (relative) of each other, with the same best steps and test scores (2026-11-26);
            # rel=1e-4 leaves room for other CPUs, and a score may move by one example of 100.
            where = f"{name} run {run} against the record for {record['machine']}"
            assert (got["best_step"], got["steps_done"]) == (want["best_step"], want["steps_done"]), where
            assert got["test_accuracy"] == pytest.approx(want["test_accuracy"], abs=0.011), where
            assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-4), where
