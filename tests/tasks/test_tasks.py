import numpy as np
import pytest
import torch

from memorybench.tasks import TASKS, get_task, train_batches
from memorybench.tasks.base import TaskData, split_seed
from memorybench.tasks.digit_sum import BOOK_LENGTHS, make_nndl_data, make_stream_batch, make_stream_data


def book_generate_data(length, k):
    """The book's generator, written the way the book writes it (global numpy RNG)."""
    examples = []
    for n1 in range(10):
        for n2 in range(10):
            for _ in range(k):
                seq = [n1, n2] + [0] * (length - 2)
                idx = np.random.randint(2, length)
                val = np.random.randint(0, 10)
                seq[idx] = val
                examples.append((seq, n1 + n2))
    return examples


@pytest.mark.parametrize("seq_len", [10, 30])
def test_nndl_matches_the_books_single_seeded_pass(seq_len):
    np.random.seed(3)
    for length in BOOK_LENGTHS:
        splits = [book_generate_data(length, k) for k in (3, 1, 1)]
        if length == seq_len:
            break
    data = make_nndl_data(seq_len, seed=3)
    for ours, book in zip((data.train, data.dev, data.test), splits):
        assert ours.inputs.tolist() == [seq for seq, _ in book]
        assert ours.targets.tolist() == [label for _, label in book]


@pytest.mark.parametrize("seq_len", [3, 5, 17, 30])
def test_nndl_sizes_labels_and_single_noise_position(seq_len):
    data = make_nndl_data(seq_len, seed=0)
    assert [len(data.train), len(data.dev), len(data.test)] == [300, 100, 100]
    for split, copies in ((data.train, 3), (data.dev, 1), (data.test, 1)):
        x, y = split.inputs, split.targets
        assert x.shape == (100 * copies, seq_len) and x.dtype == torch.int64
        assert torch.equal(y, x[:, 0] + x[:, 1]) and 0 <= y.min() and y.max() <= 18
        assert ((x[:, 2:] != 0).sum(dim=1) <= 1).all()  # one overwritten position (its digit may be 0)
        pairs = (x[:, 0] * 10 + x[:, 1]).tolist()
        assert pairs == sorted(pairs) and all(pairs.count(p) == copies for p in range(100))  # book file order


def test_nndl_noise_positions_and_digits_are_uniform_ish():
    x = make_nndl_data(12, seed=1, train_copies=50).train.inputs[:, 2:]  # 5000 copies
    noisy = x[(x != 0).any(dim=1)]
    positions = torch.bincount((noisy != 0).int().argmax(dim=1), minlength=10)
    assert positions.min() > 0.6 * positions.float().mean()  # every position 2..L-1 is used
    clean_share = 1 - len(noisy) / len(x)
    assert 0.08 < clean_share < 0.12  # the digit 0 is drawn 10% of the time


def test_nndl_is_deterministic_per_seed_and_seeds_differ():
    a, b, c = make_nndl_data(10, 4), make_nndl_data(10, 4), make_nndl_data(10, 5)
    assert torch.equal(a.train.inputs, b.train.inputs) and torch.equal(a.test.inputs, b.test.inputs)
    assert not torch.equal(a.train.inputs, c.train.inputs)
    assert not torch.equal(a.dev.inputs, a.test.inputs)  # same pairs, different noise


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_stream_noise_rate(p):
    batch = make_stream_batch(4000, 20, p, torch.Generator().manual_seed(0))
    assert torch.equal(batch.targets, batch.inputs[:, 0] + batch.inputs[:, 1])
    nonzero = (batch.inputs[:, 2:] != 0).float().mean().item()
    assert nonzero == pytest.approx(p * 0.9, abs=0.01)  # a noise draw is a digit 0..9


def test_stream_sets_are_fixed_per_seed_and_disjoint_from_training():
    a, b = make_stream_data(8, seed=2), make_stream_data(8, seed=2)
    assert torch.equal(a.dev.inputs, b.dev.inputs) and torch.equal(a.test.inputs, b.test.inputs)
    assert not torch.equal(a.dev.inputs, a.test.inputs)
    assert not torch.equal(a.dev.inputs, make_stream_data(8, seed=3).dev.inputs)
    assert len(a.dev) == 1000 and a.train is None
    gen = torch.Generator().manual_seed(split_seed(2, "train", 8))
    first = a.sample_train(1000, gen)
    assert not torch.equal(first.inputs, a.dev.inputs)
    assert not torch.equal(first.inputs, a.sample_train(1000, gen).inputs)  # fresh every call


def test_split_seeds_differ_by_split_length_and_seed():
    seeds = {split_seed(s, split, n) for s in (0, 1) for split in ("train", "dev", "test") for n in (5, 10)}
    assert len(seeds) == 12


def test_file_order_batches_follow_the_book_epoch():
    data = make_nndl_data(5, seed=0)
    batches = train_batches(data, 8, torch.Generator().manual_seed(0), shuffle=False)
    epoch = [next(batches) for _ in range(38)]
    assert [len(b) for b in epoch] == [8] * 37 + [4]
    assert torch.equal(torch.cat([b.inputs for b in epoch]), data.train.inputs)
    assert torch.equal(next(batches).inputs, data.train.inputs[:8])  # the next epoch starts over


def test_shuffled_batches_cover_the_epoch_in_a_new_order():
    data = make_nndl_data(5, seed=0)
    batches = train_batches(data, 8, torch.Generator().manual_seed(0), shuffle=True)
    epochs = [torch.cat([next(batches).inputs for _ in range(38)]) for _ in range(2)]
    for epoch in epochs:
        assert sorted(map(tuple, epoch.tolist())) == sorted(map(tuple, data.train.inputs.tolist()))
    assert not torch.equal(epochs[0], epochs[1]) and not torch.equal(epochs[0], data.train.inputs)


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (make_nndl_data, dict(seq_len=2, seed=0), "seq_len=2"),
        (make_nndl_data, dict(seq_len=10, seed=-1), "seed=-1"),
        (make_nndl_data, dict(seq_len=10, seed=0, train_copies=0), "train_copies=0"),
        (make_stream_data, dict(seq_len=10, seed=0, p=1.5), r"p=1.5 .*\[0, 1\]"),
        (make_stream_data, dict(seq_len=10, seed=0, p=-0.1), "p=-0.1"),
        (make_stream_data, dict(seq_len=10, seed=0, eval_size=0), "eval_size=0 .*>= 1"),
        (make_stream_data, dict(seq_len=2.5, seed=0), "seq_len=2.5 .*integer >= 3"),
    ],
)
def test_bad_parameters_name_the_value_and_the_allowed_range(make, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_registry_and_task_declarations():
    assert set(TASKS) == {
        "nndl",
        "stream",
        "adding",
        "copy",
        "delayed_recall",
        "digits_rows",
        "digits_pixels",
        "mnist_rows",
        "parity",
        "selective_copying",
        "associative_recall",
        "flip_flop",
    }
    for task in (TASKS["nndl"], TASKS["stream"]):
        assert (task.input_kind, task.output_kind, task.metric, task.baseline) == ("tokens", "class", "accuracy", 0.1)
    with pytest.raises(ValueError, match="task='nope' .*nndl, stream, adding, copy, delayed_recall"):
        get_task("nope")
    with pytest.raises(ValueError, match="exactly one"):
        TaskData(dev=None, test=None)


def test_chance_level_is_the_best_constant_guess():
    labels = make_nndl_data(5, seed=0).train.targets
    assert torch.bincount(labels).max().item() / len(labels) == pytest.approx(get_task("nndl").baseline)
