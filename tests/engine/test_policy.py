import pytest

from memorybench.config import protocol_config
from memorybench.engine.policy import (
    check_pack,
    default_pack_sizes,
    group_packs,
    packs_span_lengths,
    plan_jobs,
    refusal,
)
from memorybench.sweep.plan import plan_sweep


def test_packs_hold_one_cell_seeds_first_then_lengths():
    configs = plan_sweep("nndl", ["srn", "lstm"], [5, 10], seeds=3, device="cpu")
    by_seed = group_packs(configs, 3)  # the seeds of one cell and length
    assert sorted(len(g) for g in by_seed) == [3, 3, 3, 3] and all(
        len({(c.cell, c.seq_len) for c in g}) == 1 for g in by_seed
    )
    assert sorted(len(g) for g in group_packs(configs, {"srn": 6, "lstm": 1})) == [1] * 6 + [
        3,
        3,
    ]  # never across lengths unasked
    mixed = group_packs(configs, {"srn": 6, "lstm": 1}, across_lengths=True)  # every srn run in one pack, lstm alone
    assert sorted(len(g) for g in mixed) == [1] * 6 + [6]
    srn = next(g for g in mixed if len(g) == 6)
    assert [(c.cell, c.seq_len, c.seed) for c in srn] == [("srn", n, s) for n in (10, 5) for s in range(3)]
    other = protocol_config("nndl", cell="srn", seq_len=5, lr=0.1, device="cpu")
    assert [len(g) for g in group_packs(configs + [other], 10, across_lengths=True)] == [6, 6, 1]


def test_a_resumed_sweep_packs_what_is_left_of_each_length_alone():
    configs = plan_sweep("nndl", ["gru"], [5, 10], seeds=3, device="cpu")
    left = [c for c in configs if not (c.seq_len == 10 and c.seed < 2)]  # seeds 0 and 1 of L=10 were done
    jobs = plan_jobs(left, 3, False, "cpu")
    assert [[(c.seq_len, c.seed) for c in job.configs] for job in jobs] == [[(10, 2)], [(5, 0), (5, 1), (5, 2)]]
    assert [job.layout for job in jobs] == ["stacked", "stacked"]  # the leftover trains stacked too: same results


def test_defaults_on_cpu_and_cuda():
    assert default_pack_sizes(["srn", "lstm", "gru"], [5], 3, "cpu") == {
        "srn": 3,
        "lstm": 1,
        "gru": 3,
    }  # the LSTM packs from 6
    assert (
        packs_span_lengths(None, 3, "cuda")
        and packs_span_lengths(None, 3, "cpu")
        and not packs_span_lengths(3, 3, "cpu")
    )
    configs = plan_sweep("nndl", ["lstm"], [5, 10], seeds=2, device="cpu")
    jobs = plan_jobs(configs, default_pack_sizes(["lstm"], [5, 10], 2, "cuda"), True, "cuda")
    assert [(job.layout, job.graphs, len(job.configs)) for job in jobs] == [("block", True, 4)]


def test_what_cannot_be_packed_and_why():
    base = protocol_config("nndl", cell="lstm", seq_len=5, device="cpu")
    assert (
        refusal([base, protocol_config("nndl", cell="lstm", seq_len=6, device="cpu")], "stacked") is None
    )  # lengths may differ
    assert "differ only in seed and seq_len" in refusal(
        [base, protocol_config("nndl", cell="gru", seq_len=5, seed=1)], "stacked"
    )
    assert "distinct" in refusal([base, base], "stacked")
    clipped = [protocol_config("nndl", clip="global", seed=s) for s in range(2)]
    assert (
        refusal(clipped, "block") == "clip='global' is not supported by the block layout"
        and refusal(clipped, "stacked") is None
    )
    layered = [protocol_config("nndl", num_layers=2, seed=s) for s in range(2)]
    assert "stacked layers" in refusal(layered, "stacked")
    assert "more than it holds" in refusal(
        [base, protocol_config("nndl", cell="lstm", seq_len=5, seed=1, device="cpu")], "single"
    )
    with pytest.raises(ValueError, match="layout='diagonal' is not allowed"):
        check_pack([base], "diagonal")


def test_a_refused_pack_trains_as_single_runs_and_says_why():
    configs = [protocol_config("nndl", cell="srn", seq_len=5, seed=s, num_layers=2, device="cpu") for s in range(2)]
    jobs = plan_jobs(configs, 2, False, "cpu")
    assert [(job.layout, len(job.configs)) for job in jobs] == [("single", 1), ("single", 1)]
    assert all(
        job.note == "trained alone: stacked layers and bidirectional cells are not supported by the stacked layout"
        for job in jobs
    )


def test_the_default_cpu_sweep_packs_every_cell_across_lengths_and_splits_the_cheapest_to_balance_two_workers():
    cells, lengths = ["srn", "lstm", "gru"], [5, 10, 15, 20, 25, 30]
    configs = plan_sweep("nndl", cells, lengths, seeds=3, device="cpu")
    shapes = lambda jobs: [
        (job.configs[0].cell, job.layout, sorted({c.seq_len for c in job.configs}), len(job.configs)) for job in jobs
    ]
    one = plan_jobs(configs, default_pack_sizes(cells, lengths, 3, "cpu"), True, "cpu")
    assert shapes(one) == [
        (cell, "stacked", lengths, 18) for cell in ("lstm", "gru", "srn")
    ]  # one pack a cell, costliest first
    two = plan_jobs(configs, default_pack_sizes(cells, lengths, 3, "cpu", workers=2), True, "cpu")
    assert shapes(two) == [
        ("lstm", "stacked", lengths, 18),
        ("gru", "stacked", lengths, 18),  # the SRN's halves follow them
        ("srn", "stacked", [20, 25, 30], 9),
        ("srn", "stacked", [5, 10, 15], 9),
    ]
    for jobs in (one, two):
        assert sorted(c.run_id() for job in jobs for c in job.configs) == sorted(c.run_id() for c in configs)


def test_a_default_pack_of_a_per_step_task_packs_each_length_and_a_small_lstm_pack_trains_alone():
    cells, lengths = ["srn", "lstm"], [10, 20]
    configs = plan_sweep("copy", cells, lengths, seeds=3, device="cpu")
    jobs = plan_jobs(configs, default_pack_sizes(cells, lengths, 3, "cpu"), True, "cpu")
    shapes = sorted(
        (job.configs[0].cell, job.layout, job.configs[0].seq_len, len(job.configs), job.note) for job in jobs
    )
    assert shapes == [("lstm", "single", 10, 1, "")] * 3 + [("lstm", "single", 20, 1, "")] * 3 + [
        ("srn", "stacked", 10, 3, ""),
        ("srn", "stacked", 20, 3, ""),
    ]
