import resource

import pytest
import torch

from memorybench.config import protocol_config
from memorybench.tasks import get_task
from memorybench.training import CURVE_COLUMNS, evaluate, model_for, resolve_device, run_safely, train_run

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def short(protocol="nndl", **kw):
    settings = dict(cell="lstm", seq_len=5, steps=60, eval_interval=20, device="cpu")
    return protocol_config(protocol, **dict(settings, **kw))


def test_lstm_learns_the_streaming_task_well_above_chance():
    result = train_run(short("stream", steps=400, eval_interval=100, batch_size=32, lr=3e-3))
    assert result.status == "ok"
    assert result.test_score > 0.5  # chance is 0.1
    assert result.curves[-1]["train_loss"] < 0.6 * result.curves[0]["train_loss"]


def test_result_fields_and_curves():
    result = train_run(short(cell="gru"))
    assert [c["step"] for c in result.curves] == [20, 40, 60]
    assert all(set(c) == set(CURVE_COLUMNS) for c in result.curves)
    assert all(c["grad_norm"] > 0 and c["train_loss"] > 0 for c in result.curves)
    assert result.steps_done == 60 and result.num_params == 10 * 32 + 3 * 32 * 66 + 32 * 19 + 19
    assert result.wall_time_s > 0 and result.steps_per_s > 0 and result.device == "cpu"
    best = max(result.curves, key=lambda c: c["dev_score"])  # first maximum wins ties
    assert (result.best_step, result.best_dev_score) == (best["step"], best["dev_score"])


def test_last_step_is_evaluated_when_the_interval_does_not_divide_it():
    assert [c["step"] for c in train_run(short(steps=50, eval_interval=20)).curves] == [20, 40, 50]


def test_test_score_comes_from_the_best_dev_checkpoint():
    checkpoint = {}
    config = short(cell="srn", steps=200, eval_interval=20, lr=1e-2)
    result = train_run(config, checkpoint)
    task = get_task("nndl")
    model = model_for(config, task)
    model.load_state_dict(checkpoint["state_dict"])
    data = task.make_data(5, 0)
    loss, accuracy = evaluate(model, task, data.test)
    assert accuracy.item() == result.test_score and loss.item() == pytest.approx(result.test_loss)
    assert evaluate(model, task, data.dev)[1].item() == result.best_dev_score


def test_same_seed_same_result_on_cpu_and_seeds_differ():
    a, b, c = train_run(short(seed=1)), train_run(short(seed=1)), train_run(short(seed=2))
    assert a.curves == b.curves and a.test_score == b.test_score
    assert a.curves != c.curves


def test_perfect_dev_stops_early_and_can_be_turned_off():
    config = short(
        "stream",
        cell="gru",
        seq_len=3,
        steps=1500,
        eval_interval=50,
        batch_size=32,
        lr=1e-2,
        task_params={"eval_size": 100},
    )
    stopped = train_run(config)
    assert stopped.best_dev_score == 1.0 and stopped.steps_done < 1500
    assert stopped.steps_done == stopped.best_step == stopped.curves[-1]["step"]
    from dataclasses import replace

    full = train_run(replace(config, stop_on_perfect_dev=False))
    assert full.steps_done == 1500 and full.best_step == stopped.best_step
    assert full.test_score == stopped.test_score


@pytest.mark.parametrize("clip", ["global", "per_param"])
def test_gradient_clipping_bounds_the_update_and_the_curve_keeps_the_raw_norm(clip):
    config = short(clip=clip, clip_value=0.01, optimizer="sgd", lr=1.0, steps=1, eval_interval=1)
    checkpoint = {}
    result = train_run(config, checkpoint)
    before = model_for(config, get_task("nndl")).state_dict()
    deltas = {k: (checkpoint["state_dict"][k] - before[k]).norm().item() for k in before}
    if clip == "global":
        assert sum(d * d for d in deltas.values()) ** 0.5 == pytest.approx(0.01, rel=1e-3)
    else:
        assert max(deltas.values()) == pytest.approx(0.01, rel=1e-3) and sum(d > 0.0099 for d in deltas.values()) >= 3
    assert result.curves[0]["grad_norm"] > 0.1  # recorded before clipping


def test_nan_loss_is_a_failed_run_not_a_crash():
    result = run_safely(short(cell="srn", optimizer="sgd", lr=1e38, eval_interval=10))
    assert result.status == "failed" and "FloatingPointError: training loss became nan" in result.error


def test_memory_does_not_grow_with_steps():
    # The step-by-step execution saves ~0.35 MiB of activations per step at L=30, so
    # a loop that kept each step's graph alive (`total += loss`) would grow ~190 MiB here.
    settings = dict(seq_len=30, execution="transparent", stop_on_perfect_dev=False, eval_interval=300)
    train_run(short(steps=50, **settings))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    train_run(short(steps=600, **settings))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 50


def test_cuda_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="device='cuda' is not available"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_run_learns_like_the_cpu_run():
    gpu = train_run(short("stream", steps=400, eval_interval=100, batch_size=32, lr=3e-3, device="cuda"))
    cpu = train_run(short("stream", steps=400, eval_interval=100, batch_size=32, lr=3e-3))
    assert gpu.device.startswith("cuda") and gpu.test_score > 0.5
    assert abs(gpu.curves[0]["train_loss"] - cpu.curves[0]["train_loss"]) < 0.05


def test_progress_prints_each_evaluation_and_one_thread_trains(capsys, monkeypatch):
    import memorybench.training as training

    threads_seen, real = [], training.train_pack
    monkeypatch.setattr(
        training, "train_pack", lambda *a, **k: (threads_seen.append(torch.get_num_threads()), real(*a, **k))[1]
    )
    torch.set_num_threads(2)
    try:
        config = short("nndl", steps=20, eval_interval=10)
        train_run(config, progress=True)
        assert threads_seen == [1] and torch.get_num_threads() == 2  # one thread while it trains, then restored
        train_run(config, threads=None)
        assert threads_seen == [1, 2]
    finally:
        torch.set_num_threads(1)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith("lstm L=5 seed 0: step 10/20, train loss ") and "dev score" in err[0]
    assert err[1].startswith("lstm L=5 seed 0: step 20/20")


def test_a_run_records_the_kind_of_machine_that_trained_it():
    from memorybench.engine.machine import machine_kind

    result = train_run(short(steps=10, eval_interval=10))
    assert result.machine == machine_kind() and result.machine.endswith("| 1 thread")
