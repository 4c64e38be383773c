import pytest
import torch

from memorybench.engine.batches import padded_batches, stacked_batches
from memorybench.tasks import TaskData, get_task


def generators(n: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(100 + e) for e in range(n)]


def same_stream(data: list[TaskData], shuffle: bool, length: int, steps: int, batch_size: int = 8) -> None:
    fast = stacked_batches(data, generators(len(data)), batch_size, shuffle, length)
    slow = padded_batches(data, generators(len(data)), batch_size, shuffle, length)
    for step in range(steps):
        (x, y), (x_ref, y_ref) = next(fast), next(slow)
        assert x.shape == x_ref.shape and y.shape == y_ref.shape, step
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref), step


@pytest.mark.parametrize("shuffle", [False, True])
def test_stacked_sets_give_each_replicas_own_stream_over_several_epochs(shuffle):
    task = get_task("nndl")
    data = [task.make_data(n, seed) for n in (10, 5) for seed in (0, 1)]  # 300 sequences: 37 batches of 8, then 4
    same_stream(data, shuffle, length=10, steps=3 * 38 + 5)


def test_stacked_sets_of_vectors():
    task = get_task("digits_rows")
    same_stream([task.make_data(8, seed) for seed in (0, 1)], shuffle=True, length=8, steps=40, batch_size=32)


def test_streams_that_do_not_stack_are_walked_one_by_one():
    stream, nndl = get_task("stream"), get_task("nndl")
    same_stream([stream.make_data(5, seed) for seed in (0, 1)], shuffle=False, length=5, steps=5)
    small = nndl.make_data(5, 0)
    small = TaskData(
        dev=small.dev, test=small.test, train=type(small.train)(small.train.inputs[:200], small.train.targets[:200])
    )
    same_stream([small, nndl.make_data(5, 1)], shuffle=False, length=5, steps=5)


@pytest.mark.parametrize("limit, stacked", [(10**9, True), (1000, False)])
def test_sets_too_large_to_stack_are_walked_one_by_one(monkeypatch, limit, stacked):
    import memorybench.engine.batches as batches

    task = get_task("nndl")
    data = [task.make_data(5, seed) for seed in (0, 1)]
    assert batches.stacked_bytes(data, 7) == 2 * 300 * 7 * 8  # int64 tokens padded to 7 steps
    monkeypatch.setattr(batches, "STACK_LIMIT_BYTES", limit)
    monkeypatch.setattr(batches, "padded_batches", lambda *args: iter([("one by one", None)]))
    first = next(batches.stacked_batches(data, generators(2), 8, False, 7))
    assert isinstance(first[0], torch.Tensor) is stacked
