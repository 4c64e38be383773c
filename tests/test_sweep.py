import pandas as pd

from memorybench.config import protocol_config
from memorybench.store import ResultsStore
from memorybench.sweep import describe, packs, plan_sweep, run_sweep
from memorybench.training import RunResult


def test_plan_covers_every_cell_length_and_seed_longest_first():
    configs = plan_sweep("stream", ["gru", "srn"], [10, 5, 10], seeds=3)
    assert len(configs) == 2 * 2 * 3 and len({c.run_id() for c in configs}) == 12
    assert [c.seq_len for c in configs][:6] == [10] * 6
    assert {c.protocol for c in configs} == {"stream"} and configs[0].steps == 19_000


def test_rerun_skips_complete_runs(quick_copy):
    configs = plan_sweep("nndl", ["srn", "lstm", "gru"], [5, 10], seeds=2, quick=True, device="cpu")
    before = quick_copy.collect()[0]
    outcome = run_sweep(quick_copy, configs, progress=False)
    assert outcome.done == [] and outcome.skipped == 12
    pd.testing.assert_frame_equal(quick_copy.collect()[0], before)


def test_parallel_workers_give_the_same_results_as_one(quick_store, tmp_path):
    configs = plan_sweep("nndl", ["srn", "lstm"], [5], seeds=2, quick=True, device="cpu")
    store = ResultsStore.open(tmp_path)
    outcome = run_sweep(store, configs, workers=2, progress=False)
    assert len(outcome.done) == 4
    parallel = store.collect()[0].set_index("run_id")["test_accuracy"]
    serial = quick_store.collect()[0].set_index("run_id")["test_accuracy"]
    assert parallel.to_dict() == serial[parallel.index].to_dict()


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    good = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, device="cpu")
    bad = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, optimizer="sgd", lr=1e38, device="cpu")
    store = ResultsStore.open(tmp_path)
    outcome = run_sweep(store, [bad, good], progress=False)
    assert [r.status for _, r in outcome.done] == ["failed", "ok"] and len(outcome.failed) == 1
    runs = store.collect()[0].set_index("run_id")
    assert runs.at[bad.run_id(), "status"] == "failed" and "nan" in runs.at[bad.run_id(), "error"]


def test_describe_says_the_outcome():
    config = protocol_config("nndl", cell="lstm", seq_len=30, seed=2)
    line = describe(config, RunResult("ok", test_accuracy=0.875, best_dev_accuracy=0.9, best_step=4200, wall_time_s=3.0, steps_per_s=700))
    assert "lstm L=30" in line and "test acc 0.875" in line and "@ step 4200" in line
    assert "FAILED  boom" in describe(config, RunResult("failed", error="boom"))


def test_packs_hold_one_cell_seeds_first_then_lengths():
    configs = plan_sweep("nndl", ["srn", "lstm"], [5, 10], seeds=3, device="cpu")
    by_seed = packs(configs, 3)  # the seeds of one cell and length
    assert sorted(len(g) for g in by_seed) == [3, 3, 3, 3] and all(len({(c.cell, c.seq_len) for c in g}) == 1 for g in by_seed)
    assert sorted(len(g) for g in packs(configs, {"srn": 6, "lstm": 1})) == [1] * 6 + [3, 3]  # never across lengths unasked
    mixed = packs(configs, {"srn": 6, "lstm": 1}, across_lengths=True)  # every srn run in one pack, lstm alone
    assert sorted(len(g) for g in mixed) == [1] * 6 + [6]
    srn = next(g for g in mixed if len(g) == 6)
    assert [(c.cell, c.seq_len, c.seed) for c in srn] == [("srn", n, s) for n in (10, 5) for s in range(3)]
    other = protocol_config("nndl", cell="srn", seq_len=5, lr=0.1, device="cpu")
    assert [len(g) for g in packs(configs + [other], 10, across_lengths=True)] == [6, 6, 1]


def test_a_resumed_sweep_packs_what_is_left_of_each_length_alone():
    configs = plan_sweep("nndl", ["gru"], [5, 10], seeds=3, device="cpu")
    left = [c for c in configs if not (c.seq_len == 10 and c.seed < 2)]  # seeds 0 and 1 of L=10 were done
    assert [[(c.seq_len, c.seed) for c in g] for g in packs(left, 3)] == [[(10, 2)], [(5, 0), (5, 1), (5, 2)]]


def test_a_resumed_packed_sweep_gives_the_uninterrupted_sweeps_results(tmp_path):
    configs = plan_sweep("nndl", ["gru"], [5], seeds=3, quick=True, device="cpu")
    whole = ResultsStore.open(tmp_path / "whole")
    run_sweep(whole, configs, pack_size=3, progress=False)
    resumed = ResultsStore.open(tmp_path / "resumed")
    run_sweep(resumed, configs[:2], pack_size=3, progress=False)  # killed after two runs
    outcome = run_sweep(resumed, configs, pack_size=3, progress=False)
    assert [(r.pack_size, r.packing) for _, r in outcome.done] == [(1, "stacked")]  # the last seed, alone but stacked
    columns = ["test_loss", "best_step", "packing"]
    pd.testing.assert_frame_equal(resumed.collect()[0].set_index("run_id")[columns], whole.collect()[0].set_index("run_id")[columns])
