"""The adding problem (Hochreiter & Schmidhuber 1997), in its modern form (Arjovsky et al. 2016).

Each step carries two numbers: a value ~ U[0, 1] and a marker. Exactly two steps are
marked (1.0, every other marker 0.0); the target is the sum of the two marked values,
read from the last hidden state and scored by mean squared error. To answer, a model
must pick out both marked values and carry them (or their sum) to the end.

    values  [0.49, 0.77, 0.09, 0.13, 0.31, 0.63]
    markers [0,    1,    0,    0,    1,    0   ]  ->  target 0.77 + 0.31 = 1.08

Where the markers fall is the parameter `markers`:
- "halves" (default, Arjovsky et al.): one uniformly in the first half (steps
  0..T//2-1), one uniformly in the second half (steps T//2..T-1);
- "anywhere" (the TCN benchmark's generator): two distinct steps, uniformly among all pairs.

Memoryless baseline. With a, b ~ U[0, 1] independent, the best constant answer is
E[a + b] = 1, and its MSE is Var(a + b) = Var(a) + Var(b) = 2 * 1/12 = 1/6 ≈ 0.1667.
The sometimes-quoted 0.1767 is wrong as a baseline: it is not the variance of a sum of
two independent U[0, 1] values, which is 1/6 exactly. A constant answer c scores
1/6 + (c - 1)^2, so 0.1767 is what a constant 0.1 off the mean (0.9 or 1.1) would
score, not the best memoryless guess; a model between 1/6 and 0.1767 has learned nothing.
A model that keeps only one operand and guesses the other's mean scores Var(b) = 1/12
≈ 0.083, so the "solved" threshold is 0.01, well below that: halfway from 1/6 to 0
would be exactly 1/12 and would count one-operand models as solving the task.

Fresh training batches every step from the run's seeded generator; fixed dev and test
sets of `eval_size` sequences drawn from seeds disjoint from the training stream.

Example:
    >>> data = make_adding_data(seq_len=6, seed=0)
    >>> data.dev.inputs.shape, data.dev.targets.shape  # (N, T, 2), (N, 1)
    (torch.Size([1000, 6, 2]), torch.Size([1000, 1]))
    >>> markers = data.dev.inputs[..., 1]
    >>> bool((markers.sum(1) == 2).all()), bool((markers[:, :3].sum(1) == 1).all())  # one per half
    (True, True)
    >>> torch.equal(data.dev.targets[:, 0], (data.dev.inputs[..., 0] * markers).sum(1))
    True
    >>> ADDING.baseline, ADDING.loss_baseline(100)
    (0.16666666666666666, 0.16666666666666666)
"""

from __future__ import annotations

import torch

from memorybench.checks import check_choice, check_int
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, fresh_data

MARKERS = ("halves", "anywhere")  # where the two marked steps may fall
MEMORYLESS_MSE = 1 / 6  # Var(a + b) for a, b ~ U[0, 1]: the MSE of always answering E[a + b] = 1
ONE_OPERAND_MSE = 1 / 12  # Var(b): the MSE of a model that remembers a and guesses b's mean
SOLVED_MSE = 0.01


def marker_positions(batch_size: int, seq_len: int, markers: str, generator: torch.Generator) -> torch.Tensor:
    """(B, 2) the two marked steps of each sequence, first < second."""
    if markers == "halves":
        half = seq_len // 2
        first = torch.randint(0, half, (batch_size,), generator=generator)  # U{0..T//2-1}
        second = torch.randint(half, seq_len, (batch_size,), generator=generator)  # U{T//2..T-1}
        return torch.stack([first, second], dim=1)
    first = torch.randint(0, seq_len, (batch_size,), generator=generator)  # U{0..T-1}
    other = torch.randint(0, seq_len - 1, (batch_size,), generator=generator)  # U{0..T-2}, then skip `first`:
    other = other + (other >= first).long()  # uniform over the T-1 steps that are not `first`
    return torch.stack([torch.minimum(first, other), torch.maximum(first, other)], dim=1)


def make_adding_batch(batch_size: int, seq_len: int, markers: str, generator: torch.Generator) -> Split:
    """`batch_size` fresh sequences; a pure function of the generator state."""
    values = torch.rand((batch_size, seq_len), generator=generator)  # (B, T) ~ U[0, 1)
    marked = torch.zeros(batch_size, seq_len).scatter_(
        1, marker_positions(batch_size, seq_len, markers, generator), 1.0
    )  # (B, T)
    inputs = torch.stack([values, marked], dim=-1)  # (B, T, 2)
    return Split(inputs, (values * marked).sum(dim=1, keepdim=True))  # targets (B, 1)


def make_adding_data(seq_len: int, seed: int, markers: str = "halves", eval_size: int = 1000) -> TaskData:
    """The adding problem at length `seq_len`: fixed dev/test sets of `eval_size` and a fresh-batch sampler."""
    check_int("seq_len", seq_len, 2)
    check_int("seed", seed, 0)
    check_choice("markers", markers, MARKERS)
    check_int("eval_size", eval_size, 1)

    return fresh_data(
        lambda batch_size, generator: make_adding_batch(batch_size, seq_len, markers, generator),
        seq_len,
        seed,
        eval_size,
    )


def adding_memoryless_loss(seq_len: int, **params) -> float:
    """The training loss (MSE) of always answering 1, at any length and marker placement."""
    return MEMORYLESS_MSE


ADDING = TaskSpec(
    name="adding",
    label="adding problem",
    description="adding problem: sum the two marked values among T uniform values (MSE)",
    input_kind="vectors",
    input_size=2,
    output_kind="real",
    output_size=1,
    metric="mse",
    baseline=MEMORYLESS_MSE,
    baseline_note="always answering 1, the mean of the sum: MSE = Var(a + b) = 2/12 = 1/6",
    threshold=SOLVED_MSE,
    threshold_note="well below 1/12 ≈ 0.083, the MSE of a model that keeps only one of the two values; "
    "halfway from 1/6 to 0 would be exactly that",
    make_data=make_adding_data,
    example_input=(),
    length_label="sequence length T",
    fresh_batches=True,
    min_seq_len=2,
    memoryless_loss=adding_memoryless_loss,
    grid=TaskGrid(
        ("adding",), (25, 50, 100), (100, 200, 400, 600), "results/adding", "adding problem, MSE, baseline 1/6"
    ),
)
