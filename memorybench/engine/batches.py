"""A pack's training batches: every replica's own stream, stacked into one (E, B, T[, F]) batch per step.

Replica e walks its own training stream (`memorybench.tasks.train_batches`, seeded by
`split_seed(seed, "train", seq_len)`), right-padded in time to the pack's longest input.
Where every replica has a fixed training set of the same size, the sets are padded and
stacked once, and a step's batch is two gathers from them (`stacked_batches`) instead of
2E per-replica gathers, E pads and two stacks: the same numbers, the same generator
draws (each replica's order for an epoch, drawn when its epoch starts), a fraction of
the per-step work. A streaming task, sets of different sizes or of more than
`STACK_LIMIT_BYTES` stacked walk the streams one by one (`padded_batches`).

Example:
    >>> from memorybench.tasks import get_task
    >>> task = get_task("nndl")
    >>> data = [task.make_data(5, 0), task.make_data(3, 1)]
    >>> generators = lambda: [torch.Generator().manual_seed(s) for s in (0, 1)]  # each replica's own
    >>> fast, slow = stacked_batches(data, generators(), 8, True, 5), padded_batches(data, generators(), 8, True, 5)
    >>> x, y = next(fast)  # (E, B, T), (E, B)
    >>> x.shape, all(torch.equal(a, b) for a, b in zip((x, y), next(slow)))
    (torch.Size([2, 8, 5]), True)
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from memorybench.tasks import TaskData, train_batches


STACK_LIMIT_BYTES = 64 * 2**20  # a pack's stacked training inputs at most: beyond, the streams are walked one by one


def stacked_bytes(data: list[TaskData], length: int) -> int:
    """The bytes of the training inputs of `data` (fixed sets) stacked and padded to `length`."""
    inputs = [d.train.inputs for d in data]  # each (N, T[, F])
    return sum(len(x) * length * (x[0].numel() // x.shape[1]) * x.element_size() for x in inputs)


def stack_padded(tensors: list[torch.Tensor], length: int) -> torch.Tensor:
    """Per-replica (N, T_e, ...) tensors -> (E, N, length, ...), each right-padded with zeros in time.

    >>> stack_padded([torch.ones(2, 3, dtype=torch.long), torch.ones(2, 1, dtype=torch.long)], 3)[1]
    tensor([[1, 0, 0],
            [1, 0, 0]])
    """

    def pad(t: torch.Tensor) -> torch.Tensor:
        return t if t.shape[1] == length else F.pad(t, (0, 0) * (t.dim() - 2) + (0, length - t.shape[1]))

    return torch.stack([pad(t) for t in tensors])


def padded_batches(
    data: list[TaskData], generators: list[torch.Generator], batch_size: int, shuffle: bool, length: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Each replica's `train_batches` stream, one batch of each per step, stacked and padded to `length`:
    (x (E, B, length[, F]), y (E, B[, ...])). Works for every task."""
    streams = [train_batches(d, batch_size, g, shuffle) for d, g in zip(data, generators)]
    while True:
        batches = [next(s) for s in streams]
        yield stack_padded([b.inputs for b in batches], length), torch.stack([b.targets for b in batches])


def stacked_batches(
    data: list[TaskData], generators: list[torch.Generator], batch_size: int, shuffle: bool, length: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """What `padded_batches` yields, for fixed training sets of one size, from the sets stacked once: per epoch
    each replica's order (`torch.randperm` from its own generator when `shuffle`, as `train_batches` draws it),
    per step one gather of inputs and one of targets. Falls back to `padded_batches` where the sets do not
    stack (a streaming task, or sets of different sizes) or their stacked copy would pass `STACK_LIMIT_BYTES`
    (MNIST: 172 MB a replica, and a step's own work dwarfs the gathers there)."""
    sizes = {None if d.train is None else len(d.train) for d in data}
    n = sizes.pop() if len(sizes) == 1 else None
    if n is None or stacked_bytes(data, length) > STACK_LIMIT_BYTES:
        yield from padded_batches(data, generators, batch_size, shuffle, length)
        return
    inputs = stack_padded([d.train.inputs for d in data], length)  # (E, N, length[, F])
    targets = torch.stack([d.train.targets for d in data])  # (E, N[, ...])
    rows = torch.arange(len(data))[:, None]  # (E, 1)
    while True:
        if shuffle:
            order = torch.stack([torch.randperm(n, generator=g) for g in generators])  # (E, N): each replica's epoch
        else:
            order = torch.arange(n).expand(len(data), n)
        for start in range(0, n, batch_size):
            idx = order[:, start : start + batch_size]  # (E, B)
            yield inputs[rows, idx], targets[rows, idx]
