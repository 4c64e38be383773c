"""minLSTM (Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, "Were RNNs All We Needed?"): an LSTM without output
gate or cell state whose forget and input gates read the input alone and are normalised to sum to one.

    f_t = sigmoid(W_f x_t + b_f),  i_t = sigmoid(W_i x_t + b_i),  f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
    h~_t = g(W_h x_t + b_h),   h_t = f'_t * h_{t-1} + i'_t * h~_t,   h_0 = 0

with the paper's g (`memorybench.cells.mingru.g`) in both forms. Parameters: weight_ih (3H, I) and bias_ih (3H,)
as [f; i; h~], nn.Linear's initialisation. The scan: a_t = f'_t, b_t = i'_t h~_t, in log space: with
d = log i - log f = softplus(-k_f) - softplus(-k_i) for pre-activations k_f, k_i, log f' = -softplus(d) and
log i' = -softplus(-d) (f' = sigmoid(log f - log i): not sigmoid(k_f - k_i)).

Example:
    >>> import torch
    >>> h, c, states = step(torch.zeros(2, 3 * 2), None, torch.ones(2, 2), torch.zeros(2, 2))
    >>> h[0].tolist(), list(states)  # f' = i' = 1/2, h~ = 1/2: 1/2 * 1 + 1/2 * 1/2
    ([0.75, 0.75], ['f', 'i', 'h_tilde', 'h'])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from memorybench.cells.mingru import g, linear_init, log_g, log_linear_scan, project_input
from memorybench.cells.spec import CellSpec


def step(x_proj: torch.Tensor, h_proj, h: torch.Tensor, c: torch.Tensor):
    """x_proj (..., 3H) = [f; i; h~] pre-activations; h_proj unused (None); h, c (..., H) -> (h, c, states)."""
    k_f, k_i, v = x_proj.chunk(3, dim=-1)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    total = f + i
    h_tilde = g(v)
    h = (f / total) * h + (i / total) * h_tilde
    return h, c, {"f": f, "i": i, "h_tilde": h_tilde, "h": h}


def scan(params, x_proj: torch.Tensor) -> torch.Tensor:
    """x_proj (B, T, 3H) -> h (B, T, H), every step at once (no parameter enters after the projection)."""
    k_f, k_i, v = x_proj.chunk(3, dim=-1)
    d = F.softplus(-k_f) - F.softplus(-k_i)  # log i - log f
    return log_linear_scan(-F.softplus(d), -F.softplus(-d) + log_g(v))


def shapes(input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    return {"weight_ih": (3 * hidden_size, input_size), "bias_ih": (3 * hidden_size,)}


MINLSTM = CellSpec(
    name="minlstm",
    label="minLSTM",
    color="#D55E00",
    gates=("f", "i", "h_tilde"),
    states=("f", "i", "h_tilde", "h"),
    heatmap=("f", "i", "h_tilde", "h"),
    chunks=3,
    has_cell_state=False,
    step=step,
    fused=None,
    torch_layout=False,
    parameter_shapes=shapes,
    project_input=project_input,
    project_hidden=lambda params, h: None,
    init_torch=linear_init,
    init_book=linear_init,
    roles=(("W", ("weight_ih",)), ("b", ("bias_ih",))),
    titles=(("f", "forget gate f (input only)"), ("i", "input gate i (input only)"), ("h_tilde", "candidate g(W_h x)")),
    unit_states=("f", "i"),
    scan=scan,
    group="modern",
)
