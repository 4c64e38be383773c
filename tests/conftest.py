import os
import shutil

import pytest

import memorybench.cli.builtins  # noqa: F401  (the built-in commands and report sections, as the command has them)
from memorybench.models import checkpoint_writer
from memorybench.storage.store import ResultsStore
from memorybench.sweep.plan import plan_sweep, run_sweep
from tests.golden import thread_count

# A developer's checkout is dirty while they work: the tests' sweeps (into temporary folders, and the subprocesses
# they start) record regardless. tests/sweep/test_session.py checks the refusal itself.
os.environ["MEMORYBENCH_ALLOW_DIRTY"] = "1"

QUICK_SWEEP = dict(protocol="nndl", cells=["srn", "lstm", "gru"], lengths=[5, 10], seeds=2, quick=True, device="cpu")


@pytest.fixture(scope="session")
def quick_store(tmp_path_factory):
    """A small stored sweep made with the --quick budget (12 runs), shared read-only."""
    store = ResultsStore.open(tmp_path_factory.mktemp("quick") / "results")
    run_sweep(store, plan_sweep(**QUICK_SWEEP), workers=1, progress=False)
    return store


@pytest.fixture
def quick_copy(quick_store, tmp_path):
    """A private copy of the quick sweep, for tests that change it."""
    target = tmp_path / "results"
    shutil.copytree(quick_store.root, target)
    return ResultsStore(target)


@pytest.fixture(autouse=True, scope="session")
def torch_threads():
    """$MEMORYBENCH_TEST_THREADS torch threads, default 1 as each sweep worker uses: at these sizes
    more threads only add contention. Golden runs are bit for bit only at their recorded count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(thread_count())
    yield
    torch.set_num_threads(threads)


def train_into(store, config):
    """Train one run as a sweep would (failures recorded) and store it; returns its result."""
    from memorybench.engine.policy import Job
    from memorybench.sweep.executors import run_job

    output = run_job(Job((config,), "single"))[0]
    store.place(output.config, output.result, checkpoint_writer(output.state_dict))
    return output.result
