import pandas as pd
import pytest

from memorybench.config import protocol_config
from memorybench.result import RunResult
from memorybench.storage.store import ResultsStore
from memorybench.sweep.plan import describe, plan_sweep, run_sweep


def test_plan_covers_every_cell_length_and_seed_longest_first():
    configs = plan_sweep("stream", ["gru", "srn"], [10, 5, 10], seeds=3)
    assert len(configs) == 2 * 2 * 3 and len({c.run_id() for c in configs}) == 12
    assert [c.seq_len for c in configs][:6] == [10] * 6
    assert {c.protocol for c in configs} == {"stream"} and configs[0].steps == 19_000


def test_fresh_seeds_start_where_asked_and_keep_each_seeds_run_id():
    fresh = plan_sweep("nndl", ["srn"], [5], seeds=2, first_seed=100)
    assert [c.seed for c in fresh] == [100, 101]
    assert fresh[0].run_id() == plan_sweep("nndl", ["srn"], [5], seeds=101)[100].run_id()  # seed 100 is seed 100


def test_rerun_skips_complete_runs(quick_copy):
    configs = plan_sweep("nndl", ["srn", "lstm", "gru"], [5, 10], seeds=2, quick=True, device="cpu")
    before = quick_copy.collect()[0]
    outcome = run_sweep(quick_copy, configs, progress=False)
    assert outcome.done == [] and outcome.skipped == 12
    pd.testing.assert_frame_equal(quick_copy.collect()[0], before)


@pytest.mark.slow
def test_parallel_workers_give_the_same_results_as_one(quick_store, tmp_path):
    configs = plan_sweep("nndl", ["srn", "lstm"], [5], seeds=2, quick=True, device="cpu")
    store = ResultsStore.open(tmp_path)
    outcome = run_sweep(store, configs, workers=2, progress=False)
    assert len(outcome.done) == 4
    parallel = store.collect()[0].set_index("run_id")["test_score"]
    serial = quick_store.collect()[0].set_index("run_id")["test_score"]
    assert parallel.to_dict() == serial[parallel.index].to_dict()


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    good = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, device="cpu")
    bad = protocol_config(
        "nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, optimizer="sgd", lr=1e38, device="cpu"
    )
    store = ResultsStore.open(tmp_path)
    outcome = run_sweep(store, [bad, good], progress=False)
    assert [r.status for _, r in outcome.done] == ["failed", "ok"] and len(outcome.failed) == 1
    runs = store.collect()[0].set_index("run_id")
    assert runs.at[bad.run_id(), "status"] == "failed" and "nan" in runs.at[bad.run_id(), "error"]


def test_describe_says_the_outcome():
    config = protocol_config("nndl", cell="lstm", seq_len=30, seed=2)
    line = describe(
        config, RunResult("ok", test_score=0.875, best_dev_score=0.9, best_step=4200, wall_time_s=3.0, steps_per_s=700)
    )
    assert "lstm L=30" in line and "test accuracy 0.875" in line and "@ step 4200" in line
    assert "FAILED  boom" in describe(config, RunResult("failed", error="boom"))


def test_a_resumed_packed_sweep_gives_the_uninterrupted_sweeps_results(tmp_path):
    configs = plan_sweep("nndl", ["gru"], [5], seeds=3, quick=True, device="cpu")
    whole = ResultsStore.open(tmp_path / "whole")
    run_sweep(whole, configs, pack_size=3, progress=False)
    resumed = ResultsStore.open(tmp_path / "resumed")
    run_sweep(resumed, configs[:2], pack_size=3, progress=False)  # killed after two runs
    outcome = run_sweep(resumed, configs, pack_size=3, progress=False)
    assert [(r.pack_size, r.packing) for _, r in outcome.done] == [(1, "stacked")]  # the last seed, alone but stacked
    columns = ["test_loss", "best_step", "packing"]
    pd.testing.assert_frame_equal(
        resumed.collect()[0].set_index("run_id")[columns], whole.collect()[0].set_index("run_id")[columns]
    )


def test_packed_sweep_matches_the_unpacked_sweep(quick_store, tmp_path):
    configs = plan_sweep("nndl", ["srn", "gru"], [5, 10], seeds=2, quick=True, device="cpu")
    store = ResultsStore.open(tmp_path)
    run_sweep(store, configs, pack_size=2, progress=False)
    packed = store.collect()[0].set_index("run_id")
    single = quick_store.collect()[0].set_index("run_id").loc[packed.index]
    assert (packed["pack_size"] == 2).all()
    assert packed["test_score"].tolist() == single["test_score"].tolist()
    assert packed["best_step"].tolist() == single["best_step"].tolist()


def test_a_pack_that_raises_records_its_runs_as_failed_with_the_error(tmp_path, monkeypatch):
    def broken(configs, layout, graphs=False, hooks=(), compiled=False):
        raise RuntimeError("a bug in a layout")

    monkeypatch.setattr("memorybench.engine.jobs.train_pack", broken)
    configs = plan_sweep("nndl", ["srn"], [5], seeds=2, quick=True, device="cpu")
    outcome = run_sweep(ResultsStore.open(tmp_path), configs, pack_size=2, progress=False)
    assert [(r.status, r.pack_size, r.error) for _, r in outcome.done] == [
        ("failed", 2, "RuntimeError: a bug in a layout (in a stacked pack of 2)")
    ] * 2


def test_a_refused_pack_is_noted_in_the_results_and_the_progress(tmp_path, capsys):
    configs = [
        protocol_config("nndl", cell="srn", seq_len=5, seed=s, num_layers=2, steps=10, eval_interval=5, device="cpu")
        for s in range(2)
    ]
    store = ResultsStore.open(tmp_path)
    outcome = run_sweep(store, configs, pack_size=2, progress=True)
    assert all(
        r.status == "ok" and r.pack_size == 1 and "not supported by the stacked layout" in r.pack_note
        for _, r in outcome.done
    )
    assert "trained alone: stacked layers" in capsys.readouterr().out
    assert store.collect()[0]["pack_note"].str.contains("trained alone").all()


def test_the_plan_says_when_the_runs_kept_were_packed_by_memorybench_before_0_2(tmp_path):
    from memorybench.sweep.plan import plan_work

    configs = plan_sweep("nndl", ["srn"], [5], seeds=2, steps=20, device="cpu")
    store = ResultsStore.open(tmp_path)
    run_sweep(store, configs[:1], progress=False)
    plan = plan_work(store, configs, device_type="cpu")
    assert plan.earlier_packing == 0 and "mixes packings" not in plan.describe(store, 1)
    from tests.runfiles import edit_run

    edit_run(store.run_folder(configs[0].run_id()), environment={"memorybench": "0.1.0"})
    plan = plan_work(store, configs, device_type="cpu")
    assert plan.earlier_packing == 1 and "note: this folder mixes packings: 1 of the runs kept" in plan.describe(
        store, 1
    )
    assert plan_work(store, configs[:1], device_type="cpu").earlier_packing == 0  # nothing to train: nothing mixes
