"""What every task drawing fresh training batches promises (the four tasks of issue 25): data a pure function of
the seed, dev, test and training streams apart, a fresh batch every step, and its evaluation sets sized as asked."""

import pytest
import torch

from memorybench.tasks import get_task, split_seed


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    "task, length, eval_steps",
    [
        ("parity", 12, 12),
        ("selective_copying", 20, 20 + 2 * 4),
        ("associative_recall", 6, 2 * 6 + 2),
        ("flip_flop", 12, 24),
    ],
)
def test_is_deterministic_per_seed_and_its_streams_differ(task, length, eval_steps):
    make = get_task(task).make_data
    a, b, c = make(length, 3), make(length, 3), make(length, 4)
    assert (
        torch.equal(a.dev.inputs, b.dev.inputs)
        and torch.equal(a.test.inputs, b.test.inputs)
        and torch.equal(a.test.targets, b.test.targets)
    )
    assert not torch.equal(a.dev.inputs, c.dev.inputs) and not torch.equal(a.dev.inputs, a.test.inputs)
    assert len(a.dev) == len(a.test) == 1000 and a.train is None
    train = a.sample_train(1000, gen(split_seed(3, "train", length)))
    assert torch.equal(train.inputs, b.sample_train(1000, gen(split_seed(3, "train", length))).inputs)
    assert not torch.equal(train.inputs, a.dev.inputs) and not torch.equal(train.inputs, a.test.inputs)
    stream = gen(0)
    assert not torch.equal(
        a.sample_train(8, stream).inputs, a.sample_train(8, stream).inputs
    )  # a fresh batch every step
    assert make(length, 3, eval_size=7).dev.inputs.shape[:2] == (7, eval_steps)
