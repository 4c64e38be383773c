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

from memorybench.cells.spec import CellSpec, StepGrad, torch_fused

sigmoid_backward, tanh_backward = torch.ops.aten.sigmoid_backward, torch.ops.aten.tanh_backward  # autograd's own


def forward(x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """x_proj, h_proj (..., 3H); h, c (..., H) -> (h, c, saved): the step, and what `backward` needs; c passes through."""
    hidden = h.shape[-1]
    gates = torch.sigmoid(x_proj[..., : 2 * hidden] + h_proj[..., : 2 * hidden])
    r, z = gates.chunk(2, dim=-1)
    h_n = h_proj[..., 2 * hidden :]
    n = torch.tanh(torch.addcmul(x_proj[..., 2 * hidden :], r, h_n))  # xn + r*hn
    h_new = torch.lerp(n, h, z)  # (1-z)*n + z*h
    return h_new, c, (h, gates, r, z, h_n, n)


def backward(saved, g_h: torch.Tensor, g_c: torch.Tensor | None, g_x: torch.Tensor):
    """The gradients of `forward`'s inputs, as autograd computes them (`StepGrad`): x_proj's written into `g_x`;
    -> (g_h_proj, g_h_prev through the lerp, g_c)."""
    h, gates, r, z, h_n, n = saved
    H = h.shape[-1]
    g_a = tanh_backward(g_h * (1 - z), n)  # lerp's gradient for n, then the tanh's
    g_gates = torch.empty_like(gates)  # r's and z's
    torch.mul(g_a, h_n, out=g_gates[..., :H])  # addcmul(xn, r, hn): grad * (tensor2 * value), value 1
    torch.mul(g_h, h - n, out=g_gates[..., H:])  # lerp's gradient for its weight: grad * (end - self)
    g_gates = sigmoid_backward(g_gates, gates)
    torch.cat([g_gates, g_a], -1, out=g_x)
    return torch.cat([g_gates, g_a * r], -1), g_h * z, g_c


def step(x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """x_proj, h_proj (..., 3H); h, c (..., H) -> (h, c, {'r', 'z', 'n', 'h'}); c passes through."""
    h, c, (_, _, r, z, _, n) = forward(x_proj, h_proj, h, c)
    return h, c, {"r": r, "z": z, "n": n, "h": h}


GRU = CellSpec(
    name="gru",
    label="GRU",
    color="#009E73",
    gates=("r", "z", "n"),
    states=("r", "z", "n", "h"),
    heatmap=("r", "z", "n"),
    chunks=3,
    has_cell_state=False,
    step=step,
    fused=torch_fused(nn.GRU),
    step_grad=StepGrad(forward, backward),
    titles=(("r", "reset gate r"), ("z", "update gate z"), ("n", "candidate n")),
    unit_states=("r", "z"),
    group="classic",
)
