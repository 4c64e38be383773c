"""The task interface every memory task fits into.

A task is a `TaskSpec`: what its inputs and outputs are, how it is scored, what a
memoryless guess scores, and a pure function `make_data(seq_len, seed, **params)`
that returns the data of one run. Adding a task (adding problem, copy memory,
delayed recall, ...) means one module that builds a `TaskSpec` and one line in the
`TASKS` registry of `memorybench.tasks`.

Example:
    >>> from memorybench.tasks import get_task
    >>> task = get_task("nndl")
    >>> data = task.make_data(seq_len=5, seed=0)
    >>> data.train.inputs.shape, data.dev.inputs.shape, task.chance
    (torch.Size([300, 5]), torch.Size([100, 5]), 0.1)
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

INPUT_KINDS = ("tokens", "vectors")
OUTPUT_KINDS = ("class", "class_per_step", "real")
METRICS = {"accuracy": "higher", "mse": "lower"}  # metric -> which direction is better
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
class TaskSpec:
    """What a task is, for the model builder, the trainer and the report."""

    name: str
    description: str
    input_kind: str  # one of INPUT_KINDS
    input_size: int  # vocabulary size (tokens) or features per step (vectors)
    output_kind: str  # one of OUTPUT_KINDS
    output_size: int  # number of classes, or of real outputs
    metric: str  # a key of METRICS
    chance: float  # the metric of the best memoryless guess
    make_data: Callable[..., TaskData]  # (seq_len, seed, **params) -> TaskData
    min_seq_len: int = 3

    def __post_init__(self):
        check_choice("input_kind", self.input_kind, INPUT_KINDS)
        check_choice("output_kind", self.output_kind, OUTPUT_KINDS)
        check_choice("metric", self.metric, tuple(METRICS))

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean training loss: cross-entropy for classes, squared error for reals."""
        if self.output_kind == "real":
            return F.mse_loss(outputs, targets)
        return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1))

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The task's metric as a 0-d tensor (no host synchronisation)."""
        if self.metric == "mse":
            return F.mse_loss(outputs, targets)
        return (outputs.argmax(-1) == targets).float().mean()


def check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")


def check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} is not allowed; it must be an integer >= {minimum}")


def check_probability(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value!r} is not allowed; it must be a number in [0, 1]")


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
