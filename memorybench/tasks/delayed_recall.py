"""Delayed recall (Jaeger 2001): reproduce each of the last K inputs of an i.i.d. stream.

One real input channel, u(t) ~ U[-a, a] i.i.d. (`scale` a, default 0.5: anchors.md
gives none, and says to always report it). After reading u(0..T-1) the model answers
K real numbers from its last hidden state, one linear read-out per delay: output k
(k = 1..K, column k-1) targets u(T-1-k), the input k steps before the last one read.
The score is the MSE averaged over the K delays (and the sequences). At T = 5, K = 3:

    inputs  [u0, u1, u2, u3, u4]   ->  targets [u3, u2, u1]   (delays 1, 2, 3)

The run's `seq_len` is T; it must exceed K (min_seq_len = K + 1) so that every
target is an input. K sizes the model's read-out, so it is fixed per registered task:
`delayed_recall` has K = 64, twice the largest default hidden size 32 — the memory
capacity of N units is at most N (Jaeger 2001), so with K = 2N the delays reach well
past what any cell can hold and the per-delay curve shows where memory runs out.
`delayed_recall_task(delays=K, name=...)` builds a task of its own for another K.

Memoryless baseline. The targets u(T-1-k), k >= 1, are independent of the last input,
so a memoryless answer c is independent of its target and scores
E[(u - c)^2] = Var(u) + E[c^2] (E[u] = 0); the best is c = 0, scoring
Var(u) = E[u^2] = (1/2a) ∫_{-a}^{a} u^2 du = a^2/3 (1/12 ≈ 0.0833 at a = 0.5).

"Solved" threshold: a^2/4 (1/16 = 0.0625 at a = 0.5). The best linear read-out of a
state scores Var(u) (1 - MC_k) at delay k (MC_k the squared correlation it reaches),
so an average MSE of a^2/3 (1 - m/K) means the read-outs recover m delays' worth of
variance, and the sum of MC_k is at most N. A threshold at a^2/6 (half the variance
explained) would be m = K/2 = N: the capacity bound itself for N = 32 and out of
reach for any smaller model. a^2/4 is m = K/4 = N/2, half the bound of the size the
task is made for: a model that reaches it has a last state from which linear read-outs
recover at least K/4 delays' worth (the sum of their squared correlations, up to sampling).
Both are stated at the task's default scale; `with_params(scale=a)` gives the task
with both at a run's own scale (the report does this for every experiment), and
`loss_baseline(seq_len, scale=a)` gives a^2/3 for the loss curves.

Fresh training batches every step from the run's seeded generator; fixed dev and test
sets of `eval_size` sequences drawn from seeds disjoint from the training stream.
`memorybench.diagnostics.memory_capacity` measures Jaeger's memory capacity of a
trained model on this task's input distribution.

Example:
    >>> data = make_delayed_recall_data(seq_len=5, seed=0, delays=3)
    >>> data.dev.inputs.shape, data.dev.targets.shape  # (N, T, 1), (N, K)
    (torch.Size([1000, 5, 1]), torch.Size([1000, 3]))
    >>> u = data.dev.inputs[..., 0]
    >>> torch.equal(data.dev.targets, u[:, [3, 2, 1]]), bool(u.abs().max() <= 0.5)
    (True, True)
    >>> DELAYED_RECALL.output_size, DELAYED_RECALL.min_seq_len, DELAYED_RECALL.baseline, DELAYED_RECALL.threshold
    (64, 65, 0.08333333333333333, 0.0625)
    >>> DELAYED_RECALL.loss_baseline(100, scale=1.0)  # a^2/3
    0.3333333333333333
    >>> at_one = DELAYED_RECALL.with_params(scale=1.0)
    >>> at_one.baseline, at_one.threshold  # a^2/3, a^2/4
    (0.3333333333333333, 0.25)
"""

from __future__ import annotations

from dataclasses import replace

import math
import numbers

import torch

from memorybench.checks import check_int
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, fresh_data

DELAYS = 64  # K of the registered task: 2N for the largest default hidden size N = 32
SCALE = 0.5  # a: u ~ U[-a, a]; anchors.md names no scale


def check_scale(scale) -> None:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale={scale!r} is not allowed; it must be a finite number > 0")


def memoryless_mse(scale: float = SCALE) -> float:
    """Var(u) = a^2/3: the MSE of answering 0 (the mean) for every delay."""
    return scale**2 / 3


def solved_mse(scale: float = SCALE) -> float:
    """a^2/4: the read-outs recover a quarter of the K delays' variance (see the module docstring)."""
    return scale**2 / 4


def draw_inputs(batch_size: int, steps: int, scale: float, generator: torch.Generator) -> torch.Tensor:
    """(B, T) i.i.d. U[-scale, scale) values; a pure function of the generator state."""
    return (torch.rand((batch_size, steps), generator=generator) * 2 - 1) * scale


def make_delayed_recall_batch(
    batch_size: int, seq_len: int, delays: int, scale: float, generator: torch.Generator
) -> Split:
    """`batch_size` fresh sequences: inputs (B, T, 1), targets (B, K) with targets[:, k-1] = u(T-1-k)."""
    u = draw_inputs(batch_size, seq_len, scale, generator)  # (B, T)
    return Split(u.unsqueeze(-1), u.flip(1)[:, 1 : delays + 1].clone())  # flipped column j is u(T-1-j)


def make_delayed_recall_data(
    seq_len: int, seed: int, delays: int = DELAYS, scale: float = SCALE, eval_size: int = 1000
) -> TaskData:
    """Delayed recall of `delays` inputs at length `seq_len`: fixed dev/test sets of `eval_size` and a fresh-batch sampler."""
    check_int("delays", delays, 1)
    check_int("seq_len", seq_len, delays + 1)
    check_int("seed", seed, 0)
    check_scale(scale)
    check_int("eval_size", eval_size, 1)

    return fresh_data(
        lambda batch_size, generator: make_delayed_recall_batch(batch_size, seq_len, delays, scale, generator),
        seq_len,
        seed,
        eval_size,
    )


def delayed_recall_task(delays: int = DELAYS, name: str = "delayed_recall") -> TaskSpec:
    """Delayed recall of the last `delays` inputs: one real input, `delays` real outputs.

    Its spec's `delays` is how the memory-capacity diagnostic recognises a delayed-recall task and reads its K.
    """
    check_int("delays", delays, 1)

    def make_data(
        seq_len: int, seed: int, delays: int = delays, scale: float = SCALE, eval_size: int = 1000
    ) -> TaskData:
        if delays != sized_for:
            raise ValueError(
                f"delays={delays!r} is not allowed for task {name!r}, whose model is sized for delays={sized_for}; "
                f"register delayed_recall_task(delays={delays!r}, name=...) as a task of its own"
            )
        return make_delayed_recall_data(seq_len, seed, delays, scale, eval_size)

    def memoryless_loss(seq_len: int, scale: float = SCALE, **params) -> float:
        check_scale(scale)
        return memoryless_mse(scale)

    def at_params(scale: float = SCALE, **params) -> dict:
        """Baseline and threshold, and their notes, at the runs' scale a."""
        check_scale(scale)
        return dict(
            baseline=memoryless_mse(scale),
            baseline_note=f"answering 0, the mean, for every delay: MSE = Var(u) = a^2/3 (a = {scale:g})",
            threshold=solved_mse(scale),
            threshold_note=f"a^2/4 (a = {scale:g}): read-outs that together recover the variance of {delays / 4:g} of the {delays} "
            f"delays, half the memory-capacity bound of the N = {delays / 2:g} units the task is made for (a^2/6, "
            "half the variance, would be the bound itself)",
        )

    sized_for = delays
    return TaskSpec(
        name=name,
        label="delayed recall",
        description=f"delayed recall: reproduce each of the last {delays} inputs u ~ U[-a, a] (a = scale, default {SCALE}) "
        "from the last hidden state, one linear read-out per delay (MSE)",
        input_kind="vectors",
        input_size=1,
        output_kind="real",
        output_size=delays,
        metric="mse",
        **at_params(),  # baseline, threshold and their notes at the default scale
        make_data=make_data,
        example_input=(),
        length_label="sequence length T",
        fresh_batches=True,
        min_seq_len=delays + 1,
        hidden_size_measured=True,  # memory capacity per hidden size N: each N is its own experiment in the report
        memoryless_loss=memoryless_loss,
        at_params=at_params,
        delays=delays,
    )


DELAYED_RECALL = replace(
    delayed_recall_task(),
    grid=TaskGrid(
        ("delayed_recall",),
        (80,),
        (100, 200),
        "results/delayed_recall",
        "delayed recall of 64 delays, MSE, baseline a^2/3",
    ),
)
