"""Associative recall (Ba et al. 2016): L key-value pairs, then one key; answer its value.

Tokens: the keys 0..`keys`-1 (default 64), the values `keys`..`keys`+`values`-1 (default
10, Ba et al.'s digits) and the separator `keys` + `values`. The input is L pairs
k_1 v_1 ... k_L v_L, the separator and one query key q: 2L + 2 steps. The keys of a
sequence are distinct (L of the `keys`, uniformly, in random order), the values i.i.d.
uniform, and the query is one of the sequence's keys, uniformly; the target is one class
at the end, the index (0..`values`-1) of the value paired with q. The run's `seq_len` is
L, the number of pairs (at most `keys`). At L = 3 with 8 keys and 4 values (tokens 8..11
the values, 12 the separator):

    inputs [2, 8, 3, 8, 4, 10, 12, 4]  ->  label 2   (key 4 was paired with value token 10, value 2)

Ba et al.'s task ("c9k8j3f1??c" -> 8) with one separator instead of two; it is the
single-query form of Zoology's multi-query associative recall (MQAR, Arora et al. 2023).
Answering needs every binding kept until the query names one of them: the length is the
amount to hold, not a delay.

Memoryless baseline: accuracy 1 / values (0.1). The value paired with the query is
uniform over the values and independent of the query key itself (values are drawn
independently of keys), so whatever a model answers from the last input alone it is
right with probability 1 / values; always answering one value is such a guess, and so
is the most common answer. Its cross-entropy is ln(values) (`TaskSpec.loss_baseline`).

"Solved" threshold: halfway from chance to perfect, (1 + 1/values) / 2 = 0.55. A model
that holds the bindings of a share q of the pairs (the last m of them, say: q = m / L)
and guesses the rest scores q + (1 - q) / values, so halfway is q = 1/2: the state holds
half of the L bindings, and a cell's horizon L* reads as about L*/2 bindings held — a
capacity reading, as the length is what must be held. 0.99, copy's rule, would ask for
every binding and count a cell that keeps most of a long list as failing outright.

Reading rule: horizons are read from L = 3 on (`horizon_from`). At L = 2 the threshold 0.55 is exactly the score
of a model that holds one of the two bindings, and such a model passes a 1,000-sequence test about half the
time: a pass or a fail at 2 decides nothing. The runs at L = 1 and 2 stay stored and in the score tables.

Fresh training batches every step from the run's seeded generator; fixed dev and test
sets of `eval_size` sequences drawn from seeds disjoint from the training stream. The
numbers of keys and values size the model (its embedding and its classes), so they are
fixed per registered task: `associative_recall_task(keys=26, values=10, name=...)` builds
Ba et al.'s letters and digits as a task of its own.

Example:
    >>> batch = make_associative_recall_batch(2, 3, 8, 4, torch.Generator().manual_seed(0))
    >>> batch.inputs.tolist(), batch.targets.tolist()
    ([[2, 8, 3, 8, 4, 10, 12, 4], [4, 9, 5, 10, 6, 11, 12, 6]], [2, 3])
    >>> data = make_associative_recall_data(seq_len=3, seed=0)
    >>> data.dev.inputs.shape, data.dev.targets.shape  # (N, 2L + 2), (N,)
    (torch.Size([1000, 8]), torch.Size([1000]))
    >>> ASSOCIATIVE_RECALL.input_size, ASSOCIATIVE_RECALL.output_size, ASSOCIATIVE_RECALL.baseline, ASSOCIATIVE_RECALL.threshold
    (75, 10, 0.1, 0.55)
"""

from __future__ import annotations

from dataclasses import replace

import math

import torch

from memorybench.checks import check_int
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, fresh_data

KEYS = 64  # distinct keys a sequence may draw from: also its most pairs
VALUES = 10  # Ba et al.'s digits


def make_associative_recall_batch(
    batch_size: int, seq_len: int, keys: int, values: int, generator: torch.Generator
) -> Split:
    """`batch_size` fresh sequences of `seq_len` pairs, the separator and a query; a pure function of the generator state."""
    drawn = torch.rand((batch_size, keys), generator=generator).argsort(dim=1)[
        :, :seq_len
    ]  # (B, L) distinct keys, random order
    paired = torch.randint(
        0, values, (batch_size, seq_len), generator=generator
    )  # (B, L) value indices, U{0..values-1}
    asked = torch.randint(0, seq_len, (batch_size, 1), generator=generator)  # (B, 1) which pair is queried
    pairs = torch.stack([drawn, paired + keys], dim=2).view(batch_size, 2 * seq_len)  # (B, 2L): k_1 v_1 ... k_L v_L
    separator = torch.full((batch_size, 1), keys + values, dtype=torch.long)
    inputs = torch.cat([pairs, separator, drawn.gather(1, asked)], dim=1)  # (B, 2L + 2)
    return Split(inputs, paired.gather(1, asked)[:, 0])  # targets (B,)


def make_associative_recall_data(
    seq_len: int, seed: int, keys: int = KEYS, values: int = VALUES, eval_size: int = 1000
) -> TaskData:
    """Associative recall over `seq_len` pairs: fixed dev/test sets of `eval_size` and a fresh-batch sampler."""
    check_int("keys", keys, 1)
    check_int("values", values, 2)
    check_int("seq_len", seq_len, 1)
    if seq_len > keys:
        raise ValueError(
            f"seq_len={seq_len!r} is not allowed; the keys of a sequence are distinct, so it holds at most keys={keys} pairs"
        )
    check_int("seed", seed, 0)
    check_int("eval_size", eval_size, 1)

    return fresh_data(
        lambda batch_size, generator: make_associative_recall_batch(batch_size, seq_len, keys, values, generator),
        seq_len,
        seed,
        eval_size,
    )


def associative_recall_task(keys: int = KEYS, values: int = VALUES, name: str = "associative_recall") -> TaskSpec:
    """Associative recall over `keys` keys and `values` values; its model has keys + values + 1 tokens in and `values` classes out."""
    check_int("keys", keys, 1)
    check_int("values", values, 2)

    def make_data(seq_len: int, seed: int, eval_size: int = 1000) -> TaskData:
        return make_associative_recall_data(seq_len, seed, keys, values, eval_size)

    def memoryless_loss(seq_len: int, **params) -> float:
        return math.log(values)

    return TaskSpec(
        name=name,
        label="associative recall",
        description=f"associative recall: L key-value pairs (distinct keys of {keys}, values of {values}), a separator and one "
        "key; answer its value",
        input_kind="tokens",
        input_size=keys + values + 1,  # keys, values, separator
        output_kind="class",
        output_size=values,
        metric="accuracy",
        baseline=1 / values,
        baseline_note=f"any answer from the query alone, e.g. always the same value: the queried value is uniform over the {values}",
        threshold=(1.0 + 1 / values) / 2,
        threshold_note="halfway from chance to perfect: the bindings of half the pairs held (the length is what must be held)",
        make_data=make_data,
        example_input=(),
        length_label="key-value pairs L",
        fresh_batches=True,
        min_seq_len=1,
        horizon_from=3,  # at L = 2 holding one of the two bindings scores the threshold itself (module docstring)
        memoryless_loss=memoryless_loss,
    )


ASSOCIATIVE_RECALL = replace(
    associative_recall_task(),
    grid=TaskGrid(  # literature: up to the 64 distinct keys
        ("associative_recall",),
        (2, 4, 8),
        (8, 16, 32, 64),
        "results/associative_recall",
        "associative recall over L key-value pairs (L <= 64), accuracy, chance 0.10",
    ),
)
