"""Delayed recall: data, metric and baselines, parameter checks, training end to end."""

import math

import pytest
import torch

from memorybench.config import RunConfig, protocol_config
from memorybench.engine.loop import train_pack
from memorybench.models import build_model
from memorybench.tasks import TASKS, get_task, register_task
from memorybench.tasks.base import split_seed
from memorybench.tasks.delayed_recall import (
    DELAYED_RECALL,
    delayed_recall_task,
    make_delayed_recall_batch,
    make_delayed_recall_data,
    memoryless_mse,
    solved_mse,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- data ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seq_len, delays", [(2, 1), (5, 3), (9, 8), (70, 64)])
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_targets_are_the_delayed_inputs_and_inputs_lie_in_the_scale(seq_len, delays, scale):
    batch = make_delayed_recall_batch(2000, seq_len, delays, scale, gen())
    x, y = batch.inputs, batch.targets
    assert x.shape == (2000, seq_len, 1) and y.shape == (2000, delays) and x.dtype == y.dtype == torch.float32
    u = x[..., 0]
    for k in range(1, delays + 1):
        assert torch.equal(y[:, k - 1], u[:, seq_len - 1 - k])  # output k is u(T-1-k)
    assert bool((u.abs() <= scale).all()) and u.min() < -0.99 * scale and u.max() > 0.99 * scale
    assert u.mean().item() == pytest.approx(0.0, abs=0.02 * scale) and u.var().item() == pytest.approx(
        scale**2 / 3, rel=0.03
    )


def test_the_steps_are_independent():
    u = make_delayed_recall_batch(20000, 6, 1, 0.5, gen(3)).inputs[..., 0]
    corr = torch.corrcoef(u.T)
    assert (corr - torch.eye(6)).abs().max() < 0.03


def test_is_deterministic_per_seed_and_its_streams_differ():
    a, b, c = (
        make_delayed_recall_data(10, 3, delays=4),
        make_delayed_recall_data(10, 3, delays=4),
        make_delayed_recall_data(10, 4, delays=4),
    )
    assert (
        torch.equal(a.dev.inputs, b.dev.inputs)
        and torch.equal(a.test.inputs, b.test.inputs)
        and torch.equal(a.test.targets, b.test.targets)
    )
    assert not torch.equal(a.dev.inputs, c.dev.inputs) and not torch.equal(a.dev.inputs, a.test.inputs)
    assert len(a.dev) == len(a.test) == 1000 and a.train is None
    train = a.sample_train(1000, gen(split_seed(3, "train", 10)))
    again = b.sample_train(1000, gen(split_seed(3, "train", 10)))
    assert torch.equal(train.inputs, again.inputs) and not torch.equal(train.inputs, a.dev.inputs)
    stream = gen(0)
    assert not torch.equal(
        a.sample_train(8, stream).inputs, a.sample_train(8, stream).inputs
    )  # a fresh batch every step
    assert not torch.equal(a.sample_train(8, gen(0)).inputs, a.sample_train(8, gen(1)).inputs)
    scaled = make_delayed_recall_data(10, 3, delays=4, scale=1.0)
    assert torch.allclose(scaled.dev.inputs, 2 * a.dev.inputs)  # the same draws, scaled
    assert make_delayed_recall_data(10, 3, delays=4, eval_size=7).dev.inputs.shape == (7, 10, 1)


# --- metric and baselines ------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_memoryless_predictor_scores_a_squared_over_3_and_a_perfect_one_zero(scale):
    task = DELAYED_RECALL
    y = make_delayed_recall_batch(20000, 70, 64, scale, gen(5)).targets
    assert task.score(y.clone(), y).item() == 0.0 and task.is_perfect(0.0)
    memoryless = task.score(torch.zeros_like(y), y).item()
    assert memoryless == pytest.approx(scale**2 / 3, rel=0.01) and task.loss_baseline(70, scale=scale) == pytest.approx(
        scale**2 / 3
    )
    assert task.score(torch.full_like(y, 0.1 * scale), y).item() > memoryless  # any other constant is worse
    assert task.replica_scores(torch.stack([y, y + 0.1]), torch.stack([y, y])).tolist() == pytest.approx([0.0, 0.01])
    assert task.baseline == memoryless_mse() == pytest.approx(1 / 12) and task.direction == "lower"


def test_threshold_is_what_recalling_a_quarter_of_the_delays_scores():
    delays, scale = 64, 0.5
    y = make_delayed_recall_batch(20000, 70, delays, scale, gen(6)).targets
    quarter = torch.cat(
        [y[:, : delays // 4], torch.zeros_like(y[:, delays // 4 :])], dim=1
    )  # delays 1..16 exact, 0 beyond
    assert DELAYED_RECALL.score(quarter, y).item() == pytest.approx(DELAYED_RECALL.threshold, rel=0.01)
    assert DELAYED_RECALL.threshold == solved_mse() == pytest.approx(scale**2 / 4)
    assert scale**2 / 6 < DELAYED_RECALL.threshold < DELAYED_RECALL.baseline


# --- declarations and checks ---------------------------------------------------------------------


def test_registered_task_and_factory_declarations():
    task = get_task("delayed_recall")
    assert task is DELAYED_RECALL and TASKS["delayed_recall"] is task
    assert (task.input_kind, task.input_size, task.output_kind, task.output_size, task.metric) == (
        "vectors",
        1,
        "real",
        64,
        "mse",
    )
    assert (task.min_seq_len, task.fresh_batches, task.delays) == (65, True, 64)
    other = delayed_recall_task(3, name="recall3")
    assert (other.name, other.output_size, other.min_seq_len, other.delays) == ("recall3", 3, 4, 3)
    assert other.make_data(4, 0).dev.targets.shape == (1000, 3)
    model = build_model(task, "lstm", hidden_size=8)
    assert model(torch.zeros(5, 70, 1)).shape == (5, 64)


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (make_delayed_recall_data, dict(seq_len=4, seed=0, delays=4), r"seq_len=4 .*integer >= 5"),
        (make_delayed_recall_data, dict(seq_len=10, seed=0, delays=0), r"delays=0 .*>= 1"),
        (make_delayed_recall_data, dict(seq_len=10, seed=-1, delays=4), "seed=-1"),
        (make_delayed_recall_data, dict(seq_len=10, seed=0, delays=4, scale=0), r"scale=0 .*finite number > 0"),
        (make_delayed_recall_data, dict(seq_len=10, seed=0, delays=4, scale=-0.5), "scale=-0.5"),
        (make_delayed_recall_data, dict(seq_len=10, seed=0, delays=4, scale=math.inf), "scale=inf"),
        (make_delayed_recall_data, dict(seq_len=10, seed=0, delays=4, scale="1"), "scale='1'"),
        (make_delayed_recall_data, dict(seq_len=10, seed=0, delays=4, scale=True), "scale=True"),
        (make_delayed_recall_data, dict(seq_len=10, seed=0, delays=4, eval_size=0), "eval_size=0"),
        (delayed_recall_task, dict(delays=0), r"delays=0 .*integer >= 1"),
        (delayed_recall_task, dict(delays=2.5), "delays=2.5"),
        (
            DELAYED_RECALL.make_data,
            dict(seq_len=70, seed=0, delays=8),
            r"delays=8 .*sized for delays=64.*delayed_recall_task\(delays=8",
        ),
        (DELAYED_RECALL.make_data, dict(seq_len=64, seed=0), r"seq_len=64 .*>= 65"),
        (DELAYED_RECALL.loss_baseline, dict(seq_len=70, scale=0.0), "scale=0.0"),
    ],
)
def test_bad_parameters_are_one_line_value_errors(make, kwargs, message):
    with pytest.raises(ValueError, match=message) as caught:
        make(**kwargs)
    assert "\n" not in str(caught.value)


def test_a_run_config_refuses_a_length_not_longer_than_the_delays():
    with pytest.raises(ValueError, match="seq_len=64"):
        RunConfig(task="delayed_recall", seq_len=64)
    assert RunConfig(task="delayed_recall", seq_len=65, task_params={"scale": 1.0}).task_params == {"scale": 1.0}


# --- training end to end -------------------------------------------------------------------------


def test_trains_end_to_end_through_the_loop():
    config = protocol_config(
        "stream", task="delayed_recall", seq_len=66, hidden_size=8, steps=20, eval_interval=10, device="cpu"
    )
    result = train_pack([config])[0].result
    assert result.status == "ok" and [c["step"] for c in result.curves] == [10, 20]
    assert 0 < result.test_score < 3 * DELAYED_RECALL.baseline and all(
        math.isfinite(c["train_loss"]) for c in result.curves
    )


@pytest.fixture
def two_delays():
    yield register_task(delayed_recall_task(2, name="delayed_recall_2"))
    del TASKS["delayed_recall_2"]


def test_a_small_model_learns_two_delays_far_below_the_baseline(two_delays):
    config = protocol_config(
        "stream",
        task="delayed_recall_2",
        cell="gru",
        seq_len=4,
        hidden_size=8,
        steps=300,
        eval_interval=100,
        lr=1e-2,
        batch_size=32,
        device="cpu",
    )
    result = train_pack([config])[0].result
    assert result.status == "ok" and result.test_score < 0.1 * two_delays.baseline


def test_baseline_and_threshold_follow_the_runs_scale_and_other_tasks_ignore_parameters():
    at_one = get_task("delayed_recall", '{"scale": 1.0}')  # the JSON of tables/runs.csv
    assert (at_one.baseline, at_one.threshold) == (memoryless_mse(1.0), solved_mse(1.0)) == (1 / 3, 0.25)
    assert "a = 1)" in at_one.baseline_note and at_one.threshold_note.startswith("a^2/4 (a = 1)")
    assert at_one.make_data is DELAYED_RECALL.make_data and get_task("delayed_recall", {}) is DELAYED_RECALL
    assert (DELAYED_RECALL.baseline, DELAYED_RECALL.threshold) == (memoryless_mse(0.5), solved_mse(0.5))
    assert get_task("adding", {"markers": "anywhere"}) is get_task("adding")  # its baseline does not depend on them
    with pytest.raises(ValueError, match="scale=0"):
        get_task("delayed_recall", {"scale": 0})


def test_a_report_at_another_scale_states_that_scales_baseline(tmp_path):
    from memorybench.report.build import build_report
    from memorybench.storage.store import ResultsStore
    from tests.conftest import train_into

    store = ResultsStore.open(tmp_path / "results")
    for cell in ("srn", "gru"):
        train_into(
            store,
            protocol_config(
                "stream",
                task="delayed_recall",
                cell=cell,
                seq_len=66,
                hidden_size=4,
                steps=20,
                eval_interval=10,
                device="cpu",
                task_params={"scale": 1.0},
            ),
        )
    report = build_report(store.root).read_text()
    assert "MSE = Var(u) = a^2/3 (a = 1)) is **0.333**" in report and "0.0833" not in report
