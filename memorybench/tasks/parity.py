"""Parity (state tracking): the XOR of a bit string, answered at its end.

The input is L bits b_1..b_L, i.i.d. uniform on {0, 1} (tokens 0 and 1); the target is
one class at the end, b_1 XOR ... XOR b_L (the number of ones mod 2), read from the last
hidden state. The run's `seq_len` is L, the number of bits. At L = 6:

    inputs [1, 1, 1, 1, 1, 0]  ->  label 1   (five ones)

Parity is the smallest state-tracking problem: a two-state automaton solves it at every
length, but a model must update that state at every step; Grazzi et al. (2025) prove
that diagonal linear recurrences whose eigenvalues lie in [0, 1] cannot represent it,
and Delétang et al. (2023, "Neural networks and the Chomsky hierarchy") score RNNs and
LSTMs on it far beyond the training length. Here a run trains at one length L (fresh
strings every step) and `memorybench diagnose extrapolate` scores it at 1, 2, 4 and 8
times L (`extrapolation_factors`).

Memoryless baseline: accuracy 0.5. For L >= 2 the label is independent of the last bit
(and of any L - 1 of the bits): given all bits but one, the label is that bit's value
XOR a constant, a fair coin. A model that sees only its current input therefore scores
exactly 0.5 in expectation whatever it answers, and so does any model that ignores even
one bit; answering always 0 (or always 1) is such a guess. Its cross-entropy is ln 2
(`TaskSpec.loss_baseline`). At L = 1 the last bit is the label, so the minimum length is 2.

"Solved" threshold: 0.75, halfway from chance to perfect (the digit sum's rule for a
one-class answer). Unlike copy, no partial memory lifts the score: keeping some of the
bits, or the parity of the last k < L of them, scores exactly 0.5. A score s > 0.5 means
the state carries the parity on a share 2s - 1 of the strings (and guesses on the rest,
as a counter that saturates would); halfway is the parity right on half of them.

Fresh training batches every step from the run's seeded generator; fixed dev and test
sets of `eval_size` sequences drawn from seeds disjoint from the training stream.

Example:
    >>> batch = make_parity_batch(3, 6, torch.Generator().manual_seed(0))
    >>> batch.inputs.tolist(), batch.targets.tolist()
    ([[0, 1, 1, 0, 1, 1], [1, 1, 1, 1, 1, 0], [0, 1, 0, 0, 0, 0]], [0, 1, 1])
    >>> data = make_parity_data(seq_len=6, seed=0)
    >>> data.dev.inputs.shape, data.dev.targets.shape  # (N, L), (N,)
    (torch.Size([1000, 6]), torch.Size([1000]))
    >>> PARITY.baseline, PARITY.threshold, round(PARITY.loss_baseline(6), 4), PARITY.extrapolation_factors
    (0.5, 0.75, 0.6931, (1, 2, 4, 8))
"""

from __future__ import annotations

import math

import torch

from memorybench.checks import check_int
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, fresh_data

CHANCE = 0.5  # the label is a fair coin given any L - 1 of the bits
MIN_LENGTH = 2  # at L = 1 the last (only) bit is the label


def make_parity_batch(batch_size: int, seq_len: int, generator: torch.Generator) -> Split:
    """`batch_size` fresh bit strings of length `seq_len` and their parities; a pure function of the generator state."""
    bits = torch.randint(0, 2, (batch_size, seq_len), generator=generator)  # (B, L), U{0, 1}
    return Split(bits, bits.sum(dim=1) % 2)  # targets (B,)


def make_parity_data(seq_len: int, seed: int, eval_size: int = 1000) -> TaskData:
    """Parity at length `seq_len`: fixed dev/test sets of `eval_size` and a fresh-batch sampler."""
    check_int("seq_len", seq_len, MIN_LENGTH)
    check_int("seed", seed, 0)
    check_int("eval_size", eval_size, 1)

    return fresh_data(
        lambda batch_size, generator: make_parity_batch(batch_size, seq_len, generator), seq_len, seed, eval_size
    )


def parity_memoryless_loss(seq_len: int, **params) -> float:
    """Cross-entropy of answering 0 and 1 with probability 1/2 each: ln 2, at every length."""
    return math.log(2)


PARITY = TaskSpec(
    name="parity",
    label="parity",
    description="parity: the XOR of L uniform bits, answered at the end (state tracking)",
    input_kind="tokens",
    input_size=2,
    output_kind="class",
    output_size=2,
    metric="accuracy",
    baseline=CHANCE,
    baseline_note="any answer that ignores a bit, e.g. always 0: the label is a fair coin given any L - 1 of the bits",
    threshold=(1.0 + CHANCE) / 2,
    threshold_note="halfway from chance to perfect: the parity right on half the strings (no partial memory scores above 0.5)",
    make_data=make_parity_data,
    example_input=(),
    length_label="bits L",
    fresh_batches=True,
    min_seq_len=MIN_LENGTH,
    memoryless_loss=parity_memoryless_loss,
    extrapolation_factors=(
        1,
        2,
        4,
        8,
    ),  # length generalisation is parity's question (Delétang et al. 2023); bits are cheap
    # literature: Delétang et al. (2023) test RNNs up to 500 bits
    grid=TaskGrid(
        ("parity",), (5, 10, 20, 40), (40, 100, 250, 500), "results/parity", "parity of L bits, accuracy, chance 0.5"
    ),
)
