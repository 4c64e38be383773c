"""Parity: the generator against its definition, the baseline from the generator's own statistics,
the threshold's reading, determinism and streams, parameter checks, training and extrapolation."""

import math
from functools import reduce
from itertools import product
from operator import xor

import pytest
import torch
import torch.nn.functional as F

from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack
from memorybench.tasks import get_task
from memorybench.tasks.parity import PARITY, make_parity_batch, make_parity_data


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def logits(classes: torch.Tensor, num_classes: int = 2) -> torch.Tensor:
    return F.one_hot(classes, num_classes).double() * 10.0


# --- data ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seq_len", [2, 3, 7, 40])
def test_each_label_is_the_xor_of_its_own_bits(seq_len):
    batch = make_parity_batch(500, seq_len, gen())
    x, y = batch.inputs, batch.targets
    assert x.shape == (500, seq_len) and y.shape == (500,) and x.dtype == y.dtype == torch.int64
    assert ((x == 0) | (x == 1)).all()
    for bits, label in zip(x.tolist(), y.tolist()):
        assert label == reduce(xor, bits)  # the definition, bit by bit


def test_every_string_of_three_bits_appears_with_its_parity():
    batch = make_parity_batch(4000, 3, gen(1))
    seen = {tuple(bits): label for bits, label in zip(batch.inputs.tolist(), batch.targets.tolist())}
    assert seen == {bits: sum(bits) % 2 for bits in product((0, 1), repeat=3)}


def test_bits_are_fair_and_independent():
    x = make_parity_batch(20000, 8, gen(2)).inputs.float()
    assert torch.allclose(x.mean(0), torch.full((8,), 0.5), atol=0.015)
    corr = torch.corrcoef(x.T)
    assert (corr - torch.eye(8)).abs().max() < 0.03


# --- baseline and threshold ----------------------------------------------------------------------


def test_the_memoryless_baseline_is_what_the_generators_statistics_allow():
    batch = make_parity_batch(40000, 6, gen(3))
    x, y = batch.inputs, batch.targets
    assert torch.bincount(y).max().item() / len(y) == pytest.approx(PARITY.baseline, abs=0.01)  # the most common answer
    for last in (0, 1):  # the best answer from the last bit alone: the majority label given that bit
        labels = y[x[:, -1] == last]
        assert torch.bincount(labels, minlength=2).max().item() / len(labels) == pytest.approx(0.5, abs=0.015)
    keys = (x[:, :-1] * (2 ** torch.arange(5))).sum(1)  # any answer from the first L - 1 bits: the majority given them
    best = sum(torch.bincount(y[keys == k], minlength=2).max().item() for k in range(32)) / len(y)
    assert best == pytest.approx(0.5, abs=0.02)
    assert (
        PARITY.score(logits(torch.zeros_like(y)), y).item() == pytest.approx(0.5, abs=0.01)
        and PARITY.score(logits(y), y).item() == 1.0
    )
    assert PARITY.loss(torch.zeros(len(y), 2), y).item() == pytest.approx(math.log(2)) == PARITY.loss_baseline(6)


def test_halfway_is_the_parity_right_on_half_the_strings():
    y = make_parity_batch(40000, 10, gen(4)).targets
    half = torch.where(torch.arange(len(y)) % 2 == 0, y, torch.randint(0, 2, y.shape, generator=gen(5)))
    assert PARITY.score(logits(half), y).item() == pytest.approx(PARITY.threshold, abs=0.01)
    assert PARITY.threshold == 0.75 and PARITY.direction == "higher" and PARITY.improves(0.76, 0.75)


# --- declarations and checks ---------------------------------------------------------------------


def test_registered_task_and_its_declarations():
    task = get_task("parity")
    assert task is PARITY and (task.input_kind, task.input_size, task.output_kind, task.output_size) == (
        "tokens",
        2,
        "class",
        2,
    )
    assert (task.min_seq_len, task.fresh_batches, task.unscored_class, task.extrapolation_factors) == (
        2,
        True,
        None,
        (1, 2, 4, 8),
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(seq_len=1, seed=0), r"seq_len=1 is not allowed; it must be an integer >= 2"),
        (dict(seq_len=10, seed=-1), "seed=-1"),
        (dict(seq_len=10, seed=0, eval_size=0), r"eval_size=0 .*>= 1"),
    ],
)
def test_bad_parameters_raise_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        make_parity_data(**kwargs)
    assert "\n" not in str(error.value)


# --- training and extrapolation ------------------------------------------------------------------


def test_trains_end_to_end_and_is_scored_at_eight_times_its_length(tmp_path):
    from memorybench.diagnostics.extrapolate import default_factors, score_at
    from memorybench.training import train_and_save

    config = protocol_config("parity", cell="gru", seq_len=4, steps=20, eval_interval=10, device="cpu")
    (output,) = train_pack([config])
    assert output.result.status == "ok" and [c["step"] for c in output.result.curves] == [10, 20]
    folder = train_and_save(config, tmp_path)
    assert default_factors("parity") == (1, 2, 4, 8)
    score, n = score_at(folder, test_len=32, size=200)
    assert n == 200 and 0.0 <= score <= 1.0
