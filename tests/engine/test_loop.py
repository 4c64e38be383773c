import math
import time
from dataclasses import replace

import pytest
import torch

from memorybench.config import protocol_config
from memorybench.engine.loop import Hook, is_eval_step, train_pack
from memorybench.training import train_run

PACKS = ("stacked", "block")


def results(configs, layout="single", **kw):
    return [o.result for o in train_pack(configs, layout, **kw)]


def compare(single, packed, tol=1e-4, flips=0):
    """Packed against single: the same curves to `tol`, and scores that differ by at most `flips`
    of the book's 100 dev (and test) sequences. With flips=0 every score and the best step are equal."""
    score_tol = flips / 100 + 1e-6
    assert packed.steps_done == single.steps_done and len(packed.curves) == len(single.curves)
    assert packed.best_dev_score == pytest.approx(single.best_dev_score, abs=score_tol)
    assert packed.test_score == pytest.approx(single.test_score, abs=score_tol)
    assert packed.test_loss == pytest.approx(single.test_loss, abs=tol)
    if not flips:
        assert packed.best_step == single.best_step
    for a, b in zip(packed.curves, single.curves):
        assert a["step"] == b["step"] and a["dev_score"] == pytest.approx(b["dev_score"], abs=score_tol)
        for key in ("train_loss", "dev_loss", "grad_norm"):
            assert a[key] == pytest.approx(b[key], rel=tol, abs=tol)


@pytest.mark.parametrize("layout", PACKS)
@pytest.mark.parametrize("protocol, cell", [("nndl", "lstm"), ("nndl-shuffled", "srn"), ("stream", "gru")])
def test_packed_training_gives_the_single_runs_results(protocol, cell, layout):
    configs = [
        protocol_config(protocol, cell=cell, seq_len=6, seed=s, steps=300, eval_interval=50, device="cpu")
        for s in range(3)
    ]
    for config, output in zip(configs, train_pack(configs, layout)):
        checkpoint = {}
        compare(train_run(config, checkpoint), output.result)
        assert (output.result.pack_size, output.result.packing, output.result.graphed) == (3, layout, False)
        for k, v in checkpoint["state_dict"].items():
            torch.testing.assert_close(output.state_dict[k], v, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("layout", PACKS)
def test_a_pack_of_lengths_and_seeds_gives_the_single_runs_results(layout):
    configs = [
        protocol_config("nndl-shuffled", cell="gru", seq_len=n, seed=s, steps=300, eval_interval=50, device="cpu")
        for n in (8, 4)
        for s in range(2)
    ]
    for config, result in zip(configs, results(configs, layout)):
        compare(train_run(config), result)
        assert result.pack_size == 4


def test_stacked_clipping_and_summed_loss_give_the_single_runs_results():
    configs = [
        protocol_config(
            "nndl",
            cell="srn",
            seq_len=6,
            seed=s,
            steps=200,
            eval_interval=50,
            optimizer="sgd",
            lr=0.05,
            clip="per_param",
            clip_value=1.0,
            loss_reduction="sum",
            device="cpu",
        )
        for s in range(2)
    ]
    for config, result in zip(configs, results(configs, "stacked")):
        compare(train_run(config), result)


@pytest.mark.parametrize("layout", PACKS)
def test_packed_runs_stop_where_single_runs_stop(layout):
    configs = [
        protocol_config(
            "stream",
            cell="gru",
            seq_len=3,
            seed=s,
            steps=1500,
            eval_interval=50,
            batch_size=32,
            lr=1e-2,
            task_params={"eval_size": 100},
            device="cpu",
        )
        for s in range(3)
    ]
    packed = results(configs, layout)
    # each replica stops at its own first perfect dev score while its pack mates go on
    assert all(r.best_dev_score == 1.0 and r.steps_done == r.best_step == r.curves[-1]["step"] for r in packed)
    assert len({r.steps_done for r in packed}) > 1
    for config, result in zip(configs, packed):
        single = train_run(config)
        # At lr 1e-2 float32 rounding is amplified: packed and single losses part by more than 1e-4
        # from step 350 on (2026-11-26, Intel Xeon, ATEN_CPU_CAPABILITY default, avx2 and avx512;
        # benchmarks/float_divergence.py measures the same at lr 1e-3). So the curves are compared
        # over the first 200 steps, and the stop where rounding may have moved it: the stop steps
        # (300, 400 and 550) were equal on all three, one evaluation (50 steps) apart is allowed.
        assert abs(result.steps_done - single.steps_done) <= config.eval_interval
        for a, b in zip(result.curves[:4], single.curves[:4]):  # steps 50..200
            assert a["step"] == b["step"] and a["dev_score"] == b["dev_score"]
            for key in ("train_loss", "dev_loss", "grad_norm"):
                assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-4)


def test_a_diverged_replica_fails_alone_and_its_pack_mates_go_on():
    good = protocol_config(
        "nndl", cell="srn", seq_len=5, steps=40, eval_interval=10, optimizer="sgd", lr=0.1, device="cpu"
    )
    configs = [good, replace(good, seed=1)]

    # seed 1 diverges: blow its weights up after the first step through a hook
    class Explode(Hook):
        per_step = True

        def on_step(self, step, replicas):
            if step == 1:
                with torch.no_grad():
                    replicas.weight_hh[1].fill_(math.inf)

    healthy, diverged = results(configs, "stacked", hooks=[Explode()])
    assert diverged.status == "failed" and "training loss became nan by step 10" in diverged.error
    assert (
        healthy.status == "ok" and healthy.steps_done == 40 and [c["step"] for c in healthy.curves] == [10, 20, 30, 40]
    )
    compare(train_run(good), healthy, tol=1e-5)


def test_best_dev_is_strictly_better_in_the_metrics_direction_and_not_the_last_step():
    config = protocol_config("nndl", cell="srn", seq_len=5, steps=400, eval_interval=20, lr=1e-2, device="cpu")
    result = train_run(config)
    scores = [c["dev_score"] for c in result.curves]
    first_best = scores.index(max(scores))  # strictly greater replaces: the first maximum wins ties
    assert result.best_step == result.curves[first_best]["step"] < result.steps_done
    assert result.best_dev_score == max(scores)


def test_lower_is_better_metrics_keep_the_lowest_dev_score():
    from memorybench.tasks import get_task

    task = replace(get_task("nndl"), metric="mse", output_kind="class")
    assert task.improves(0.1, 0.2) and not task.improves(0.2, 0.2) and task.is_perfect(0.0) and not task.is_perfect(0.1)
    assert task.worst == math.inf
    # the loop: the adding task's dev MSE goes up and down; the best checkpoint is its first minimum
    result = train_run(
        protocol_config("adding", cell="srn", seq_len=10, steps=200, eval_interval=10, lr=1e-2, device="cpu")
    )
    scores = [c["dev_score"] for c in result.curves]
    assert max(scores) != scores[-1] and min(scores) != scores[-1]  # neither the highest nor the last would pass
    assert result.best_dev_score == min(scores) and result.best_step == result.curves[scores.index(min(scores))]["step"]


def test_steps_per_s_counts_training_time_not_evaluation():
    class SlowEvaluation(Hook):
        def on_eval(self, step, replicas, records):
            time.sleep(0.3)

    config = protocol_config(
        "nndl", cell="srn", seq_len=5, steps=60, eval_interval=20, stop_on_perfect_dev=False, device="cpu"
    )
    result = results([config], hooks=[SlowEvaluation()])[0]
    assert result.wall_time_s > 0.9  # three evaluations of 0.3 s each
    assert result.steps_per_s > 3 * result.steps_done / result.wall_time_s  # the sleeps are not training time


def test_hooks_see_every_step_and_every_evaluation():
    class Count(Hook):
        per_step = True

        def __init__(self):
            self.steps, self.evals = [], []

        def on_step(self, step, replicas):
            self.steps.append(step)

        def on_eval(self, step, replicas, records):
            self.evals.append((step, [r["step"] if r else None for r in records]))

    hook = Count()
    config = protocol_config("nndl", cell="gru", seq_len=5, steps=25, eval_interval=10, device="cpu")
    train_pack([config, replace(config, seed=1)], "stacked", hooks=[hook])
    assert hook.steps == list(range(1, 26)) and hook.evals == [(10, [10, 10]), (20, [20, 20]), (25, [25, 25])]


def test_evaluation_cadence():
    config = protocol_config("nndl", steps=250, eval_interval=100)
    assert [s for s in range(1, 251) if is_eval_step(s, config)] == [100, 200, 250]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("layout", PACKS)
@pytest.mark.parametrize("cell", ["srn", "lstm", "gru"])
def test_graphed_packed_cuda_runs_match_single_eager_runs(cell, layout):
    configs = [
        protocol_config("nndl", cell=cell, seq_len=n, seed=s, steps=400, eval_interval=100, device="cuda")
        for n in (10, 6)
        for s in range(2)
    ]
    packed = results(configs, layout, graphs=True)
    assert all(r.graphed and r.pack_size == 4 and r.packing == layout for r in packed)
    # cuDNN's fused single run and the graphed pack round differently from the first step; on an
    # H200 (2026-11-26) losses stayed within 1e-3 over 400 steps, while one dev sequence of 100
    # near the decision boundary flipped (SRN, stacked: dev accuracy 0.10 against 0.11 at step 200).
    for config, result in zip(configs, packed):
        compare(train_run(config), result, tol=1e-3, flips=1)
