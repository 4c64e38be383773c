"""The GRU (Cho et al. 2014) in torch's form: gate order r, z, n, and the reset gate
scales the hidden projection, its bias included.

Example:
    >>> import torch
    >>> h, c, states = step(torch.zeros(2, 3 * 3), torch.zeros(2, 9), torch.ones(2, 3), torch.zeros(2, 3))
    >>> h[0].tolist(), list(states)  # (1-z)*n + z*h = 0.5*0 + 0.5*1
    ([0.5, 0.5, 0.5], ['r', 'z', 'n', 'h'])
"""
from __future__ import annotations

import torch
from torch import nn

from memorybench.cells.spec import CellSpec, torch_fused


def step(x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """x_proj, h_proj (..., 3H); h, c (..., H) -> (h, c, {'r', 'z', 'n', 'h'}); c passes through."""
    hidden = h.shape[-1]
    r, z = torch.sigmoid(x_proj[..., : 2 * hidden] + h_proj[..., : 2 * hidden]).chunk(2, dim=-1)
    n = torch.tanh(torch.addcmul(x_proj[..., 2 * hidden :], r, h_proj[..., 2 * hidden :]))  # xn + r*hn
    h = torch.lerp(n, h, z)  # (1-z)*n + z*h
    return h, c, {"r": r, "z": z, "n": n, "h": h}


GRU = CellSpec(
    name="gru", label="GRU", color="#009E73", gates=("r", "z", "n"), states=("r", "z", "n", "h"),
    heatmap=("r", "z", "n"), chunks=3, has_cell_state=False, step=step, fused=torch_fused(nn.GRU),
    titles=(("r", "reset gate r"), ("z", "update gate z"), ("n", "candidate n")), unit_states=("r", "z"),
)
