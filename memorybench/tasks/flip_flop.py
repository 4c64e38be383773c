"""Flip-flop (Liu et al. 2023, "Exposing attention glitches with flip-flop language modeling").

A sequence of L instructions, each followed by a bit: write (w), ignore (i) or read (r).
A read's bit is the bit of the most recent write; write and ignore bits are uniform. The
first instruction is always a write and the last always a read (so every read has a bit
to return and every sequence is scored); the L - 2 between are i.i.d.: ignore with
probability `p_ignore` (default 0.8, the paper's training distribution), write and read
with (1 - p_ignore) / 2 each. Tokens: the bits 0 and 1, w = 2, i = 3, r = 4; the input is
the 2L tokens instruction, bit, instruction, bit, ... The model answers a class per step
(`class_per_step`): at each read instruction the bit that follows it (the last written
bit; classes 0 and 1), and the filler class 2 ("no read here") at every other step. The
run's `seq_len` is L, the number of instructions. At L = 6:

    inputs  [2, 1, 4, 1, 4, 1, 2, 0, 2, 0, 4, 0]   (w 1, r 1, r 1, w 0, w 0, r 0)
    targets [2, 2, 1, 2, 1, 2, 2, 2, 2, 2, 0, 2]

The paper trains a language model on every next token and scores only the reads; here
the read bits are the task and the other steps' targets are the filler, which the
current input alone gives (a step's target is the filler exactly when its input is not r).

Metric: read accuracy, the share of reads answered with the last written bit
(`unscored_class` = the filler, the copy task's mechanism); the paper's read error rate
is 1 - read accuracy. Accuracy, not an error rate, because the suite's metrics are
accuracy (higher is better, with unscored steps) and MSE: the same number, one
subtraction away, without a third metric in every table and threshold. The report shows
accuracy to two decimals; the paper's glitches (error rates of 1e-3 and below) are read
from the runs' stored scores (`tables/runs.csv`), which keep every digit.

Memoryless baseline: read accuracy 0.5. At a read the input is r, and the last written
bit is a fair coin independent of it, so any memoryless answer (always 0, say) is right
on half the reads. Its cross-entropy (the filler off the reads, ln 2 at each) is
ln 2 * E[reads] / (2L) with E[reads] = 1 + (L - 2)(1 - p_ignore)/2 (`TaskSpec.loss_baseline`).

"Solved" threshold: read accuracy 0.99 (read error rate <= 1%). A model whose memory of
the last write reaches d instructions back and guesses beyond errs on half of the reads
whose write lies further back; at p_ignore = 0.8 a read's last write is more than d
instructions back with probability 0.9^d (each earlier instruction a write with
probability 0.1), so halfway from chance to perfect (0.75) is reached with d = 7 at every
length, and measures nothing about L. 0.99 asks for 0.5 * 0.9^d <= 0.01, d >= 38: a
memory that holds its bit across the gaps a sequence of L instructions actually has.

Other read distributions. `p_ignore` is a task parameter: `--task-param p_ignore=0.98`
trains (and scores) at the paper's sparse distribution, 0.1 at its dense one. The paper
trains at 0.8 and evaluates at 0.98 and 0.1 too (`FLIP_FLOP.shifts`; `memorybench diagnose shift
FOLDER` scores every run of a folder so): `score_at_p_ignore` scores a stored
run's best-dev model on a fresh test set of another distribution, without retraining,
drawn from the seed the extrapolation diagnostic draws its fresh sets from (so never the
run's own data), at the run's length or any other:

    from memorybench.diagnostics.extrapolate import FRESH_SEED_OFFSET
    from memorybench.training import load_run
    saved = load_run("results/flip_flop/runs/<run_id>")
    fresh = saved.config.seed + FRESH_SEED_OFFSET
    sparse = score_at_p_ignore(saved.model, saved.config.seq_len, fresh, 0.98)  # read accuracy
    dense = score_at_p_ignore(saved.model, saved.config.seq_len, fresh, 0.1)

(The tasks sit below the training and diagnostics layers, so the caller loads the run.)

Fresh training batches every step from the run's seeded generator; fixed dev and test
sets of `eval_size` sequences drawn from seeds disjoint from the training stream.

Example:
    >>> batch = make_flip_flop_batch(2, 6, 0.2, torch.Generator().manual_seed(0))  # p_ignore 0.2: reads and writes
    >>> batch.inputs.tolist()
    [[2, 1, 4, 1, 4, 1, 2, 0, 2, 0, 4, 0], [2, 0, 2, 0, 4, 0, 4, 0, 3, 0, 4, 0]]
    >>> batch.targets.tolist()
    [[2, 2, 1, 2, 1, 2, 2, 2, 2, 2, 0, 2], [2, 2, 2, 2, 0, 2, 0, 2, 2, 2, 0, 2]]
    >>> make_flip_flop_data(seq_len=6, seed=0).dev.inputs.shape  # (N, 2L)
    torch.Size([1000, 12])
    >>> FLIP_FLOP.baseline, FLIP_FLOP.threshold, FLIP_FLOP.unscored_class, FLIP_FLOP.min_seq_len
    (0.5, 0.99, 2, 2)
"""

from __future__ import annotations

import math

import torch

from memorybench.checks import check_int, check_probability
from memorybench.tasks.base import Split, TaskData, TaskGrid, TaskSpec, fresh_data

WRITE, IGNORE, READ = 2, 3, 4  # instruction tokens; the bits are tokens 0 and 1
NO_READ = 2  # the filler class of every step that is not a read (classes 0 and 1 are the bits)
P_IGNORE = 0.8  # the paper's training distribution
SPARSE, DENSE = 0.98, 0.1  # the paper's other evaluation distributions
CHANCE = 0.5
SOLVED_ACCURACY = 0.99
MIN_LENGTH = 2  # the first write and the last read


def instructions(batch_size: int, seq_len: int, p_ignore: float, generator: torch.Generator) -> torch.Tensor:
    """(B, L) instruction tokens: a write first, a read last, i.i.d. between (ignore with p_ignore, write and read alike)."""
    u = torch.rand((batch_size, seq_len - 2), generator=generator)  # (B, L-2)
    between = torch.where(u < (1 - p_ignore) / 2, WRITE, torch.where(u < 1 - p_ignore, READ, IGNORE))
    first = torch.full((batch_size, 1), WRITE, dtype=torch.long)
    last = torch.full((batch_size, 1), READ, dtype=torch.long)
    return torch.cat([first, between.long(), last], dim=1)


def make_flip_flop_batch(batch_size: int, seq_len: int, p_ignore: float, generator: torch.Generator) -> Split:
    """`batch_size` fresh sequences of `seq_len` instructions (2 * seq_len tokens); a pure function of the generator state."""
    ops = instructions(batch_size, seq_len, p_ignore, generator)  # (B, L)
    bits = torch.randint(0, 2, (batch_size, seq_len), generator=generator)  # (B, L): the write and ignore bits
    steps = torch.arange(seq_len).expand(batch_size, seq_len)
    last_write = (
        torch.where(ops == WRITE, steps, 0).cummax(dim=1).values
    )  # (B, L) the latest write at or before each step
    remembered = bits.gather(1, last_write)  # (B, L) the last written bit at each instruction
    is_read = ops == READ
    bits = torch.where(is_read, remembered, bits)  # a read's bit is the last written one
    inputs = torch.stack([ops, bits], dim=2).view(batch_size, 2 * seq_len)  # (B, 2L): instruction, bit, ...
    targets = torch.full_like(inputs, NO_READ)
    targets[:, 0::2] = torch.where(is_read, remembered, NO_READ)  # at each read instruction, the bit that follows it
    return Split(inputs, targets)


def last_bit_seen(inputs: torch.Tensor) -> torch.Tensor:
    """The answers of a rule with no memory beyond one token: at every step, the bit of the instruction before it
    (a write's, an ignore's or a read's). inputs (B, 2L) -> outputs (B, 2L, 3) one-hot, as a model's logits; only the
    reads are scored. It is right at a read whenever no ignore came between the last write and the read.

    >>> last_bit_seen(torch.tensor([[WRITE, 1, IGNORE, 0, READ, 1]])).argmax(-1).tolist()  # the read answers 0
    [[0, 1, 1, 1, 0, 1]]
    """
    previous = torch.cat([torch.zeros_like(inputs[:, :1]), inputs[:, :-1]], dim=1).clamp(max=1)  # (B, 2L)
    return torch.nn.functional.one_hot(previous, 3).float()


def make_flip_flop_data(seq_len: int, seed: int, p_ignore: float = P_IGNORE, eval_size: int = 1000) -> TaskData:
    """Flip-flop over `seq_len` instructions: fixed dev/test sets of `eval_size` and a fresh-batch sampler."""
    check_int("seq_len", seq_len, MIN_LENGTH)
    check_int("seed", seed, 0)
    check_probability("p_ignore", p_ignore)
    check_int("eval_size", eval_size, 1)

    return fresh_data(
        lambda batch_size, generator: make_flip_flop_batch(batch_size, seq_len, p_ignore, generator),
        seq_len,
        seed,
        eval_size,
    )


def expected_reads(seq_len: int, p_ignore: float = P_IGNORE) -> float:
    """The mean number of reads in a sequence of `seq_len` instructions: the last one, and each between with (1 - p_ignore) / 2."""
    return 1 + (seq_len - 2) * (1 - p_ignore) / 2


def flip_flop_memoryless_loss(seq_len: int, p_ignore: float = P_IGNORE, **params) -> float:
    """Cross-entropy per step of the filler off the reads and a coin at each read: ln 2 * E[reads] / (2L)."""
    check_probability("p_ignore", p_ignore)
    return math.log(2) * expected_reads(seq_len, p_ignore) / (2 * seq_len)


@torch.no_grad()
def score_at_p_ignore(model: torch.nn.Module, seq_len: int, seed: int, p_ignore: float, size: int = 1000) -> float:
    """The read accuracy of a trained flip-flop `model` on `size` sequences of `seq_len` instructions drawn at
    `p_ignore`: the test split of `make_flip_flop_data(seq_len, seed, p_ignore=p_ignore, eval_size=size)`, the set
    `memorybench.diagnostics.extrapolate.fresh_split` draws for a run with that p_ignore when `seed` is the run's
    seed + its offset (the module docstring shows the call)."""
    test = make_flip_flop_data(seq_len, seed, p_ignore=p_ignore, eval_size=size).test
    return float(FLIP_FLOP.score(model(test.inputs), test.targets))


FLIP_FLOP = TaskSpec(
    name="flip_flop",
    label="flip-flop",
    description="flip-flop: L instructions write, ignore or read, each with a bit, ignore with probability p_ignore "
    f"(default {P_IGNORE}); at each read, the last written bit, scored by read accuracy, 1 - the read error rate",
    input_kind="tokens",
    input_size=5,  # bits 0 and 1, write, ignore, read
    output_kind="class_per_step",
    output_size=3,  # bits 0 and 1, and the filler of the steps that are not reads
    metric="accuracy",
    baseline=CHANCE,
    baseline_note="any answer at a read from the read alone, e.g. always 0: the last written bit is a fair coin",
    threshold=SOLVED_ACCURACY,
    threshold_note="a read error rate of at most 1%: the last write held 38 or more instructions back at p_ignore 0.8; "
    "halfway from chance to perfect, 0.75, takes 7 at any length",
    make_data=make_flip_flop_data,
    example_input=(),
    length_label="instructions L",
    fresh_batches=True,
    min_seq_len=MIN_LENGTH,
    unscored_class=NO_READ,
    memoryless_loss=flip_flop_memoryless_loss,
    shifts=(("sparse", {"p_ignore": 0.98}), ("dense", {"p_ignore": 0.1})),  # the paper's two evaluations
    reference=("repeat the last bit seen", last_bit_seen),
    # literature: Liu et al.'s 256 instructions (512 tokens)
    grid=TaskGrid(
        ("flip_flop",),
        (10, 25, 50),
        (64, 128, 256, 512),
        "results/flip_flop",
        "flip-flop over L instructions (p_ignore 0.8), read accuracy (1 - error rate), chance 0.5",
    ),
)
