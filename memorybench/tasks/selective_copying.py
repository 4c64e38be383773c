"""Selective copying (Gu & Dao 2023, Mamba): reproduce K symbols scattered among blanks, in order.

Tokens: the blank 0, the symbols 1..`alphabet` (default 8) and the marker `alphabet` + 1.
The input is K + L steps holding `recall` = K (default 4) random symbols at K distinct
random positions (uniform over the position sets) and blanks everywhere else, then K
markers: 2K + L steps in all. The target at every step is the blank, except at the K
markers, which are the K symbols in the order they appeared. The run's `seq_len` is L,
the number of blanks among the symbols. At L = 4 with K = 3:

    inputs  [1, 0, 0, 0, 0, 4, 4, 9, 9, 9]   (markers 9 at the last K steps)
    targets [0, 0, 0, 0, 0, 0, 0, 1, 4, 4]

This is the copy task (`memorybench.tasks.copy_memory`) with the symbols' positions
drawn afresh for every sequence, so a model must decide from each token's content what
to keep (Gu & Dao's point: time-invariant recurrences cannot); the generator follows
the S4 repository's variable copying data (state-spaces/s4, `torch_copying_data(L, M, A,
variable=True)`: M symbols scattered over L + M steps, then M markers). Gu & Dao use
K = 16 at L = 4096; the suite's default K = 4 is sized for a 32-unit state trained on a
CPU (`--task-param recall=16` for theirs). The model answers a class per step
(`class_per_step`) over the blank and the symbols (`alphabet` + 1 classes; the marker is
never a target). The loss is the cross-entropy over every step; the metric is the
accuracy on the K recalled symbols only (`unscored_class` = the blank), as copy's.

Memoryless baselines: at a marker step the input is the marker, and the target there is
a symbol drawn uniformly from the alphabet independently of it, so any memoryless answer
scores accuracy 1 / alphabet on the recalled symbols (guessing one symbol, or any fixed
one). A model that answers blank with certainty wherever the input is not a marker (the
targets there are always the blank) and uniformly over the symbols at the markers has
cross-entropy K ln(alphabet) / (2K + L) (`TaskSpec.loss_baseline`).

"Solved" threshold: 0.99 on the recalled symbols, as copy's. Between chance and 1 the
accuracy mostly counts how many of the K symbols a model keeps (keeping k of them scores
(k + (K - k) / alphabet) / K), so halfway from chance to perfect is what keeping half of
them scores; 0.99 means the symbols are reproduced, and keeps the two copy tasks'
horizons comparable.

Fresh training batches every step from the run's seeded generator; fixed dev and test
sets of `eval_size` sequences drawn from seeds disjoint from the training stream. The
alphabet sizes the model, so it is fixed per registered task: `selective_copying_task(
alphabet=14, name=...)` builds a task of its own for another (Gu & Dao's 16 tokens are
14 symbols, the blank and the marker).

Example:
    >>> batch = make_selective_copying_batch(2, 4, 8, 3, torch.Generator().manual_seed(0))
    >>> batch.inputs.tolist()
    [[0, 0, 0, 0, 5, 8, 6, 9, 9, 9], [1, 0, 0, 0, 0, 4, 4, 9, 9, 9]]
    >>> batch.targets.tolist()
    [[0, 0, 0, 0, 0, 0, 0, 5, 8, 6], [0, 0, 0, 0, 0, 0, 0, 1, 4, 4]]
    >>> SELECTIVE_COPYING.baseline, SELECTIVE_COPYING.threshold, SELECTIVE_COPYING.output_size, round(SELECTIVE_COPYING.loss_baseline(10), 4)
    (0.125, 0.99, 9, 0.4621)
"""

from __future__ import annotations

from dataclasses import replace

import math

import torch

from memorybench.checks import check_int
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, fresh_data

ALPHABET = 8  # symbols 1..8, as the copy task's
RECALL = 4  # K: symbols to reproduce (Gu & Dao: 16)
BLANK = 0
SOLVED_ACCURACY = 0.99


def make_selective_copying_batch(
    batch_size: int, seq_len: int, alphabet: int, recall: int, generator: torch.Generator
) -> Split:
    """`batch_size` fresh sequences with `seq_len` blanks among the `recall` symbols; a pure function of the generator state."""
    span = recall + seq_len  # where the symbols may fall
    symbols = torch.randint(1, alphabet + 1, (batch_size, recall), generator=generator)  # (B, K), U{1..alphabet}
    positions = (
        torch.rand((batch_size, span), generator=generator).argsort(dim=1)[:, :recall].sort(dim=1).values
    )  # (B, K) distinct, ascending
    inputs = torch.full((batch_size, span + recall), BLANK, dtype=torch.long)  # (B, K + L + K)
    inputs.scatter_(1, positions, symbols)
    inputs[:, span:] = alphabet + 1  # the markers
    targets = torch.full_like(inputs, BLANK)  # (B, K + L + K)
    targets[:, span:] = symbols  # in the order they appeared: positions ascend
    return Split(inputs, targets)


def make_selective_copying_data(
    seq_len: int, seed: int, alphabet: int = ALPHABET, recall: int = RECALL, eval_size: int = 1000
) -> TaskData:
    """Selective copying with `seq_len` blanks: fixed dev/test sets of `eval_size` and a fresh-batch sampler."""
    check_int("seq_len", seq_len, 1)
    check_int("seed", seed, 0)
    check_int("alphabet", alphabet, 2)
    check_int("recall", recall, 1)
    check_int("eval_size", eval_size, 1)

    return fresh_data(
        lambda batch_size, generator: make_selective_copying_batch(batch_size, seq_len, alphabet, recall, generator),
        seq_len,
        seed,
        eval_size,
    )


def selective_copying_memoryless_loss(seq_len: int, alphabet: int = ALPHABET, recall: int = RECALL, **params) -> float:
    """Cross-entropy per step of blank off the markers, then uniform over the symbols at the markers."""
    return recall * math.log(alphabet) / (seq_len + 2 * recall)


def selective_copying_task(alphabet: int = ALPHABET, name: str = "selective_copying") -> TaskSpec:
    """Selective copying over `alphabet` symbols; its model has alphabet + 2 tokens in and alphabet + 1 classes out."""
    check_int("alphabet", alphabet, 2)

    def make_data(
        seq_len: int, seed: int, alphabet: int = alphabet, recall: int = RECALL, eval_size: int = 1000
    ) -> TaskData:
        if alphabet != sized_for:
            raise ValueError(
                f"alphabet={alphabet!r} is not allowed for task {name!r}, whose model is sized for alphabet={sized_for}; "
                f"register selective_copying_task(alphabet={alphabet!r}, name=...) as a task of its own"
            )
        return make_selective_copying_data(seq_len, seed, alphabet, recall, eval_size)

    def memoryless_loss(seq_len: int, alphabet: int = alphabet, recall: int = RECALL, **params) -> float:
        return selective_copying_memoryless_loss(seq_len, alphabet, recall)

    sized_for = alphabet
    return TaskSpec(
        name=name,
        label="selective copying",
        description=f"selective copying: reproduce K symbols (default {RECALL}) from an alphabet of {alphabet}, scattered at "
        "random among K + L steps, in order at K markers",
        input_kind="tokens",
        input_size=alphabet + 2,  # blank, symbols, marker
        output_kind="class_per_step",
        output_size=alphabet + 1,  # blank and symbols: the marker is never a target
        metric="accuracy",
        baseline=1 / alphabet,
        baseline_note=f"guessing each recalled symbol among the {alphabet}",
        threshold=SOLVED_ACCURACY,
        threshold_note="the recalled symbols reproduced, as copy's; halfway from chance to perfect is what keeping half of them scores",
        make_data=make_data,
        example_input=(),
        length_label="blanks L",
        fresh_batches=True,
        min_seq_len=1,
        unscored_class=BLANK,
        memoryless_loss=memoryless_loss,
    )


SELECTIVE_COPYING = replace(
    selective_copying_task(),
    grid=TaskGrid(  # literature: MAD's 256 and Gu & Dao's 4096 blanks
        ("selective_copying",),
        (10, 20, 50),
        (256, 1024, 4096),
        "results/selective_copying",
        "selective copying of 4 symbols among L blanks, recalled-symbol accuracy, chance 1/8",
    ),
)
