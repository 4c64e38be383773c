"""IndRNN (Li, Li, Cook, Zhu & Gao 2018, "Independently Recurrent Neural Network (IndRNN): Building A Longer and
Deeper RNN"): every unit recurs on itself alone, through one weight of a vector u.

    h_t = relu(W x_t + u * h_{t-1} + b),   h_0 = 0

Parameters: weight_ih (H, I), u (H,), bias (H,). The paper bounds each recurrent weight so that a unit's
gradient can neither explode nor vanish over the sequence: |u| <= 2^(1/T) (T the sequence's length; for a
relu unit the gradient over T steps scales with u^T <= 2), applied after every optimizer step (`constrain`,
T the run's own number of input steps, per replica in a pack). Initialisation as the paper's section 4.1: u
~ U(0, 1), the bias 0; the input weights as torch's default U(+-1/sqrt(H)) (the paper does not fix them for
a single layer).

Example:
    >>> import torch
    >>> params = {"weight_ih": torch.zeros(2, 1), "u": torch.tensor([1.5, -3.0]), "bias": torch.zeros(2)}
    >>> constrain(params, 4)  # 2^(1/4) = 1.189...
    >>> [round(v, 3) for v in params["u"].tolist()]
    [1.189, -1.189]
    >>> h, _, states = step(torch.tensor([[1.0, -1.0]]), torch.tensor([[0.5, 0.5]]), torch.zeros(1, 2), torch.zeros(1, 2))
    >>> h.tolist(), list(states)
    ([[1.5, 0.0]], ['h'])
"""

from __future__ import annotations

import math

import torch

from memorybench.cells.spec import CellSpec


def step(x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """x_proj = W x + b, h_proj = u * h (..., H) -> (h, c, {'h'})."""
    h = torch.relu(x_proj + h_proj)
    return h, c, {"h": h}


def constrain(params, steps: int) -> None:
    """|u| <= 2^(1/steps), in place."""
    bound = 2.0 ** (1.0 / steps)
    params["u"].clamp_(-bound, bound)


def shapes(input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    return {"weight_ih": (hidden_size, input_size), "u": (hidden_size,), "bias": (hidden_size,)}


def init(params, hidden_size: int, chunks: int | None = None) -> None:
    bound = 1.0 / math.sqrt(hidden_size)
    torch.nn.init.uniform_(params["weight_ih"], -bound, bound)
    torch.nn.init.uniform_(params["u"], 0.0, 1.0)
    torch.nn.init.zeros_(params["bias"])


INDRNN = CellSpec(
    name="indrnn",
    label="IndRNN",
    color="#882255",
    gates=(),
    states=("h",),
    heatmap=("h",),
    chunks=1,
    has_cell_state=False,
    step=step,
    fused=None,
    torch_layout=False,
    parameter_shapes=shapes,
    project_input=lambda params, x: x @ params["weight_ih"].T + params["bias"],
    project_hidden=lambda params, h: params["u"] * h,
    init_torch=init,
    init_book=init,
    roles=(("W", ("weight_ih",)), ("U", ("u",)), ("b", ("bias",))),
    constrain=constrain,
    group="modern",
)
