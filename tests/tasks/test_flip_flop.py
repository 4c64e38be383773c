"""Flip-flop: the generator against its definition, the baseline from the generator's own statistics,
the threshold's reading, p_ignore, determinism and streams, parameter checks, training and scoring
a stored run at the paper's sparse and dense distributions."""

import inspect
import math

import pytest
import torch
import torch.nn.functional as F

from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack
from memorybench.tasks import get_task
from memorybench.tasks.flip_flop import (
    FLIP_FLOP,
    IGNORE,
    NO_READ,
    READ,
    WRITE,
    expected_reads,
    make_flip_flop_batch,
    make_flip_flop_data,
    score_at_p_ignore,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def logits(classes: torch.Tensor, num_classes: int = 3) -> torch.Tensor:
    return F.one_hot(classes, num_classes).double() * 10.0


def reads_and_gaps(inputs: torch.Tensor):
    """Per read, its row, its step and how many instructions back its last write is: the definition, walked in Python."""
    found = []
    for row, tokens in enumerate(inputs.tolist()):
        last = None
        for t in range(0, len(tokens), 2):
            if tokens[t] == WRITE:
                last = t
            elif tokens[t] == READ:
                found.append((row, t, (t - last) // 2))
    return found


# --- data ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seq_len, p_ignore", [(2, 0.8), (3, 0.8), (10, 0.8), (40, 0.1), (40, 0.98), (12, 0.0), (12, 1.0)]
)
def test_each_read_asks_for_the_last_written_bit(seq_len, p_ignore):
    batch = make_flip_flop_batch(300, seq_len, p_ignore, gen())
    x, y = batch.inputs, batch.targets
    assert x.shape == y.shape == (300, 2 * seq_len) and x.dtype == y.dtype == torch.int64
    ops, bits = x[:, 0::2], x[:, 1::2]
    assert ((ops == WRITE) | (ops == IGNORE) | (ops == READ)).all() and ((bits == 0) | (bits == 1)).all()
    assert (ops[:, 0] == WRITE).all() and (ops[:, -1] == READ).all()
    assert (y[:, 1::2] == NO_READ).all()  # a bit step is never scored
    for tokens, target in zip(x.tolist(), y.tolist()):
        written = None
        for t in range(0, 2 * seq_len, 2):  # the definition, instruction by instruction
            op, bit = tokens[t], tokens[t + 1]
            if op == WRITE:
                written = bit
            if op == READ:
                assert bit == written and target[t] == written  # the data and the answer: the last written bit
            else:
                assert target[t] == NO_READ


@pytest.mark.parametrize("p_ignore", [0.8, 0.98, 0.1])
def test_instructions_between_follow_p_ignore_and_free_bits_are_fair(p_ignore):
    x = make_flip_flop_batch(4000, 52, p_ignore, gen(1)).inputs
    ops, bits = x[:, 2:-2:2], x[:, 3:-2:2]  # the 50 instructions between the first write and the last read
    shares = [(ops == op).float().mean().item() for op in (WRITE, IGNORE, READ)]
    assert shares == pytest.approx([(1 - p_ignore) / 2, p_ignore, (1 - p_ignore) / 2], abs=0.005)
    free = bits[ops != READ].float()
    assert free.mean().item() == pytest.approx(0.5, abs=0.01)


def test_p_ignore_is_a_task_parameter_with_the_papers_default():
    default, sparse = make_flip_flop_data(30, 0), make_flip_flop_data(30, 0, p_ignore=0.98)
    assert torch.equal(default.dev.inputs, make_flip_flop_data(30, 0, p_ignore=0.8).dev.inputs)
    reads = [((split.inputs[:, 0::2] == READ).sum(1).float().mean().item()) for split in (default.dev, sparse.dev)]
    assert reads == pytest.approx([expected_reads(30, 0.8), expected_reads(30, 0.98)], rel=0.05)
    assert "p_ignore" in inspect.signature(FLIP_FLOP.make_data).parameters  # what --task-param checks


# --- baseline and threshold ----------------------------------------------------------------------


def test_the_memoryless_baseline_is_what_the_generators_statistics_allow():
    batch = make_flip_flop_batch(5000, 30, 0.8, gen(2))
    x, y = batch.inputs, batch.targets
    at_reads = y[x == READ]  # what a memoryless model sees at a read is the read itself: the answer's frequencies there
    assert torch.bincount(at_reads, minlength=2).max().item() / len(at_reads) == pytest.approx(
        FLIP_FLOP.baseline, abs=0.01
    )
    always_zero = torch.where(x == READ, 0, NO_READ)
    assert (
        FLIP_FLOP.score(logits(always_zero), y).item() == pytest.approx(0.5, abs=0.01)
        and FLIP_FLOP.score(logits(y), y).item() == 1.0
    )
    assert FLIP_FLOP.score(logits(torch.full_like(y, NO_READ)), y).item() == 0.0  # the filler is not scored


@pytest.mark.parametrize("seq_len, p_ignore", [(2, 0.8), (30, 0.8), (30, 0.98), (30, 0.1)])
def test_filler_then_a_coin_at_each_read_is_the_loss_baseline(seq_len, p_ignore):
    batch = make_flip_flop_batch(4000, seq_len, p_ignore, gen(3))
    x, y = batch.inputs, batch.targets
    scores = torch.full((*y.shape, 3), -math.inf, dtype=torch.float64)
    is_read = x == READ
    scores[..., NO_READ] = torch.where(is_read, -math.inf, 0.0)  # the filler with certainty off the reads
    scores[..., 0] = torch.where(is_read, 0.0, -math.inf)  # a coin at the reads
    scores[..., 1] = torch.where(is_read, 0.0, -math.inf)
    own = math.log(2) * is_read.sum().item() / y.numel()  # this batch's own reads
    assert FLIP_FLOP.loss(scores, y).item() == pytest.approx(own, rel=1e-12)
    assert FLIP_FLOP.loss_baseline(seq_len, p_ignore=p_ignore) == pytest.approx(own, rel=0.03)  # in expectation


@pytest.mark.parametrize(
    "span, expected",
    [
        (6, 0.5 + 0.5 * (1 - 0.9**6)),
        (7, 0.5 + 0.5 * (1 - 0.9**7)),
        (37, 0.5 + 0.5 * (1 - 0.9**37)),
        (38, 0.5 + 0.5 * (1 - 0.9**38)),
    ],
)
def test_a_memory_span_of_d_instructions_scores_what_the_threshold_note_says(span, expected):
    batch = make_flip_flop_batch(600, 300, 0.8, gen(4))
    x, y = batch.inputs, batch.targets
    guess = torch.randint(0, 2, y.shape, generator=gen(5))
    answer = torch.full_like(y, NO_READ)
    for row, t, gap in reads_and_gaps(x):
        answer[row, t] = (
            y[row, t] if gap <= span else guess[row, t]
        )  # the last write remembered only d instructions back
    assert FLIP_FLOP.score(logits(answer), y).item() == pytest.approx(expected, abs=0.006)
    assert (expected >= 0.75) == (span >= 7) and (expected >= FLIP_FLOP.threshold) == (
        span >= 38
    )  # halfway at 7, 0.99 at 38


# --- declarations and checks ---------------------------------------------------------------------


def test_registered_task_and_its_declarations():
    task = get_task("flip_flop")
    assert (
        task is FLIP_FLOP and get_task("flip_flop", {"p_ignore": 0.98}) is FLIP_FLOP
    )  # baseline and threshold hold at any p_ignore
    assert (task.input_kind, task.input_size, task.output_kind, task.output_size, task.unscored_class) == (
        "tokens",
        5,
        "class_per_step",
        3,
        2,
    )
    assert (task.min_seq_len, task.fresh_batches, task.baseline, task.threshold) == (2, True, 0.5, 0.99)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(seq_len=1, seed=0), r"seq_len=1 is not allowed; it must be an integer >= 2"),
        (dict(seq_len=5, seed=0, p_ignore=1.5), r"p_ignore=1.5 is not allowed; it must be a number in \[0, 1\]"),
        (dict(seq_len=5, seed=0, p_ignore="0.9"), "p_ignore='0.9'"),
        (dict(seq_len=5, seed=-1), "seed=-1"),
        (dict(seq_len=5, seed=0, eval_size=0), r"eval_size=0 .*>= 1"),
    ],
)
def test_bad_parameters_raise_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        make_flip_flop_data(**kwargs)
    assert "\n" not in str(error.value)


# --- training, and the paper's other distributions -----------------------------------------------


def test_a_stored_run_is_scored_at_the_sparse_and_dense_distributions(tmp_path):
    from dataclasses import replace

    from memorybench.diagnostics.extrapolate import FRESH_SEED_OFFSET, fresh_split
    from memorybench.training import load_run, train_and_save

    config = protocol_config("flip_flop", cell="gru", seq_len=8, seed=1, steps=20, eval_interval=10, device="cpu")
    saved = load_run(train_and_save(config, tmp_path / "ff"))
    fresh = saved.config.seed + FRESH_SEED_OFFSET
    for p_ignore in (0.98, 0.1):
        score = score_at_p_ignore(saved.model, 8, fresh, p_ignore, size=300)
        # the extrapolation diagnostic's fresh set of a run at that p_ignore: the same sequences
        test = fresh_split(replace(saved.config, task_params={"p_ignore": p_ignore}), 8, size=300)
        assert (test.inputs[:, 0::2] == READ).float().mean().item() == pytest.approx(
            expected_reads(8, p_ignore) / 8, abs=0.02
        )
        with torch.no_grad():
            assert score == FLIP_FLOP.score(saved.model(test.inputs), test.targets).item() and 0.0 <= score <= 1.0
    assert 0.0 <= score_at_p_ignore(saved.model, 16, fresh, 0.98, size=100) <= 1.0  # at another length too
    with pytest.raises(ValueError, match="p_ignore=2"):
        score_at_p_ignore(saved.model, 8, fresh, 2)


def test_trains_end_to_end_at_another_p_ignore():
    config = protocol_config(
        "flip_flop", cell="lstm", seq_len=6, steps=20, eval_interval=10, device="cpu", task_params={"p_ignore": 0.1}
    )
    (output,) = train_pack([config])
    assert output.result.status == "ok" and 0.0 <= output.result.test_score <= 1.0
