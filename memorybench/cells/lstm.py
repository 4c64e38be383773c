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

from memorybench.cells.spec import DEFAULT_RECIPES, CellSpec, Recipe, StepGrad, torch_fused

sigmoid_backward, tanh_backward = (
    torch.ops.aten.sigmoid_backward,
    torch.ops.aten.tanh_backward,
)  # autograd's own; .grad_input writes into a given tensor


def forward(x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """x_proj, h_proj (..., 4H); h, c (..., H) -> (h, c, saved): the step, and what `backward` needs."""
    pre = x_proj + h_proj
    gates = torch.sigmoid(pre)  # one sigmoid for i, f, o (g's quarter unused)
    i, f, _, o = gates.chunk(4, dim=-1)
    g = torch.tanh(pre.chunk(4, dim=-1)[2])
    c_new = torch.addcmul(f * c, i, g)  # f*c + i*g
    tanh_c = torch.tanh(c_new)
    h = o * tanh_c
    return h, c_new, (c, gates, i, f, g, o, tanh_c)


def backward(saved, g_h: torch.Tensor, g_c: torch.Tensor | None, g_x: torch.Tensor):
    """The gradients of `forward`'s inputs, as autograd computes them (`StepGrad`): x_proj's written into `g_x`,
    which is h_proj's too; -> (g_x, None, g_c_prev)."""
    c, gates, i, f, g, o, tanh_c = saved
    H = g.shape[-1]
    g_c_new = tanh_backward(g_h * o, tanh_c)  # h = o * tanh(c)
    if g_c is not None:
        g_c_new = g_c_new + g_c  # and c's use in the next step
    torch.mul(g_c_new, g, out=g_x[..., :H])  # the sigmoid's output gradient: i's (c = f*c + i*g),
    torch.mul(g_c_new, c, out=g_x[..., H : 2 * H])  # f's,
    torch.mul(g_h, tanh_c, out=g_x[..., 3 * H :])  # o's (g's quarter: whatever, written below)
    sigmoid_backward.grad_input(g_x, gates, grad_input=g_x)
    tanh_backward.grad_input(g_c_new * i, g, grad_input=g_x[..., 2 * H : 3 * H])  # g's quarter: the tanh's alone
    return g_x, None, g_c_new * f


def step(x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """x_proj, h_proj (..., 4H); h, c (..., H) -> (h, c, {'i', 'f', 'g', 'o', 'c', 'h'})."""
    h, c, (_, _, i, f, g, o, _) = forward(x_proj, h_proj, h, c)
    return h, c, {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}


LSTM = CellSpec(
    name="lstm",
    label="LSTM",
    color="#0072B2",
    gates=("i", "f", "g", "o"),
    states=("i", "f", "g", "o", "c", "h"),
    heatmap=("i", "f", "o", "c"),
    chunks=4,
    has_cell_state=True,
    step=step,
    fused=torch_fused(nn.LSTM),
    step_grad=StepGrad(forward, backward),
    titles=(("i", "input gate i"), ("f", "forget gate f"), ("o", "output gate o")),
    unit_states=("i", "f", "o"),
    cpu_min_pack=6,  # oneDNN's fused LSTM is as fast per run as a stacked pack of 5 at L=30 (benchmarks/README.md)
    group="classic",
    recipes=DEFAULT_RECIPES
    + (Recipe(forget_bias=1.0),),  # forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015)
)
