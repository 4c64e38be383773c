"""The simple recurrent network (Elman): h = tanh(W_ih x + b_ih + W_hh h + b_hh).

Example:
    >>> import torch
    >>> h, c, states = step(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 3), torch.ones(2, 3))
    >>> h.shape, list(states)
    (torch.Size([2, 3]), ['h'])
"""

from __future__ import annotations

import torch
from torch import nn

from memorybench.cells.spec import CellSpec, torch_fused


def step(x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """x_proj, h_proj (..., H); h, c (..., H) -> (h, c, {'h'}); c passes through."""
    h = torch.tanh(x_proj + h_proj)
    return h, c, {"h": h}


SRN = CellSpec(
    name="srn",
    label="SRN",
    color="#E69F00",
    gates=(),
    states=("h",),
    heatmap=("h",),
    chunks=1,
    has_cell_state=False,
    step=step,
    fused=torch_fused(nn.RNN, nonlinearity="tanh"),
    group="classic",
)
