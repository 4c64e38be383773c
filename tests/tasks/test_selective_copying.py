"""Selective copying: the generator against its definition, the baseline from the generator's own
statistics, the threshold's reading, determinism and streams, parameter checks, training."""

import math

import pytest
import torch
import torch.nn.functional as F

from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack
from memorybench.models import build_model
from memorybench.tasks import get_task
from memorybench.tasks.selective_copying import (
    SELECTIVE_COPYING,
    make_selective_copying_batch,
    make_selective_copying_data,
    selective_copying_task,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def logits(classes: torch.Tensor, num_classes: int = 9) -> torch.Tensor:
    return F.one_hot(classes, num_classes).double() * 10.0


# --- data ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seq_len, alphabet, recall", [(1, 8, 4), (2, 8, 4), (30, 8, 4), (5, 2, 1), (7, 4, 6), (3, 16, 16)]
)
def test_the_markers_ask_for_the_scattered_symbols_in_order(seq_len, alphabet, recall):
    batch = make_selective_copying_batch(300, seq_len, alphabet, recall, gen())
    x, y = batch.inputs, batch.targets
    span = recall + seq_len
    assert x.shape == y.shape == (300, span + recall) and x.dtype == y.dtype == torch.int64
    assert (x[:, span:] == alphabet + 1).all() and ((x == alphabet + 1).sum(1) == recall).all()  # K markers, last
    assert (y[:, :span] == 0).all()
    for row, target in zip(x.tolist(), y.tolist()):
        symbols = [token for token in row[:span] if token != 0]  # the definition: the non-blank inputs, in order
        assert len(symbols) == recall and all(1 <= s <= alphabet for s in symbols)
        assert target[span:] == symbols


def test_positions_are_uniform_over_the_span_and_not_copys():
    seq_len, recall, n = 6, 4, 20000
    x = make_selective_copying_batch(n, seq_len, 8, recall, gen(1)).inputs[:, : recall + seq_len]
    occupied = (x != 0).float().mean(0)  # each of the K + L steps holds a symbol with probability K / (K + L)
    assert torch.allclose(occupied, torch.full((recall + seq_len,), recall / (recall + seq_len)), atol=0.015)
    first_k = (x[:, :recall] != 0).all(1).float().mean().item()  # copy's layout: 1 of C(10, 4) = 210 position sets
    assert first_k == pytest.approx(1 / 210, abs=0.003)
    counts = torch.bincount(x[x != 0], minlength=9)[1:].float()
    assert counts.min() > 0.9 * counts.mean()  # symbols uniform over 1..8


# --- baseline and threshold ----------------------------------------------------------------------


def test_the_memoryless_baseline_is_what_the_generators_statistics_allow():
    y = make_selective_copying_batch(20000, 10, 8, 4, gen(2)).targets[
        :, -4:
    ]  # the targets at the markers, whose input is the marker
    for j in range(
        4
    ):  # whatever a memoryless model answers at a marker, the most common symbol there is right this often
        assert torch.bincount(y[:, j], minlength=9).max().item() / len(y) == pytest.approx(
            SELECTIVE_COPYING.baseline, abs=0.01
        )
    full = make_selective_copying_batch(20000, 10, 8, 4, gen(3)).targets
    guesses = torch.where(full == 0, 0, torch.randint(1, 9, full.shape, generator=gen(4)))
    assert SELECTIVE_COPYING.score(logits(guesses), full).item() == pytest.approx(1 / 8, abs=0.005)
    assert SELECTIVE_COPYING.score(logits(torch.zeros_like(full)), full).item() == 0.0  # blanks are not scored
    assert SELECTIVE_COPYING.score(logits(full), full).item() == 1.0


@pytest.mark.parametrize("seq_len", [1, 10, 200])
def test_blank_then_uniform_cross_entropy_is_the_loss_baseline(seq_len):
    y = make_selective_copying_data(seq_len, seed=0, eval_size=50).dev.targets  # (N, L + 8)
    scores = torch.full((*y.shape, 9), -math.inf, dtype=torch.float64)
    scores[:, : seq_len + 4, 0] = 0.0  # blank with certainty off the markers
    scores[:, seq_len + 4 :, 1:] = 0.0  # uniform over the 8 symbols at the markers
    expected = 4 * math.log(8) / (seq_len + 8)
    assert SELECTIVE_COPYING.loss(scores, y).item() == pytest.approx(expected, rel=1e-12)
    assert SELECTIVE_COPYING.loss_baseline(seq_len) == pytest.approx(expected, rel=1e-15)
    assert SELECTIVE_COPYING.loss_baseline(seq_len, recall=16) == pytest.approx(16 * math.log(8) / (seq_len + 32))


def test_keeping_half_the_symbols_scores_halfway_and_the_threshold_asks_for_all():
    y = make_selective_copying_batch(20000, 10, 8, 4, gen(5)).targets
    kept = y.clone()
    kept[:, -2:] = torch.randint(1, 9, (len(y), 2), generator=gen(6))  # the last two symbols guessed
    assert SELECTIVE_COPYING.score(logits(kept), y).item() == pytest.approx((2 + 2 / 8) / 4, abs=0.005)
    assert (2 + 2 / 8) / 4 == (1 + 1 / 8) / 2  # keeping half of them is halfway from chance to perfect
    assert SELECTIVE_COPYING.threshold == 0.99 == get_task("copy").threshold


# --- declarations and checks ---------------------------------------------------------------------


def test_registered_task_another_alphabet_and_the_models_shape():
    task = get_task("selective_copying")
    assert task is SELECTIVE_COPYING
    assert (task.input_kind, task.input_size, task.output_kind, task.output_size, task.unscored_class) == (
        "tokens",
        10,
        "class_per_step",
        9,
        0,
    )
    assert (task.min_seq_len, task.fresh_batches) == (1, True)
    mamba = selective_copying_task(alphabet=14, name="selective_copying_14")
    assert (mamba.input_size, mamba.output_size, mamba.baseline) == (16, 15, 1 / 14)
    assert mamba.make_data(5, 0, recall=16, eval_size=3).dev.inputs.max().item() == 15
    assert build_model(task, "gru", seed=0)(make_selective_copying_data(6, 0, eval_size=4).dev.inputs).shape == (
        4,
        14,
        9,
    )


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (make_selective_copying_data, dict(seq_len=0, seed=0), r"seq_len=0 is not allowed; it must be an integer >= 1"),
        (make_selective_copying_data, dict(seq_len=5, seed=0, recall=0), r"recall=0 .*>= 1"),
        (make_selective_copying_data, dict(seq_len=5, seed=0, alphabet=1), r"alphabet=1 .*>= 2"),
        (make_selective_copying_data, dict(seq_len=5, seed=-1), "seed=-1"),
        (make_selective_copying_data, dict(seq_len=5, seed=0, eval_size=0), r"eval_size=0 .*>= 1"),
        (
            SELECTIVE_COPYING.make_data,
            dict(seq_len=5, seed=0, alphabet=16),
            r"alphabet=16 is not allowed for task 'selective_copying'",
        ),
        (selective_copying_task, dict(alphabet=1), r"alphabet=1 is not allowed"),
    ],
)
def test_bad_parameters_raise_one_line_errors(make, kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        make(**kwargs)
    assert "\n" not in str(error.value)


def test_trains_end_to_end_alone_and_as_a_stacked_pack():
    configs = [
        protocol_config("selective_copying", cell="gru", seq_len=5, seed=s, steps=20, eval_interval=10, device="cpu")
        for s in range(2)
    ]
    singles = [train_pack([c])[0].result for c in configs]
    packed = [o.result for o in train_pack(configs, layout="stacked")]
    for single, result in zip(singles, packed):
        assert (
            single.status == result.status == "ok" and result.packing == "stacked" and 0.0 <= result.test_score <= 1.0
        )
        assert result.test_score == pytest.approx(single.test_score, abs=1e-5)
