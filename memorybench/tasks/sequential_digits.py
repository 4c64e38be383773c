"""Sequential digit classification: an image of a handwritten digit read one row (or one
pixel) per step, the digit (10 classes) answered from the last hidden state.

    image rows [r0, r1, ..., r7]  ->  inputs x(t) = r(t), 8 steps of 8 pixels  ->  label 3

Three registered tasks (input_kind "vectors", output_kind "class", scored by accuracy):

- `digits_rows`: scikit-learn's 8x8 digits (`sklearn.datasets.load_digits`, 1797
  images bundled with scikit-learn, nothing downloaded), T = 8 steps of 8 pixels;
- `digits_pixels`: the same images pixel by pixel in row-major order, T = 64 steps of 1;
- `mnist_rows`: MNIST, T = 28 steps of 28 pixels, read from a local folder (below).

Pixels are scaled to [0, 1] (digits: 0..16 / 16; MNIST: 0..255 / 255). A task's length
is its image's: `seq_len` must be exactly T (8, 64 or 28); any other is a ValueError.
`digits_task(order)` and `mnist_task(order)` build the variants (order "rows" or
"pixels"; MNIST pixel by pixel is T = 784, not registered).

Splits. Digits: a seeded permutation of the 1797 images, from the run seed alone, cut
into train 1197, dev `eval_size` (300) and test `eval_size` (300); it does not depend
on the order, so `digits_rows` and `digits_pixels` of one seed hold the same images in
each split. MNIST: train = the first 60,000 - `dev_size` (55,000) training images in
file order, dev = the last `dev_size` (5,000), test = the 10,000 t10k images: the same
for every seed (the seed then changes only the initial weights and the batch order).

MNIST files. The task parameter `data_dir` (task_params={"data_dir": ...}) names a
folder holding torchvision's raw files `train-images-idx3-ubyte`,
`train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`
(each optionally .gz), either in the folder itself or under `MNIST/raw/` as
torchvision stores them. Nothing is downloaded and nothing is cached on disk; a missing
folder or file, a wrong magic number or a wrong size is a one-line ValueError.

Memoryless baseline: always answering the most common class, a constant per task.
Digits: class 3 is 183 of the 1797 images (counts 178, 182, 177, 183, 181, 182, 181,
179, 174, 180 for 0..9), and a test split drawn uniformly holds it in that share on
average, so 183/1797 ≈ 0.1018. MNIST: class 1 is 1135 of the 10,000 test images, 0.1135
exactly (it is also the most common training class, 6742 of 60,000). This is what a
model that ignores its input scores; a model that remembers only the last step can do
much better (a logistic regression on the last row alone scores 0.49 on the digits test
split of seed 0; on the last pixel, 0.11). "Solved" is halfway from that baseline to
perfect, as for the digit sum; with one length per task it marks a solved run, not a
horizon.

Example:
    >>> data = make_digits_data(seq_len=8, seed=0)
    >>> len(data.train), len(data.dev), len(data.test)
    (1197, 300, 300)
    >>> data.test.inputs.shape, data.test.targets.shape  # (N, T, F), (N,)
    (torch.Size([300, 8, 8]), torch.Size([300]))
    >>> make_digits_data(seq_len=64, seed=0, order="pixels").test.inputs.shape  # one pixel per step
    torch.Size([300, 64, 1])
    >>> DIGITS_ROWS.min_seq_len, round(DIGITS_ROWS.baseline, 4), MNIST_ROWS.input_size, MNIST_ROWS.baseline
    (8, 0.1018, 28, 0.1135)
    >>> make_digits_data(seq_len=10, seed=0)
    Traceback (most recent call last):
    ...
    ValueError: seq_len=10 is not allowed for digits read by rows; its sequences have exactly 8 steps of 8 features
"""

from __future__ import annotations

from dataclasses import replace

import gzip
import numbers
from pathlib import Path

import numpy as np
import torch

from memorybench.checks import check_choice, check_int
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, split_seed

ORDERS = ("rows", "pixels")  # one image row per step, or one pixel per step (row-major)
NUM_CLASSES = 10
DIGITS_COUNTS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)  # load_digits' images per class 0..9
DIGITS_MAJORITY = max(DIGITS_COUNTS) / sum(DIGITS_COUNTS)  # 183/1797: class 3
DIGITS_EVAL_SIZE = 300  # dev and test images each; train gets the other 1197
MNIST_MAJORITY = 1135 / 10_000  # class 1 in the t10k test set
MNIST_DEV_SIZE = 5000  # the last training images
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # idx: unsigned bytes, 3 dimensions / 1 dimension
MNIST_LAYOUTS = "directly in data_dir or under data_dir/MNIST/raw/ (torchvision's layout), each optionally .gz"


def as_sequences(images: np.ndarray, order: str) -> torch.Tensor:
    """(N, H, W) images -> (N, H, W) float32 rows as steps, or (N, H*W, 1) pixels in row-major order."""
    x = torch.as_tensor(images, dtype=torch.float32)
    return x if order == "rows" else x.reshape(len(x), -1, 1)


def check_length(seq_len: int, order: str, side: int, what: str) -> None:
    """seq_len must be the image's length in this order: `side` rows, or side^2 pixels."""
    steps, features = (side, side) if order == "rows" else (side * side, 1)
    if isinstance(seq_len, bool) or not isinstance(seq_len, numbers.Integral) or seq_len != steps:
        raise ValueError(
            f"seq_len={seq_len!r} is not allowed for {what} read by {order}; "
            f"its sequences have exactly {steps} steps of {features} feature{'s' * (features > 1)}"
        )


# --- scikit-learn's 8x8 digits ----------------------------------------------------------------------


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 8, 8) float32 pixels in [0, 1] and (1797,) int64 labels, in load_digits' order."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn; imported here, it takes a second

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


def digits_partition(
    seed: int, eval_size: int = DIGITS_EVAL_SIZE, n: int = sum(DIGITS_COUNTS)
) -> dict[str, np.ndarray]:
    """The indices of each split: a permutation of range(n) seeded by the run seed alone, cut
    into train (n - 2 * eval_size), dev and test (eval_size each)."""
    order = np.random.default_rng(split_seed(seed, "test", 0)).permutation(n)  # ("test", 0): no other stream uses it
    train_end = n - 2 * eval_size
    return {
        "train": order[:train_end],
        "dev": order[train_end : train_end + eval_size],
        "test": order[train_end + eval_size :],
    }


def make_digits_data(seq_len: int, seed: int, order: str = "rows", eval_size: int = DIGITS_EVAL_SIZE) -> TaskData:
    """The 8x8 digits as sequences in `order`: a fixed training set and fixed dev/test sets of `eval_size`."""
    check_choice("order", order, ORDERS)
    check_length(seq_len, order, 8, "digits")
    check_int("seed", seed, 0)
    n = sum(DIGITS_COUNTS)
    check_int("eval_size", eval_size, 1)
    if 2 * eval_size >= n:
        raise ValueError(
            f"eval_size={eval_size!r} is not allowed; dev and test take eval_size each of the {n} images, so it must be < {n // 2}"
        )
    images, labels = load_digits_images()
    inputs, targets = as_sequences(images, order), torch.from_numpy(labels)  # (N, T, F), (N,)
    splits = {name: Split(inputs[idx], targets[idx]) for name, idx in digits_partition(seed, eval_size, n).items()}
    return TaskData(dev=splits["dev"], test=splits["test"], train=splits["train"])


# --- MNIST from torchvision's raw files -------------------------------------------------------------


def read_idx(path, magic: int) -> np.ndarray:
    """The uint8 array of one idx file (gzip if its name ends in .gz): big-endian int32 magic
    (2051 images, 2049 labels), then one big-endian uint32 per dimension, then the bytes."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path) as file:
                raw = file.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path} cannot be read: {err}") from None
    ndim = magic & 0xFF  # the magic's last byte: 3 for images, 1 for labels
    found = int(np.frombuffer(raw, ">i4", 1)[0]) if len(raw) >= 4 else None
    if found != magic:
        raise ValueError(
            f"{path} has magic number {found}; an idx {'image' if magic == IMAGES_MAGIC else 'label'} file has {magic}"
        )
    if len(raw) < 4 * (1 + ndim):
        raise ValueError(f"{path} is not an idx file: {len(raw)} bytes, fewer than its {4 * (1 + ndim)}-byte header")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    size = int(np.prod(dims))
    if len(raw) - 4 * (1 + ndim) != size:
        raise ValueError(f"{path} holds {len(raw) - 4 * (1 + ndim)} data bytes; its header {dims} says {size}")
    return np.frombuffer(raw, np.uint8, size, 4 * (1 + ndim)).reshape(dims)


def find_mnist_files(data_dir) -> dict[str, Path]:
    """{name: path} of the four raw files in `data_dir` or `data_dir/MNIST/raw` (plain before .gz)."""
    where = f"put {', '.join(MNIST_FILES)} {MNIST_LAYOUTS}"
    if data_dir is None:
        raise ValueError(f"MNIST needs task_params={{'data_dir': FOLDER}} and downloads nothing; {where}")
    root = Path(data_dir)
    if not root.is_dir():
        raise ValueError(f"data_dir={str(data_dir)!r} is not a folder; {where}")
    files = {}
    for name in MNIST_FILES:
        candidates = [folder / file for folder in (root, root / "MNIST" / "raw") for file in (name, name + ".gz")]
        found = [path for path in candidates if path.is_file()]
        if not found:
            raise ValueError(f"{root} has no {name} (or {name}.gz), nor has {root / 'MNIST' / 'raw'}; {where}")
        files[name] = found[0]
    return files


def load_mnist(data_dir) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images (N, 28, 28), train labels (N,), test images (M, 28, 28), test labels (M,)), uint8 as stored."""
    files = find_mnist_files(data_dir)
    arrays = []
    for kind in ("train", "t10k"):
        images = read_idx(files[f"{kind}-images-idx3-ubyte"], IMAGES_MAGIC)
        labels = read_idx(files[f"{kind}-labels-idx1-ubyte"], LABELS_MAGIC)
        if images.shape[1:] != (28, 28):
            raise ValueError(
                f"{files[f'{kind}-images-idx3-ubyte']} holds images of {images.shape[1]}x{images.shape[2]}; MNIST's are 28x28"
            )
        if len(labels) != len(images):
            raise ValueError(
                f"{files[f'{kind}-labels-idx1-ubyte']} holds {len(labels)} labels for {len(images)} images"
            )
        if labels.max(initial=0) >= NUM_CLASSES:
            raise ValueError(f"{files[f'{kind}-labels-idx1-ubyte']} holds label {labels.max()}; MNIST's are 0..9")
        arrays += [images, labels]
    return tuple(arrays)


def make_mnist_data(
    seq_len: int, seed: int, data_dir=None, order: str = "rows", dev_size: int = MNIST_DEV_SIZE
) -> TaskData:
    """MNIST from `data_dir` as sequences in `order`: train and dev (its last `dev_size`) from the
    training files, test from the t10k files; the same sets for every seed."""
    check_choice("order", order, ORDERS)
    check_length(seq_len, order, 28, "MNIST")
    check_int("seed", seed, 0)
    check_int("dev_size", dev_size, 1)
    train_images, train_labels, test_images, test_labels = load_mnist(data_dir)
    if dev_size >= len(train_images):
        raise ValueError(f"dev_size={dev_size!r} is not allowed; it must be < the {len(train_images)} training images")

    def split(images: np.ndarray, labels: np.ndarray) -> Split:
        return Split(as_sequences(images.astype(np.float32) / 255, order), torch.from_numpy(labels.astype(np.int64)))

    cut = len(train_images) - dev_size
    return TaskData(
        train=split(train_images[:cut], train_labels[:cut]),
        dev=split(train_images[cut:], train_labels[cut:]),
        test=split(test_images, test_labels),
    )


# --- the tasks --------------------------------------------------------------------------------------


def _spec(
    name: str, label: str, description: str, order: str, side: int, baseline: float, baseline_note: str, make_data
) -> TaskSpec:
    steps, features = (side, side) if order == "rows" else (side * side, 1)
    return TaskSpec(
        name=name,
        label=label,
        description=description,
        input_kind="vectors",
        input_size=features,
        output_kind="class",
        output_size=NUM_CLASSES,
        metric="accuracy",
        baseline=baseline,
        baseline_note=baseline_note,
        threshold=(1.0 + baseline) / 2,
        threshold_note="halfway from the majority class to perfect; the length is the image's, so it marks a solved run",
        make_data=make_data,
        example_input=(),
        length_label=f"sequence length T ({'image rows' if order == 'rows' else 'pixels'})",
        min_seq_len=steps,
    )


def digits_task(order: str = "rows", name: str | None = None) -> TaskSpec:
    """scikit-learn's 8x8 digits read in `order` (8 steps of 8 pixels, or 64 of 1); named digits_<order> by default."""
    check_choice("order", order, ORDERS)

    def make_data(seq_len: int, seed: int, eval_size: int = DIGITS_EVAL_SIZE) -> TaskData:
        return make_digits_data(seq_len, seed, order, eval_size)

    return _spec(
        name or f"digits_{order}",
        f"8x8 digits by {order}",
        f"classify scikit-learn's 8x8 digits read {'row by row' if order == 'rows' else 'pixel by pixel'}; "
        f"{sum(DIGITS_COUNTS) - 2 * DIGITS_EVAL_SIZE}/{DIGITS_EVAL_SIZE}/{DIGITS_EVAL_SIZE} images, split by the seed",
        order,
        8,
        DIGITS_MAJORITY,
        "always answering 3, the most common digit: 183 of the 1797 images",
        make_data,
    )


def mnist_task(order: str = "rows", name: str | None = None) -> TaskSpec:
    """MNIST read in `order` (28 steps of 28 pixels, or 784 of 1) from task_params' data_dir; named mnist_<order> by default."""
    check_choice("order", order, ORDERS)

    def make_data(seq_len: int, seed: int, data_dir=None, dev_size: int = MNIST_DEV_SIZE) -> TaskData:
        return make_mnist_data(seq_len, seed, data_dir, order, dev_size)

    return _spec(
        name or f"mnist_{order}",
        f"MNIST by {order}",
        f"classify MNIST digits read {'row by row' if order == 'rows' else 'pixel by pixel'}; "
        f"{60_000 - MNIST_DEV_SIZE}/{MNIST_DEV_SIZE}/10000 images",
        order,
        28,
        MNIST_MAJORITY,
        "always answering 1, the most common digit: 1135 of the 10,000 test images",
        make_data,
    )


DIGITS_ROWS = replace(
    digits_task("rows"),
    grid=TaskGrid(
        ("digits_rows",), (8,), (8,), "results/digits_rows", "8x8 digits row by row, accuracy, baseline 0.10"
    ),
)
DIGITS_PIXELS = replace(
    digits_task("pixels"),
    grid=TaskGrid(
        ("digits_pixels",), (64,), (64,), "results/digits_pixels", "8x8 digits pixel by pixel, accuracy, baseline 0.10"
    ),
)
MNIST_ROWS = replace(
    mnist_task("rows"),
    grid=TaskGrid(
        ("mnist_rows", "mnist-seed", "mnist-seed-sound"),
        (28,),
        (28,),
        "results/mnist_rows",
        "MNIST row by row (--data-dir), accuracy, baseline 0.11",
        reads_files=True,
    ),
)
