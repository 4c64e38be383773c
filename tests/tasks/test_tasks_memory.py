"""The adding problem and copy memory: data, metrics and baselines, parameter checks, training end to end."""

import math

import pytest
import torch
import torch.nn.functional as F

from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack
from memorybench.models import build_model
from memorybench.tasks import TaskSpec, get_task
from memorybench.tasks.adding import ADDING, make_adding_batch, make_adding_data
from memorybench.tasks.base import split_seed
from memorybench.tasks.copy_memory import COPY, copy_task, make_copy_batch, make_copy_data


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- adding: data ---------------------------------------------------------------------------------


@pytest.mark.parametrize("markers", ["halves", "anywhere"])
@pytest.mark.parametrize("seq_len", [2, 3, 7, 50])
def test_adding_marks_exactly_two_steps_and_targets_their_sum(markers, seq_len):
    batch = make_adding_batch(3000, seq_len, markers, gen())
    x, y = batch.inputs, batch.targets
    assert x.shape == (3000, seq_len, 2) and y.shape == (3000, 1) and x.dtype == y.dtype == torch.float32
    values, marked = x[..., 0], x[..., 1]
    assert ((marked == 0) | (marked == 1)).all() and (marked.sum(1) == 2).all()
    assert ((values >= 0) & (values < 1)).all()
    assert torch.equal(y[:, 0], (values * marked).sum(1))
    first, second = marked.nonzero()[:, 1].view(-1, 2).unbind(1)  # the two marked steps of each row, in order
    assert torch.allclose(y[:, 0], values.gather(1, first[:, None])[:, 0] + values.gather(1, second[:, None])[:, 0])
    if markers == "halves":
        assert (first < seq_len // 2).all() and (second >= seq_len // 2).all()


def test_adding_marker_positions_are_uniform_in_each_mode():
    seq_len, n = 10, 20000
    halves = make_adding_batch(n, seq_len, "halves", gen(1)).inputs[..., 1]
    counts = halves.sum(0)  # each step is marked with probability 1/5 (one of 5 steps per half)
    assert torch.allclose(counts / n, torch.full((seq_len,), 0.2), atol=0.015)
    anywhere = make_adding_batch(n, seq_len, "anywhere", gen(1)).inputs[..., 1]
    assert torch.allclose(anywhere.sum(0) / n, torch.full((seq_len,), 0.2), atol=0.015)  # 2 of 10 steps
    same_half = (anywhere[:, :5].sum(1) != 1).float().mean().item()
    assert same_half == pytest.approx(2 * 10 / 45, abs=0.02)  # 2 * C(5, 2) of the C(10, 2) pairs; halves: never


def test_adding_is_deterministic_per_seed_and_its_streams_differ():
    a, b, c = make_adding_data(12, 3), make_adding_data(12, 3), make_adding_data(12, 4)
    assert (
        torch.equal(a.dev.inputs, b.dev.inputs)
        and torch.equal(a.test.inputs, b.test.inputs)
        and torch.equal(a.test.targets, b.test.targets)
    )
    assert not torch.equal(a.dev.inputs, c.dev.inputs) and not torch.equal(a.dev.inputs, a.test.inputs)
    assert len(a.dev) == len(a.test) == 1000 and a.train is None
    train = a.sample_train(1000, gen(split_seed(3, "train", 12)))
    again = b.sample_train(1000, gen(split_seed(3, "train", 12)))
    assert torch.equal(train.inputs, again.inputs) and not torch.equal(train.inputs, a.dev.inputs)
    stream = gen(0)
    assert not torch.equal(
        a.sample_train(8, stream).inputs, a.sample_train(8, stream).inputs
    )  # a fresh batch every step
    assert not torch.equal(a.sample_train(8, gen(0)).inputs, a.sample_train(8, gen(1)).inputs)
    assert not torch.equal(make_adding_data(12, 3, markers="anywhere").dev.inputs, a.dev.inputs)
    assert make_adding_data(12, 3, eval_size=7).dev.inputs.shape == (7, 12, 2)


# --- adding: metric and baselines -----------------------------------------------------------------


def test_adding_perfect_and_memoryless_predictors_score_zero_and_one_sixth():
    batch = make_adding_batch(100_000, 20, "halves", gen(5))
    y = batch.targets
    assert ADDING.score(y.clone(), y).item() == 0.0 and ADDING.is_perfect(0.0)
    assert ADDING.replica_scores(torch.stack([y, y + 0.1]), torch.stack([y, y])).tolist() == pytest.approx([0.0, 0.01])
    memoryless = ADDING.score(torch.ones_like(y), y).item()
    assert ADDING.baseline == pytest.approx(1 / 6) and memoryless == pytest.approx(1 / 6, abs=0.005)
    assert ADDING.loss_baseline(20, markers="anywhere") == ADDING.baseline
    values, marked = batch.inputs[..., 0], batch.inputs[..., 1]
    first = values.gather(1, marked.argmax(1, keepdim=True))  # remembers one operand, guesses the other's mean
    assert ADDING.score(first + 0.5, y).item() == pytest.approx(1 / 12, abs=0.003)
    assert ADDING.threshold < 1 / 12 / 5 and ADDING.improves(0.009, 0.01) and ADDING.direction == "lower"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(seq_len=10, seed=0, markers="middle"), "markers='middle' is not allowed; choose one of halves, anywhere"),
        (dict(seq_len=1, seed=0), r"seq_len=1 is not allowed; it must be an integer >= 2"),
        (dict(seq_len=10, seed=-1), "seed=-1"),
        (dict(seq_len=10, seed=0, eval_size=0), r"eval_size=0 .*>= 1"),
    ],
)
def test_adding_bad_parameters_raise_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        make_adding_data(**kwargs)
    assert "\n" not in str(error.value)


# --- copy: data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seq_len, alphabet, recall", [(1, 8, 10), (2, 8, 10), (30, 8, 10), (5, 2, 1), (7, 4, 3)])
def test_copy_layout_symbols_delimiter_and_targets(seq_len, alphabet, recall):
    batch = make_copy_batch(500, seq_len, alphabet, recall, gen())
    x, y = batch.inputs, batch.targets
    total = seq_len + 2 * recall
    assert x.shape == y.shape == (500, total) and x.dtype == y.dtype == torch.int64
    symbols = x[:, :recall]
    assert ((symbols >= 1) & (symbols <= alphabet)).all()
    delimiter = recall + seq_len - 1  # T + 9 with 10 symbols
    assert (x[:, delimiter] == alphabet + 1).all() and ((x == alphabet + 1).sum(1) == 1).all()
    assert (x[:, recall:delimiter] == 0).all() and (x[:, delimiter + 1 :] == 0).all()
    assert torch.equal(y[:, -recall:], symbols) and (y[:, :-recall] == 0).all()


def test_copy_default_is_arjovskys_layout():
    dev = make_copy_data(100, seed=0).dev
    x, y = dev.inputs, dev.targets
    assert x.shape == (1000, 120) and (x[:, 109] == 9).all() and torch.equal(y[:, 110:], x[:, :10])
    counts = torch.bincount(x[:, :10].flatten(), minlength=9)[1:].float()
    assert counts.min() > 0.9 * counts.mean() and ((x[:, :10] >= 1) & (x[:, :10] <= 8)).all()  # uniform over 1..8


def test_copy_is_deterministic_per_seed_and_its_streams_differ():
    a, b, c = make_copy_data(20, 3), make_copy_data(20, 3), make_copy_data(20, 4)
    assert torch.equal(a.dev.inputs, b.dev.inputs) and torch.equal(a.test.targets, b.test.targets)
    assert not torch.equal(a.dev.inputs, c.dev.inputs) and not torch.equal(a.dev.inputs, a.test.inputs)
    assert len(a.dev) == len(a.test) == 1000 and a.train is None
    train = a.sample_train(1000, gen(split_seed(3, "train", 20)))
    assert torch.equal(train.inputs, b.sample_train(1000, gen(split_seed(3, "train", 20))).inputs)
    assert not torch.equal(train.inputs, a.dev.inputs) and not torch.equal(train.inputs, a.test.inputs)
    stream = gen(0)
    assert not torch.equal(
        a.sample_train(8, stream).inputs, a.sample_train(8, stream).inputs
    )  # a fresh batch every step
    assert not torch.equal(a.sample_train(8, gen(0)).inputs, a.sample_train(8, gen(1)).inputs)


# --- copy: metric and baselines -------------------------------------------------------------------


def one_hot_logits(classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    return F.one_hot(classes, num_classes).double() * 10.0


def test_copy_accuracy_counts_the_recalled_symbols_only():
    y = make_copy_data(15, seed=1).dev.targets  # (N, 35)
    assert COPY.score(one_hot_logits(y, 9), y).item() == 1.0
    blank_everywhere = one_hot_logits(torch.zeros_like(y), 9)
    assert COPY.score(blank_everywhere, y).item() == 0.0  # over all steps it would be 25/35
    one_wrong = y.clone()
    one_wrong[0, -1] = y[0, -1] % 8 + 1  # one of the 10,000 recalled symbols wrong
    one_wrong[:, 0] = 3  # and a blank step wrong in every row: not scored
    assert COPY.score(one_hot_logits(one_wrong, 9), y).item() == pytest.approx(1 - 1 / 10_000)
    pack = torch.stack([one_hot_logits(y, 9), blank_everywhere, one_hot_logits(one_wrong, 9)])
    assert COPY.replica_scores(pack, torch.stack([y] * 3)).tolist() == pytest.approx([1.0, 0.0, 1 - 1 / 10_000])


def test_copy_guessing_symbols_scores_one_over_the_alphabet():
    y = make_copy_batch(20_000, 5, 8, 10, gen(2)).targets
    guesses = torch.where(y == 0, 0, torch.randint(1, 9, y.shape, generator=gen(3)))
    assert COPY.score(one_hot_logits(guesses, 9), y).item() == pytest.approx(1 / 8, abs=0.005)
    assert COPY.baseline == 1 / 8 and COPY.threshold == 0.99


@pytest.mark.parametrize("seq_len", [1, 100, 500])
def test_copy_blank_then_uniform_cross_entropy_is_the_loss_baseline(seq_len):
    y = make_copy_data(seq_len, seed=0, eval_size=50).dev.targets  # (N, T + 20)
    logits = torch.full((*y.shape, 9), -math.inf, dtype=torch.float64)
    logits[:, : seq_len + 10, 0] = 0.0  # blank with certainty
    logits[:, seq_len + 10 :, 1:] = 0.0  # uniform over the 8 symbols
    expected = 10 * math.log(8) / (seq_len + 20)
    assert COPY.loss(logits, y).item() == pytest.approx(expected, rel=1e-12)
    assert COPY.loss_baseline(seq_len) == pytest.approx(expected, rel=1e-15)
    assert COPY.loss_baseline(seq_len, recall=5, eval_size=10) == pytest.approx(5 * math.log(8) / (seq_len + 10))


def test_copy_task_for_another_alphabet_and_the_models_shapes():
    four = copy_task(alphabet=4, name="copy4")
    assert (four.input_size, four.output_size, four.baseline) == (6, 5, 0.25)
    assert four.loss_baseline(10) == pytest.approx(10 * math.log(4) / 30)
    assert four.make_data(3, 0, recall=2).dev.inputs.max().item() == 5
    model = build_model(COPY, "gru", seed=0)
    assert model(make_copy_data(6, 0, eval_size=4).dev.inputs).shape == (4, 26, 9)  # a class per step
    assert build_model(ADDING, "lstm", seed=0)(make_adding_data(6, 0, eval_size=4).dev.inputs).shape == (4, 1)


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (make_copy_data, dict(seq_len=5, seed=0, alphabet=1), r"alphabet=1 is not allowed; it must be an integer >= 2"),
        (make_copy_data, dict(seq_len=5, seed=0, recall=0), r"recall=0 is not allowed; it must be an integer >= 1"),
        (make_copy_data, dict(seq_len=0, seed=0), r"seq_len=0 .*>= 1"),
        (make_copy_data, dict(seq_len=5, seed=0, eval_size=0), r"eval_size=0 .*>= 1"),
        (
            COPY.make_data,
            dict(seq_len=5, seed=0, alphabet=16),
            r"alphabet=16 is not allowed for task 'copy', whose model is sized for alphabet=8",
        ),
        (COPY.make_data, dict(seq_len=5, seed=0, recall=-1), r"recall=-1"),
        (copy_task, dict(alphabet=1), r"alphabet=1 is not allowed"),
    ],
)
def test_copy_bad_parameters_raise_one_line_errors(make, kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        make(**kwargs)
    assert "\n" not in str(error.value)


# --- the TaskSpec extension -----------------------------------------------------------------------


def test_registry_and_the_spec_extension():
    assert get_task("adding") is ADDING and get_task("copy") is COPY
    assert (ADDING.input_kind, ADDING.input_size, ADDING.output_kind, ADDING.output_size, ADDING.metric) == (
        "vectors",
        2,
        "real",
        1,
        "mse",
    )
    assert (COPY.input_kind, COPY.input_size, COPY.output_kind, COPY.metric, COPY.unscored_class) == (
        "tokens",
        10,
        "class_per_step",
        "accuracy",
        0,
    )
    assert ADDING.fresh_batches and COPY.fresh_batches and (ADDING.min_seq_len, COPY.min_seq_len) == (2, 1)
    assert get_task("nndl").loss_baseline(10) is None and get_task("stream").unscored_class is None
    with pytest.raises(ValueError, match="unscored_class=0 is not allowed for class outputs"):
        TaskSpec(**{**{f: getattr(get_task("nndl"), f) for f in TaskSpec.__dataclass_fields__}, "unscored_class": 0})


# --- training end to end --------------------------------------------------------------------------


def config(task, seed=0, **params):
    return protocol_config(
        "stream",
        task=task,
        cell="gru",
        seq_len=10,
        seed=seed,
        steps=20,
        eval_interval=10,
        device="cpu",
        task_params=params,
    )


def assert_same_run(single, packed):
    assert (packed.best_step, packed.steps_done, packed.status) == (single.best_step, single.steps_done, "ok")
    assert packed.test_score == pytest.approx(single.test_score, abs=1e-5)
    assert packed.test_loss == pytest.approx(single.test_loss, rel=1e-4, abs=1e-5)
    assert [c["step"] for c in packed.curves] == [c["step"] for c in single.curves] == [10, 20]
    for a, b in zip(packed.curves, single.curves):
        for key in ("train_loss", "dev_loss", "dev_score", "grad_norm"):
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5)


def test_adding_trains_end_to_end_alone_and_as_a_stacked_pack():
    (alone,) = train_pack([config("adding", markers="anywhere")])
    assert alone.result.status == "ok" and alone.result.metric == "mse" and math.isfinite(alone.result.test_score)
    assert alone.result.curves[-1]["train_loss"] < alone.result.curves[0]["train_loss"]  # moving towards the mean
    configs = [config("adding", seed=s) for s in range(2)]
    singles = [train_pack([c])[0].result for c in configs]
    packed = [o.result for o in train_pack(configs, layout="stacked")]
    assert [r.packing for r in packed] == ["stacked"] * 2 and singles[0].test_score != singles[1].test_score
    for single, result in zip(singles, packed):
        assert_same_run(single, result)


def test_copy_trains_end_to_end_alone_and_as_a_stacked_pack():
    (alone,) = train_pack([config("copy", recall=3)])
    assert alone.result.status == "ok" and alone.result.metric == "accuracy" and 0.0 <= alone.result.test_score <= 1.0
    configs = [config("copy", seed=s) for s in range(2)]
    singles = [train_pack([c])[0].result for c in configs]
    packed = [o.result for o in train_pack(configs, layout="stacked")]
    assert [r.packing for r in packed] == ["stacked"] * 2
    for single, result in zip(singles, packed):
        assert_same_run(single, result)
