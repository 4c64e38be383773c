"""The NNDL digit-sum memory task, in two variants.

A sequence of `seq_len` digits: the first two are the operands, the rest are zeros
except for noise; the label is the operands' sum (19 classes, 0..18). To answer,
a model must carry both operands across the whole noisy tail.

    inputs [6, 7, 0, 0, 1, 0, 0, 0, 0, 0]  ->  label 13

- `nndl` is the book's data (chapter 6): each of the 100 operand pairs, in order,
  copied k times (train 3, dev 1, test 1 -> 300/100/100 sequences); in each copy
  exactly one position i ~ U{2..L-1} is overwritten by a digit ~ U{0..9} (so 10% of
  copies stay clean). Draws follow the book's generator: one legacy numpy
  RandomState seeded once, lengths generated in the order 5, 10, ..., 35, train
  then dev then test, two scalar `randint` draws (position, digit) per copy.
- `stream` is the streaming variant: operands uniform; every later position is a
  random digit with probability p (default 0.1) and 0 otherwise; fresh training
  batches every step from a seeded generator; fixed dev and test sets drawn from
  seeds disjoint from the training stream.

Example:
    >>> data = make_nndl_data(seq_len=5, seed=0)
    >>> data.train.inputs[:3].tolist(), data.train.targets[:3].tolist()
    ([[0, 0, 5, 0, 0], [0, 0, 3, 0, 0], [0, 0, 0, 3, 0]], [0, 0, 0])
"""

from __future__ import annotations

import numpy as np
import torch

from memorybench.checks import check_int, check_probability
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, fresh_data

NUM_DIGITS = 10
NUM_CLASSES = 19  # sums 0..18
CHANCE = 0.1  # the most common sum (9) is 10 of the 100 operand pairs
BOOK_EXAMPLE = (6, 7, 0, 0, 1, 0, 0, 0, 0, 0)  # the book's Fig 6.13 sequence at L=10; label 13
BOOK_LENGTHS = (5, 10, 15, 20, 25, 30, 35)  # the order the book generates its files in
BOOK_COPIES = {"train": 3, "dev": 1, "test": 1}  # k per split -> 300/100/100 sequences


def _nndl_split(seq_len: int, copies: int, rng: np.random.RandomState) -> Split:
    """The book's `generate_data(length, k)`: 100 base pairs in order, k noisy copies each."""
    inputs = np.zeros((NUM_DIGITS * NUM_DIGITS * copies, seq_len), dtype=np.int64)  # (100k, L)
    targets = np.zeros(len(inputs), dtype=np.int64)  # (100k,)
    row = 0
    for a in range(NUM_DIGITS):
        for b in range(NUM_DIGITS):
            for _ in range(copies):
                position = rng.randint(2, seq_len)  # U{2..L-1}
                digit = rng.randint(0, NUM_DIGITS)  # U{0..9}
                inputs[row, :2] = a, b
                inputs[row, position] = digit
                targets[row] = a + b
                row += 1
    return Split(torch.from_numpy(inputs), torch.from_numpy(targets))


def make_nndl_data(seq_len: int, seed: int, train_copies: int = 3, eval_copies: int = 1) -> TaskData:
    """The book's fixed train/dev/test sets for one length.

    With the book's copies (3/1/1) the generator state is replayed through every
    book length shorter than `seq_len` first, so a length's data is what the book's
    single seeded pass over 5, 10, ..., 35 produces for it.
    """
    check_int("seq_len", seq_len, 3)
    check_int("seed", seed, 0)
    check_int("train_copies", train_copies, 1)
    check_int("eval_copies", eval_copies, 1)
    copies = {"train": train_copies, "dev": eval_copies, "test": eval_copies}
    rng = np.random.RandomState(seed)
    if copies == BOOK_COPIES:
        for earlier in (n for n in BOOK_LENGTHS if n < seq_len):
            for split in ("train", "dev", "test"):
                _nndl_split(earlier, copies[split], rng)
    train, dev, test = (_nndl_split(seq_len, copies[split], rng) for split in ("train", "dev", "test"))
    return TaskData(dev=dev, test=test, train=train)


def make_stream_batch(batch_size: int, seq_len: int, p: float, generator: torch.Generator) -> Split:
    """`batch_size` fresh streaming sequences; a pure function of the generator state."""
    operands = torch.randint(0, NUM_DIGITS, (batch_size, 2), generator=generator)  # (B, 2)
    is_noise = torch.rand((batch_size, seq_len - 2), generator=generator) < p  # (B, L-2)
    digits = torch.randint(0, NUM_DIGITS, (batch_size, seq_len - 2), generator=generator)  # (B, L-2)
    inputs = torch.cat([operands, digits * is_noise], dim=1)  # (B, L)
    return Split(inputs, operands.sum(dim=1))


def make_stream_data(seq_len: int, seed: int, p: float = 0.1, eval_size: int = 1000) -> TaskData:
    """Streaming digit sum: fixed dev/test sets of `eval_size` and a fresh-batch sampler."""
    check_int("seq_len", seq_len, 3)
    check_int("seed", seed, 0)
    check_probability("p", p)
    check_int("eval_size", eval_size, 1)

    return fresh_data(
        lambda batch_size, generator: make_stream_batch(batch_size, seq_len, p, generator), seq_len, seed, eval_size
    )


_COMMON = dict(
    label="digit sum",
    input_kind="tokens",
    input_size=NUM_DIGITS,
    output_kind="class",
    output_size=NUM_CLASSES,
    metric="accuracy",
    baseline=CHANCE,
    baseline_note="always answering the most common sum",
    threshold=(1.0 + CHANCE) / 2,
    threshold_note="halfway from chance to perfect",
    example_input=BOOK_EXAMPLE,
    length_label="sequence length L (digits)",
)
NNDL = TaskSpec(
    name="nndl",
    description="digit sum, the book's data: 300/100/100 sequences, one noise digit per sequence",
    make_data=make_nndl_data,
    extrapolation_factors=(1, 2, 3),  # cheap at any length, and the book's own question
    sized_test=lambda size: {
        "train_copies": 1,
        "eval_copies": size // 100,
    },  # the test set holds each operand pair eval_copies times
    grid=TaskGrid(
        ("nndl", "nndl-shuffled", "stream", "nndl-6.2"),
        (5, 10, 15, 20, 25, 30),
        (10, 15, 20, 25, 30, 35),
        "results",
        "digit sum, accuracy, chance 0.10",
    ),
    **_COMMON,
)
STREAM = TaskSpec(
    name="stream",
    description="digit sum, streaming: fresh batches, each later position noise with probability p",
    make_data=make_stream_data,
    extrapolation_factors=(1, 2, 3),
    fresh_batches=True,
    **_COMMON,
)
