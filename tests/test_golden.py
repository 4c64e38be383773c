"""Every execution path still gives the stored golden results (see tests/golden.py)."""
import json

import pytest
import torch

from memorybench.provenance import cpu_name
from tests.golden import CASES, GOLDEN_PATH, run_case

GOLDEN = json.loads(GOLDEN_PATH.read_text())
SAME_MACHINE_KIND = GOLDEN["cpu"] == cpu_name() and GOLDEN["torch"] == torch.__version__


@pytest.mark.parametrize("name", CASES)
def test_golden_case_is_unchanged(name):
    stored, now = GOLDEN["cases"][name], run_case(name)
    assert len(now) == len(stored)
    for run, (got, want) in enumerate(zip(now, stored)):
        if SAME_MACHINE_KIND:  # bit for bit: the same numbers in the same order
            assert got == want, f"{name} run {run} differs from tests/golden_runs.json"
        else:  # another CPU or torch: kernels may round differently, so float tolerance over 300 steps
            assert (got["best_step"], got["steps_done"]) == (want["best_step"], want["steps_done"])
            assert got["test_accuracy"] == pytest.approx(want["test_accuracy"], abs=0.011)
            assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-3)
