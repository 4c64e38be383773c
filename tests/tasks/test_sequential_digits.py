"""Sequential digits: the sequences are the images, the splits partition them, the MNIST idx
reader on a tiny folder written here, one-line errors, baselines, training end to end."""

import gzip
import math
import re
import socket

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from memorybench.config import RunConfig, protocol_config
from memorybench.engine.loop import train_pack
from memorybench.tasks import get_task
from memorybench.tasks.sequential_digits import (
    DIGITS_COUNTS,
    DIGITS_PIXELS,
    DIGITS_ROWS,
    MNIST_FILES,
    MNIST_ROWS,
    digits_partition,
    load_mnist,
    make_digits_data,
    make_mnist_data,
    mnist_task,
    read_idx,
)

DIGITS = load_digits()


# --- digits: the sequences are the images -----------------------------------------------------------


def test_digits_rows_and_pixels_are_the_images_read_in_order():
    rows, pixels = make_digits_data(8, seed=1), make_digits_data(64, seed=1, order="pixels")
    for split in ("train", "dev", "test"):
        index = digits_partition(1)[split]
        by_rows, by_pixels = getattr(rows, split), getattr(pixels, split)
        assert by_rows.inputs.shape == (len(index), 8, 8) and by_pixels.inputs.shape == (len(index), 64, 1)
        assert by_rows.inputs.dtype == torch.float32 and by_rows.targets.dtype == torch.int64
        assert by_rows.targets.tolist() == by_pixels.targets.tolist() == DIGITS.target[index].tolist()
        for i in (0, 1, len(index) - 1):
            image = DIGITS.images[index[i]]  # (8, 8), 0..16
            for t in range(8):  # step t is row t
                assert by_rows.inputs[i, t].tolist() == (image[t] / 16).tolist()
            for t in range(64):  # step t is pixel t in row-major order: row t // 8, column t % 8
                assert by_pixels.inputs[i, t, 0].item() == image[t // 8, t % 8] / 16
    assert rows.train.inputs.min().item() == 0.0 and rows.train.inputs.max().item() == 1.0


def test_digits_splits_partition_the_images_per_seed():
    parts = digits_partition(2)
    assert [len(parts[s]) for s in ("train", "dev", "test")] == [1197, 300, 300]
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(1797))  # each image in exactly one split
    data = make_digits_data(8, seed=2)
    assert (len(data.train), len(data.dev), len(data.test)) == (1197, 300, 300)
    everything = torch.cat([data.train.inputs, data.dev.inputs, data.test.inputs]).reshape(-1, 64) * 16
    assert sorted(everything.tolist()) == sorted(DIGITS.data.tolist())  # the data itself: all images, none twice
    sizes = make_digits_data(8, seed=2, eval_size=100)
    assert (len(sizes.train), len(sizes.dev), len(sizes.test)) == (1597, 100, 100)


def test_digits_splits_are_deterministic_per_seed_and_seeds_differ():
    a, b, c = make_digits_data(8, 3), make_digits_data(8, 3), make_digits_data(8, 4)
    for split in ("train", "dev", "test"):
        assert torch.equal(getattr(a, split).inputs, getattr(b, split).inputs)
        assert torch.equal(getattr(a, split).targets, getattr(b, split).targets)
        assert set(digits_partition(3)[split].tolist()) != set(digits_partition(4)[split].tolist())
    assert not torch.equal(a.test.inputs, c.test.inputs)
    pixels = make_digits_data(64, 3, order="pixels")  # rows and pixels of one seed: the same images
    assert torch.equal(pixels.test.inputs.reshape(-1, 8, 8), a.test.inputs)


def test_digits_majority_baseline_is_the_stated_constant():
    assert DIGITS_COUNTS == tuple(np.bincount(DIGITS.target).tolist())
    assert (
        DIGITS_ROWS.baseline == DIGITS_PIXELS.baseline == 183 / 1797 and DIGITS_ROWS.threshold == (1 + 183 / 1797) / 2
    )
    scores = []
    for seed in range(20):
        targets = make_digits_data(8, seed).test.targets
        always_three = torch.nn.functional.one_hot(torch.full_like(targets, 3), 10).float()  # (N, 10) logits
        scores.append(DIGITS_ROWS.score(always_three, targets).item())
    # one split of 300: sd sqrt(p(1-p)/300) ≈ 0.017; the mean of 20 seeds: ≈ 0.004
    assert all(abs(s - 183 / 1797) < 0.07 for s in scores)
    assert np.mean(scores) == pytest.approx(183 / 1797, abs=0.012)


# --- MNIST from a tiny folder written here ----------------------------------------------------------


def write_idx(path, magic, array, gz):
    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    raw = header + array.astype(np.uint8).tobytes()
    path = path.with_name(path.name + ".gz") if gz else path
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def write_mnist(folder, gz=False, layout="flat"):
    """7 training and 3 test images of 28x28 with known pixels and labels, in one of torchvision's layouts."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([5, 0, 4, 1, 9, 2, 1], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([7, 2, 1], dtype=np.uint8),
    }
    where = folder / "MNIST" / "raw" if layout == "torchvision" else folder
    where.mkdir(parents=True, exist_ok=True)
    paths = {name: write_idx(where / name, 2051 if "images" in name else 2049, a, gz) for name, a in arrays.items()}
    return arrays, paths


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the MNIST task opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("layout", ["flat", "torchvision"])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_loader_reads_back_what_was_written(tmp_path, gz, layout, no_network):
    arrays, paths = write_mnist(tmp_path, gz, layout)
    assert all(p.name.endswith(".gz") == gz for p in paths.values())
    loaded = load_mnist(tmp_path)
    for got, name in zip(loaded, MNIST_FILES):
        assert got.dtype == np.uint8 and np.array_equal(got, arrays[name])
    assert np.array_equal(read_idx(paths["t10k-labels-idx1-ubyte"], 2049), [7, 2, 1])
    data = MNIST_ROWS.make_data(28, 0, data_dir=str(tmp_path), dev_size=2)
    images, labels = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    assert (len(data.train), len(data.dev), len(data.test)) == (5, 2, 3)
    assert data.train.inputs.shape == (5, 28, 28) and data.train.inputs.dtype == torch.float32
    assert torch.equal(data.train.inputs, torch.tensor(images[:5] / 255, dtype=torch.float32))  # step t = row t
    assert torch.equal(
        data.dev.inputs, torch.tensor(images[5:] / 255, dtype=torch.float32)
    )  # dev: the last training images
    assert data.train.targets.tolist() == labels[:5].tolist() == [5, 0, 4, 1, 9] and data.dev.targets.tolist() == [2, 1]
    assert data.test.targets.tolist() == [7, 2, 1]
    assert torch.equal(data.test.inputs, torch.tensor(arrays["t10k-images-idx3-ubyte"] / 255, dtype=torch.float32))
    assert torch.equal(make_mnist_data(28, 5, tmp_path, dev_size=2).test.inputs, data.test.inputs)  # every seed
    pixels = mnist_task("pixels").make_data(784, 0, data_dir=tmp_path, dev_size=2)
    assert pixels.test.inputs.shape == (3, 784, 1) and torch.equal(
        pixels.test.inputs.reshape(3, 28, 28), data.test.inputs
    )


def one_line_error(match, make, *args, **kwargs):
    with pytest.raises(ValueError, match=match) as err:
        make(*args, **kwargs)
    assert "\n" not in str(err.value)
    return str(err.value)


def says_where_files_go(message):
    return all(name in message for name in MNIST_FILES) and "MNIST/raw" in message and ".gz" in message


def test_mnist_missing_folder_or_file_says_where_the_files_go(tmp_path, no_network):
    missing = tmp_path / "nowhere"
    assert says_where_files_go(
        one_line_error(
            re.escape(f"data_dir='{missing}' is not a folder"), MNIST_ROWS.make_data, 28, 0, data_dir=missing
        )
    )
    assert says_where_files_go(one_line_error("needs task_params=.*data_dir", MNIST_ROWS.make_data, 28, 0))
    _, paths = write_mnist(tmp_path, layout="torchvision")
    paths["t10k-labels-idx1-ubyte"].unlink()
    message = one_line_error(re.escape(f"{tmp_path} has no t10k-labels-idx1-ubyte"), load_mnist, tmp_path)
    assert says_where_files_go(message) and str(tmp_path / "MNIST" / "raw") in message


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_wrong_magic_or_size_names_the_file(tmp_path, gz, no_network):
    arrays, paths = write_mnist(tmp_path, gz)
    labels = paths["train-labels-idx1-ubyte"]
    write_idx(
        labels.with_name("train-labels-idx1-ubyte"), 2051, arrays["train-labels-idx1-ubyte"], gz
    )  # an image magic
    one_line_error(re.escape(f"{labels} has magic number 2051; an idx label file has 2049"), load_mnist, tmp_path)
    one_line_error("has magic number 2049; an idx image file has 2051", read_idx, paths["t10k-labels-idx1-ubyte"], 2051)
    images = paths["t10k-images-idx3-ubyte"]
    raw = np.array([2051, 3, 28, 28], dtype=">u4").tobytes() + bytes(3 * 28 * 28 - 1)  # one byte short
    images.write_bytes(gzip.compress(raw) if gz else raw)
    one_line_error(
        re.escape(f"{images} holds 2351 data bytes; its header (3, 28, 28) says 2352"), read_idx, images, 2051
    )
    write_idx(labels.with_name("train-labels-idx1-ubyte"), 2049, np.zeros(6, np.uint8), gz)  # 6 labels for 7 images
    one_line_error("holds 6 labels for 7 images", load_mnist, tmp_path)


# --- lengths, specs, registry, training -----------------------------------------------------------


@pytest.mark.parametrize(
    "task, seq_len, steps",
    [
        ("digits_rows", 9, "8 steps of 8 features"),
        ("digits_pixels", 8, "64 steps of 1 feature"),
        ("mnist_rows", 27, "28 steps of 28 features"),
        ("digits_rows", 8.0, "8 steps"),
    ],
)
def test_wrong_seq_len_says_the_tasks_length(task, seq_len, steps):
    one_line_error(f"seq_len={seq_len!r} is not allowed .*exactly {steps}", get_task(task).make_data, seq_len, 0)


def test_specs_and_config_checks():
    for task, size, steps in ((DIGITS_ROWS, 8, 8), (DIGITS_PIXELS, 1, 64), (MNIST_ROWS, 28, 28)):
        assert (task.input_kind, task.output_kind, task.output_size, task.metric) == (
            "vectors",
            "class",
            10,
            "accuracy",
        )
        assert (task.input_size, task.min_seq_len, task.fresh_batches) == (size, steps, False)
        assert get_task(task.name) is task
    assert MNIST_ROWS.baseline == 0.1135
    with pytest.raises(ValueError, match=r"seq_len=7 is not allowed; it must be an integer >= 8"):
        RunConfig(task="digits_rows", seq_len=7)
    one_line_error("eval_size=899 is not allowed", make_digits_data, 8, 0, eval_size=899)


@pytest.mark.parametrize("protocol, extra", [("nndl", {}), ("nndl-shuffled", dict(bidirectional=True, hidden_size=16))])
def test_digits_rows_trains_end_to_end(protocol, extra):
    config = protocol_config(protocol, task="digits_rows", seq_len=8, steps=30, eval_interval=10, device="cpu", **extra)
    (output,) = train_pack([config])
    result = output.result
    assert result.status == "ok" and [c["step"] for c in result.curves] == [10, 20, 30]
    assert all(math.isfinite(c["train_loss"]) and math.isfinite(c["dev_loss"]) for c in result.curves)
    assert 0.0 <= result.test_score <= 1.0 and math.isfinite(result.test_loss)


def test_an_mnist_sweep_on_a_tiny_folder_writes_its_report_with_gate_traces(tmp_path, no_network, capsys):
    from memorybench.cli.run import main

    write_mnist(tmp_path / "data")
    out = tmp_path / "out"
    assert (
        main(
            [
                "--task",
                "mnist_rows",
                "--data-dir",
                str(tmp_path / "data"),
                "--task-param",
                "dev_size=2",
                "--cells",
                "srn",
                "--seeds",
                "1",
                "--quick",
                "--no-progress",
                "--device",
                "cpu",
                "--workers",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = (out / "report.md").read_text()
    assert (
        "on the first test sequence of seed 0" in report and len(list(out.glob("figures/*/gates.png"))) == 1
    )  # traced on the folder's data
