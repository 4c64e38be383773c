"""The model: embedding -> one recurrent layer -> linear read-out.

For a token task: Embedding(vocab, M) -> recurrent(M -> H, h0 = 0) -> Linear(H, C) on
the last hidden state (or on every state, for a per-step task). Two initialisations:

- `book`: the NNDL book's Paddle defaults. Xavier-uniform for the embedding, for each
  gate's input and recurrent matrices separately (the book keeps one (M, H) and one
  (H, H) matrix per gate) and for each gate's (1, H) bias, i.e. U(+-sqrt(6/(1+H)));
  the read-out weight Xavier-uniform, its bias 0. torch's layer has two bias vectors
  where the book has one: `bias_ih` gets the book's draw and `bias_hh` starts at 0,
  so their sum, which is what the cell adds, is distributed as the book's bias.
- `torch`: torch's own defaults (U(+-1/sqrt(H)) for recurrent weights and biases,
  N(0, 1) embedding, Kaiming-uniform read-out).

`forget_bias` (LSTM only) sets the forget gate's total bias to a constant after
initialisation (Jozefowicz et al. 2015 use 1.0); the book sets none.

Example:
    >>> from memorybench.tasks import get_task
    >>> model = build_model(get_task("nndl"), "lstm", init="book", seed=0)
    >>> count_parameters(model)
    9395
    >>> model(torch.zeros(8, 10, dtype=torch.long)).shape  # (B, T) -> (B, 19)
    torch.Size([8, 19])
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .cells import make_recurrent, num_chunks
from .tasks.base import TaskSpec, check_choice

INITS = ("book", "torch")


class SequenceModel(nn.Module):
    def __init__(self, task: TaskSpec, cell: str, execution: str = "fused", embedding_size: int = 32, hidden_size: int = 32):
        super().__init__()
        self.cell = cell
        if task.input_kind == "tokens":
            self.embedding = nn.Embedding(task.input_size, embedding_size)
            rnn_input = embedding_size
        else:
            self.embedding = nn.Identity()
            rnn_input = task.input_size
        self.rnn = make_recurrent(cell, execution, rnn_input, hidden_size)
        self.head = nn.Linear(hidden_size, task.output_size)
        self.per_step = task.output_kind == "class_per_step"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(self.embedding(x))  # (B, T) -> (B, T, M) -> (B, T, H)
        return self.head(states if self.per_step else states[:, -1])  # (B, T, C) or (B, C)


def _xavier_bound(fan_in: int, fan_out: int) -> float:
    return math.sqrt(6.0 / (fan_in + fan_out))


@torch.no_grad()
def init_book_(model: SequenceModel) -> None:
    """The book's initialisation (see module docstring); uses torch's global RNG."""
    if isinstance(model.embedding, nn.Embedding):
        nn.init.xavier_uniform_(model.embedding.weight)
    rnn = model.rnn
    hidden = rnn.hidden_size
    for w_ih, w_hh in zip(rnn.weight_ih_l0.chunk(num_chunks(model.cell)), rnn.weight_hh_l0.chunk(num_chunks(model.cell))):
        nn.init.xavier_uniform_(w_ih)  # (H, M) per gate: fan_in M, fan_out H
        nn.init.xavier_uniform_(w_hh)  # (H, H) per gate
    bound = _xavier_bound(1, hidden)  # a (1, H) Paddle parameter
    rnn.bias_ih_l0.uniform_(-bound, bound)
    rnn.bias_hh_l0.zero_()
    nn.init.xavier_uniform_(model.head.weight)
    model.head.bias.zero_()


@torch.no_grad()
def set_forget_bias_(model: SequenceModel, value: float) -> None:
    """Make the LSTM forget gate's total bias (bias_ih + bias_hh) equal `value`."""
    if model.cell != "lstm":
        raise ValueError(f"forget_bias applies to the lstm cell only, not {model.cell!r}")
    hidden = model.rnn.hidden_size
    model.rnn.bias_ih_l0[hidden : 2 * hidden] = value
    model.rnn.bias_hh_l0[hidden : 2 * hidden] = 0.0


def build_model(
    task: TaskSpec,
    cell: str,
    *,
    execution: str = "fused",
    embedding_size: int = 32,
    hidden_size: int = 32,
    init: str = "book",
    forget_bias: float | None = None,
    seed: int = 0,
) -> SequenceModel:
    """A freshly initialised model; a pure function of its arguments (the global RNG is left untouched)."""
    check_choice("init", init, INITS)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SequenceModel(task, cell, execution, embedding_size, hidden_size)
        if init == "book":
            init_book_(model)
    if forget_bias is not None:
        set_forget_bias_(model, forget_bias)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
