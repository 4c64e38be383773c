"""The task interface every memory task fits into.

A task is a `TaskSpec`: what its inputs and outputs are, how it is scored and in
which direction (`METRICS`), what a memoryless guess scores (its baseline), the
threshold that defines a memory horizon and why, the words the report uses for it,
an example input for gate traces, and a pure function `make_data(seq_len, seed, **params)`
that returns the data of one run. Adding a task (adding problem, copy memory,
delayed recall, ...) means one module that builds a `TaskSpec` and one call to
`register_task` (or one line in the `TASKS` registry of `memorybench.tasks`); the
trainer, sweep, store and report read everything else from the spec.

Two optional parts: `unscored_class`, a per-step filler class the metric skips (the
copy task is scored on its recalled symbols only, its loss still covers every step),
and `memoryless_loss`, the training loss of the memoryless guess, read through
`loss_baseline(seq_len, **params)` for a reference line on loss curves.

Example:
    >>> from memorybench.tasks import get_task
    >>> task = get_task("nndl")
    >>> data = task.make_data(seq_len=5, seed=0)
    >>> data.train.inputs.shape, data.dev.inputs.shape, task.baseline, task.direction
    (torch.Size([300, 5]), torch.Size([100, 5]), 0.1, 'higher')
    >>> task.improves(0.5, 0.4), task.improves(0.4, 0.4), task.is_perfect(1.0)
    (True, False, True)
    >>> task.loss_baseline(5), get_task("copy").unscored_class, round(get_task("copy").loss_baseline(100), 3)
    (None, 0, 0.173)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from memorybench.checks import check_choice

INPUT_KINDS = ("tokens", "vectors")
OUTPUT_KINDS = ("class", "class_per_step", "real")
METRICS = {"accuracy": "higher", "mse": "lower"}  # metric -> which direction is better
PERFECT = {"accuracy": 1.0, "mse": 0.0}  # the best score a metric can take
METRIC_RANGES = {"accuracy": (0.0, 1.0), "mse": (0.0, math.inf)}  # where a metric's values (and thresholds) lie
METRIC_DIGITS = {"accuracy": 2, "mse": 4}  # decimals the report shows (an MSE of 0.004 is not 0.00)
SPLIT_IDS = {"train": 0, "dev": 1, "test": 2}


@dataclass(frozen=True)
class Split:
    """A set of sequences and their targets.

    inputs:  (N, T) int64 tokens, or (N, T, F) float vectors
    targets: (N,) int64 classes, (N, T) int64 classes per step, or (N, K) float
    """

    inputs: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def to(self, device) -> Split:
        return Split(self.inputs.to(device), self.targets.to(device))


@dataclass(frozen=True)
class TaskData:
    """The data of one run: fixed dev and test sets, and either a fixed training
    set (`train`) or a sampler of fresh training batches (`sample_train`)."""

    dev: Split
    test: Split
    train: Split | None = None
    sample_train: Callable[[int, torch.Generator], Split] | None = None

    def __post_init__(self):
        if (self.train is None) == (self.sample_train is None):
            raise ValueError("TaskData needs exactly one of train= or sample_train=")


@dataclass(frozen=True)
class TaskGrid:
    """A task as `memorybench run` and `horizon` offer it: its protocols (the first the default; registered in
    `memorybench.config.PROTOCOLS`), the lengths of its CPU-sized default grid (each task's <= 15 minutes on 2
    cores) and of the literature's grid (for GPUs and Ray clusters), its results folder, and one line for
    `memorybench list tasks` (metric and memoryless baseline).

    >>> TaskGrid(("adding",), (25, 50), (100, 200), "results/adding", "adding problem, MSE, baseline 1/6").lengths
    (25, 50)
    """

    protocols: tuple[str, ...]
    lengths: tuple[int, ...]
    literature: tuple[int, ...]
    out: str
    what: str
    reads_files: bool = False  # its data comes from files in --data-dir (MNIST)


@dataclass(frozen=True)
class TaskSpec:
    """What a task is, for the model builder, the trainer and the report."""

    name: str
    label: str  # for titles: "digit sum"
    description: str  # one sentence for the report
    input_kind: str  # one of INPUT_KINDS
    input_size: int  # vocabulary size (tokens) or features per step (vectors)
    output_kind: str  # one of OUTPUT_KINDS
    output_size: int  # number of classes, or of real outputs
    metric: str  # a key of METRICS
    baseline: float  # the metric of the best memoryless guess
    baseline_note: str  # what that guess is, for the report: "always answering the most common sum"
    threshold: float  # the score that defines the memory horizon, in the metric's direction
    threshold_note: str  # why that threshold
    make_data: Callable[..., TaskData]  # (seq_len, seed, **params) -> TaskData
    example_input: tuple = ()  # one input sequence for gate traces (tokens), or () to take a test sequence
    length_label: str = "sequence length L"  # x axis of length plots
    fresh_batches: bool = False  # its data samples fresh training batches instead of holding a training set
    min_seq_len: int = 3
    # the shortest length a horizon is read from: shorter ones stay in the score tables but decide no horizon (where
    # the threshold is what a partial memory scores there by construction: associative recall's L = 2)
    horizon_from: int = 1
    hidden_size_measured: bool = (
        False  # the hidden size is what the task measures against (memory capacity), not a setting to tune
    )
    # class_per_step accuracy only: steps whose target is this class (a filler such as the copy
    # task's blank) count in the loss but not in the metric; None scores every step
    unscored_class: int | None = None
    # (seq_len, **params) -> the training loss (reduction 'mean') of the memoryless guess; None if not stated
    memoryless_loss: Callable[..., float] | None = None
    # (**params) -> the fields that depend on the run's task parameters (baseline, threshold and
    # their notes, say); None: none does
    at_params: Callable[..., dict] | None = None
    # what the diagnostics read of a task (`memorybench diagnose ...`), so a plugin's task is served like a built-in:
    extrapolation_factors: tuple[int, ...] = (
        1,
        2,
    )  # test lengths, as multiples of the training length, `extrapolate` scores
    # size -> the make_data parameters of a fresh test set of about `size` sequences; None: {'eval_size': size}
    sized_test: Callable[[int], dict] | None = None
    delays: int | None = (
        None  # a delayed-recall task's K: the past inputs it asks for (what `memory-capacity` reads out)
    )
    # (name, task parameters) pairs a trained run is also scored at (`memorybench diagnose shift`), e.g. flip-flop's sparse reads
    shifts: tuple[tuple[str, dict], ...] = ()
    # (name, inputs -> outputs shaped as a model's): a simple rule scored beside the models on the same fresh sets
    # (`memorybench diagnose shift`), flip-flop's "repeat the last bit seen"; None: none
    reference: tuple[str, Callable[[torch.Tensor], torch.Tensor]] | None = None
    # how the command offers it (protocols, default lengths, results folder); None: a task trained only through a
    # protocol of another task's grid (the streaming digit sum is `--task nndl --protocol stream`)
    grid: TaskGrid | None = None
    # the definition's version, hashed into every run id above 1: bump it when a change to the task changes what its
    # runs compute (its data, labels or metric), so a sweep retrains them; the old runs stay readable under their ids
    version: int = 1

    def __post_init__(self):
        check_choice("input_kind", self.input_kind, INPUT_KINDS)
        check_choice("output_kind", self.output_kind, OUTPUT_KINDS)
        check_choice("metric", self.metric, tuple(METRICS))
        if self.unscored_class is not None and (self.output_kind != "class_per_step" or self.metric != "accuracy"):
            raise ValueError(
                f"unscored_class={self.unscored_class!r} is not allowed for {self.output_kind} outputs scored by "
                f"{self.metric}; it applies to class_per_step outputs scored by accuracy"
            )

    @property
    def direction(self) -> str:
        """'higher' or 'lower': which scores are better."""
        return METRICS[self.metric]

    @property
    def digits(self) -> int:
        """Decimals of the metric in tables."""
        return METRIC_DIGITS[self.metric]

    @property
    def metric_range(self) -> tuple[float, float]:
        return METRIC_RANGES[self.metric]

    @property
    def worst(self) -> float:
        """A score every real score improves on: where best-dev tracking starts."""
        return -math.inf if self.direction == "higher" else math.inf

    def improves(self, score: float, best: float) -> bool:
        """Whether `score` replaces `best` as the best-dev score: strictly better, as in the book."""
        return score > best if self.direction == "higher" else score < best

    def is_perfect(self, score: float) -> bool:
        """No later score can improve on this one."""
        return score >= PERFECT[self.metric] if self.direction == "higher" else score <= PERFECT[self.metric]

    def with_params(self, **params) -> TaskSpec:
        """The task as runs with these task parameters see it: a baseline and threshold that depend
        on them (delayed recall's scale) computed for them; itself when nothing does."""
        return replace(self, **self.at_params(**params)) if self.at_params is not None and params else self

    def loss_baseline(self, seq_len: int, **params) -> float | None:
        """The training loss (per sample and step, reduction 'mean') of the memoryless guess at
        `seq_len` with the run's task parameters, for a reference line on loss curves; None
        when the task does not state one."""
        return None if self.memoryless_loss is None else float(self.memoryless_loss(seq_len, **params))

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Training loss: cross-entropy for classes, squared error for reals; reduced as asked."""
        if self.output_kind == "real":
            return F.mse_loss(outputs, targets, reduction=reduction)
        return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1), reduction=reduction)

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The task's metric as a 0-d tensor (no host synchronisation)."""
        if self.metric == "mse":
            return F.mse_loss(outputs, targets)
        if self.unscored_class is not None:
            return self._scored_accuracy(outputs[None], targets[None])[0]
        return (outputs.argmax(-1) == targets).float().mean()

    def replica_losses(
        self, outputs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean", plain: bool = False
    ) -> torch.Tensor:
        """(E,) each replica's loss on its own batch; outputs (E, B, ...), targets (E, B, ...).

        With `plain` (the single and mapped layouts) torch's own loss reduction, replica by replica, so each
        computes exactly what a plain training loop computes; otherwise per-sample losses reduced per
        replica (the same value to float rounding), the same numbers whatever the pack's size.
        """
        if plain:
            return torch.stack([self.loss(outputs[e], targets[e], reduction) for e in range(outputs.shape[0])])
        per_sample = self.loss(outputs.flatten(0, 1), targets.flatten(0, 1), "none").view(
            outputs.shape[0], -1
        )  # (E, B*...)
        return per_sample.mean(1) if reduction == "mean" else per_sample.sum(1)

    def replica_scores(self, outputs: torch.Tensor, targets: torch.Tensor, plain: bool = False) -> torch.Tensor:
        """(E,) each replica's metric on its own split; with `plain` (or E = 1), replica by replica as a single run
        scores (`replica_losses`)."""
        if plain or outputs.shape[0] == 1:
            return torch.stack([self.score(outputs[e], targets[e]) for e in range(outputs.shape[0])])
        if self.metric == "mse":
            return (outputs - targets).square().flatten(1).mean(1)
        if self.unscored_class is not None:
            return self._scored_accuracy(outputs, targets)
        return (outputs.argmax(-1) == targets).float().flatten(1).mean(1)

    def _scored_accuracy(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(E,) accuracy over the steps whose target is not `unscored_class`; outputs (E, N, T, C), targets (E, N, T)."""
        scored = (targets != self.unscored_class).flatten(1)  # (E, N*T)
        hits = ((outputs.argmax(-1) == targets).flatten(1) & scored).sum(1)  # (E,)
        return hits.float() / scored.sum(1).clamp(min=1).float()


def fresh_data(draw: Callable[[int, torch.Generator], Split], seq_len: int, seed: int, eval_size: int) -> TaskData:
    """A task that draws fresh training batches: `draw(batch_size, generator) -> Split` samples the
    training stream, and the fixed dev and test sets are `eval_size` draws from seeds of their own
    (`split_seed`), disjoint from the training stream's."""

    def fixed(split: str) -> Split:
        return draw(eval_size, torch.Generator().manual_seed(split_seed(seed, split, seq_len)))

    return TaskData(dev=fixed("dev"), test=fixed("test"), sample_train=draw)


def split_seed(seed: int, split: str, seq_len: int) -> int:
    """A 63-bit seed for one split of one length, derived from the run seed.

    Different splits get statistically independent streams (numpy SeedSequence).
    """
    state = np.random.SeedSequence(entropy=seed, spawn_key=(SPLIT_IDS[split], seq_len)).generate_state(2, np.uint64)
    return int(state[0] >> np.uint64(1))


def train_batches(data: TaskData, batch_size: int, generator: torch.Generator, shuffle: bool) -> Iterator[Split]:
    """Endless training batches.

    A fixed training set is walked epoch by epoch, in file order or reshuffled each
    epoch (`shuffle`); the last batch of an epoch may be smaller (300 sequences at
    batch 8 give 38 steps per epoch, as in the book). A streaming task draws a fresh
    batch every step from `generator`.
    """
    if data.sample_train is not None:
        while True:
            yield data.sample_train(batch_size, generator)
    train = data.train
    n = len(train)
    while True:
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield Split(train.inputs[idx], train.targets[idx])
