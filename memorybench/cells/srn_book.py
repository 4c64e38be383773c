"""The book's SRN with one bias: h = tanh(x W + h U + b), as section 6.2 of the NNDL book writes it.

torch's `nn.RNN` carries two bias vectors (`bias_ih`, `bias_hh`) whose gradients are
identical, so under SGD the cell's total bias moves twice as far per step as the
book's single `b`, and per-parameter clipping clips it as two parameters. The book's
gradient-explosion experiment logs and clips W, U and b one parameter each: this cell
has exactly those (named `weight_ih`, `weight_hh`, `bias`), runs step by step (no
fused kernel) and is otherwise the SRN (the same step function).

Initialisation: `book` draws W and U Xavier-uniform and b ~ U(+-sqrt(6/(1+H))), the
distribution of the SRN's `bias_ih + bias_hh` under the book's init; `torch` draws
every parameter ~ U(+-1/sqrt(H)).

Example:
    >>> from memorybench.cells import make_recurrent
    >>> rnn = make_recurrent("srn_book", "transparent", input_size=4, hidden_size=3)
    >>> [(name, tuple(p.shape)) for name, p in rnn.named_parameters()]
    [('weight_ih_l0', (3, 4)), ('weight_hh_l0', (3, 3)), ('bias_l0', (3,))]
"""

from __future__ import annotations

import math

import torch
from torch import nn

from memorybench.cells.spec import CellSpec, Params, torch_init
from memorybench.cells.srn import step


def shapes(input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    return {"weight_ih": (hidden_size, input_size), "weight_hh": (hidden_size, hidden_size), "bias": (hidden_size,)}


def project_input(params: Params, x: torch.Tensor) -> torch.Tensor:
    """x (..., I) -> (..., H): x W + b (the one bias is added once, here)."""
    return x @ params["weight_ih"].T + params["bias"]


def project_hidden(params: Params, h: torch.Tensor) -> torch.Tensor:
    """h (..., H) -> (..., H): h U."""
    return h @ params["weight_hh"].T


def init_book(params: Params, hidden_size: int, chunks: int) -> None:
    nn.init.xavier_uniform_(params["weight_ih"])
    nn.init.xavier_uniform_(params["weight_hh"])
    bound = math.sqrt(6.0 / (1 + hidden_size))  # Xavier for the book's (1, H) bias
    params["bias"].uniform_(-bound, bound)


SRN_BOOK = CellSpec(
    name="srn_book",
    label="SRN (one bias)",
    color="#CC79A7",
    gates=(),
    states=("h",),
    heatmap=("h",),
    chunks=1,
    has_cell_state=False,
    step=step,
    fused=None,
    torch_layout=False,
    parameter_shapes=shapes,
    project_input=project_input,
    project_hidden=project_hidden,
    init_torch=torch_init,
    init_book=init_book,
    group="book",
)
