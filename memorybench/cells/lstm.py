"""The LSTM (Hochreiter & Schmidhuber 1997, with a forget gate): torch's gate order i, f, g, o.

Example:
    >>> import torch
    >>> x_proj = torch.zeros(2, 4 * 3)  # (B, 4H): i, f, g, o all at 0
    >>> h, c, states = step(x_proj, torch.zeros(2, 12), torch.zeros(2, 3), torch.ones(2, 3))
    >>> c[0].tolist(), list(states)  # f*c + i*g = 0.5*1 + 0.5*0
    ([0.5, 0.5, 0.5], ['i', 'f', 'g', 'o', 'c', 'h'])
"""
from __future__ import annotations

import torch
from torch import nn

from memorybench.cells.spec import CellSpec, torch_fused


def step(x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """x_proj, h_proj (..., 4H); h, c (..., H) -> (h, c, {'i', 'f', 'g', 'o', 'c', 'h'})."""
    pre = x_proj + h_proj
    i, f, _, o = torch.sigmoid(pre).chunk(4, dim=-1)  # one sigmoid for i, f, o (g's quarter unused)
    g = torch.tanh(pre.chunk(4, dim=-1)[2])
    c = torch.addcmul(f * c, i, g)  # f*c + i*g
    h = o * torch.tanh(c)
    return h, c, {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}


LSTM = CellSpec(
    name="lstm", label="LSTM", color="#0072B2", gates=("i", "f", "g", "o"), states=("i", "f", "g", "o", "c", "h"),
    heatmap=("i", "f", "o", "c"), chunks=4, has_cell_state=True, step=step, fused=torch_fused(nn.LSTM),
    titles=(("i", "input gate i"), ("f", "forget gate f"), ("o", "output gate o")), unit_states=("i", "f", "o"),
    cpu_min_pack=6,  # oneDNN's fused LSTM is as fast per run as a stacked pack of 5 at L=30 (benchmarks/README.md)
)
