"""The copy memory task (Arjovsky et al. 2016): reproduce 10 symbols after a delay of T steps.

Tokens: the blank 0, the symbols 1..`alphabet` (default 8) and the delimiter
`alphabet` + 1. The input is `recall` (default 10) random symbols, then T - 1 blanks,
then the delimiter, then `recall` blanks: T + 2 * recall steps in all (T + 20). The
target at every step is the blank, except the last `recall` steps, which are the
symbols in order. The run's `seq_len` is the delay T. At T = 4 with recall 3:

    inputs  [3, 6, 1, 0, 0, 0, 9, 0, 0, 0]   (delimiter 9 at step recall + T - 1 = 6)
    targets [0, 0, 0, 0, 0, 0, 0, 3, 6, 1]

The model answers a class per step (`class_per_step`) over the blank and the symbols
(`alphabet` + 1 classes: the delimiter is never a target, so it gets no output that
would only have to be learned away). The loss is the cross-entropy over every step; the
metric is the accuracy on the `recall` recalled symbols only (`unscored_class` = the
blank), as accuracy over all steps would credit a model that answers blank everywhere
with (T + recall) / (T + 2 * recall).

Memoryless baselines: guessing a symbol scores accuracy 1 / alphabet; a model that
answers blank with certainty everywhere except uniformly over the symbols on the last
`recall` steps has cross-entropy recall * ln(alphabet) / (T + 2 * recall), i.e.
10 ln 8 / (T + 20): 0.173 at T = 100 (`TaskSpec.loss_baseline`). "Solved" means
accuracy 0.99 on the recalled symbols: accuracy between chance and 1 mostly counts how
many of the symbols a model keeps (keeping k of 10 scores (k + (10 - k) / 8) / 10), and
halfway from chance to perfect, 0.5625, is exactly what keeping 5 of the 10 scores.

Fresh training batches every step from the run's seeded generator; fixed dev and test
sets of `eval_size` sequences drawn from seeds disjoint from the training stream. The
alphabet sizes the model, so it is fixed per registered task: `copy_task(alphabet=16)`
builds a task of its own for another alphabet (register it under another name).

Example:
    >>> data = make_copy_data(seq_len=4, seed=0, recall=3)
    >>> data.dev.inputs.shape, data.dev.targets.shape  # (N, T + 2 * recall) each
    (torch.Size([1000, 10]), torch.Size([1000, 10]))
    >>> x, y = data.dev.inputs[0], data.dev.targets[0]
    >>> x[6].item(), torch.equal(y[-3:], x[:3]), int(y[:-3].abs().sum()), int(x[3:6].sum() + x[7:].sum())
    (9, True, 0, 0)
    >>> round(COPY.loss_baseline(100), 4), COPY.baseline, COPY.output_size
    (0.1733, 0.125, 9)
"""

from __future__ import annotations

from dataclasses import replace

import math

import torch

from memorybench.checks import check_int
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, fresh_data

ALPHABET = 8  # symbols 1..8, as Arjovsky et al.
RECALL = 10  # symbols to reproduce
BLANK = 0
SOLVED_ACCURACY = 0.99


def make_copy_batch(batch_size: int, seq_len: int, alphabet: int, recall: int, generator: torch.Generator) -> Split:
    """`batch_size` fresh sequences at delay `seq_len`; a pure function of the generator state."""
    symbols = torch.randint(1, alphabet + 1, (batch_size, recall), generator=generator)  # (B, R), U{1..alphabet}
    inputs = torch.full((batch_size, seq_len + 2 * recall), BLANK, dtype=torch.long)  # (B, T + 2R)
    inputs[:, :recall] = symbols
    inputs[:, recall + seq_len - 1] = alphabet + 1  # the delimiter, after T - 1 blanks
    targets = torch.full_like(inputs, BLANK)  # (B, T + 2R)
    targets[:, -recall:] = symbols
    return Split(inputs, targets)


def make_copy_data(
    seq_len: int, seed: int, alphabet: int = ALPHABET, recall: int = RECALL, eval_size: int = 1000
) -> TaskData:
    """Copy memory at delay `seq_len`: fixed dev/test sets of `eval_size` and a fresh-batch sampler."""
    check_int("seq_len", seq_len, 1)
    check_int("seed", seed, 0)
    check_int("alphabet", alphabet, 2)
    check_int("recall", recall, 1)
    check_int("eval_size", eval_size, 1)

    return fresh_data(
        lambda batch_size, generator: make_copy_batch(batch_size, seq_len, alphabet, recall, generator),
        seq_len,
        seed,
        eval_size,
    )


def copy_memoryless_loss(seq_len: int, alphabet: int = ALPHABET, recall: int = RECALL, **params) -> float:
    """Cross-entropy per step of blank everywhere, then uniform over the symbols on the recalled steps."""
    return recall * math.log(alphabet) / (seq_len + 2 * recall)


def copy_task(alphabet: int = ALPHABET, name: str = "copy") -> TaskSpec:
    """The copy memory task over `alphabet` symbols; its model has alphabet + 2 tokens in and alphabet + 1 classes out."""
    check_int("alphabet", alphabet, 2)

    def make_data(
        seq_len: int, seed: int, alphabet: int = alphabet, recall: int = RECALL, eval_size: int = 1000
    ) -> TaskData:
        if alphabet != sized_for:
            raise ValueError(
                f"alphabet={alphabet!r} is not allowed for task {name!r}, whose model is sized for alphabet={sized_for}; "
                f"register copy_task(alphabet={alphabet!r}, name=...) as a task of its own"
            )
        return make_copy_data(seq_len, seed, alphabet, recall, eval_size)

    def memoryless_loss(seq_len: int, alphabet: int = alphabet, recall: int = RECALL, **params) -> float:
        return copy_memoryless_loss(seq_len, alphabet, recall)

    sized_for = alphabet
    return TaskSpec(
        name=name,
        label="copy memory",
        description=f"copy memory: reproduce {RECALL} symbols from an alphabet of {alphabet} after a delay of T blanks",
        input_kind="tokens",
        input_size=alphabet + 2,  # blank, symbols, delimiter
        output_kind="class_per_step",
        output_size=alphabet + 1,  # blank and symbols: the delimiter is never a target
        metric="accuracy",
        baseline=1 / alphabet,
        baseline_note=f"guessing each recalled symbol among the {alphabet}",
        threshold=SOLVED_ACCURACY,
        threshold_note="the recalled symbols reproduced; halfway from chance to perfect is what keeping half of them scores",
        make_data=make_data,
        example_input=(),
        length_label="delay T",
        fresh_batches=True,
        min_seq_len=1,
        unscored_class=BLANK,
        memoryless_loss=memoryless_loss,
    )


COPY = replace(
    copy_task(),
    grid=TaskGrid(
        ("copy",),
        (10, 20, 50),
        (100, 200, 500, 1000),
        "results/copy",
        "copy memory, recalled-symbol accuracy, chance 1/8",
    ),
)
