"""minGRU (Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, "Were RNNs All We Needed?"): a GRU whose gate and
candidate read the input alone, so that the recurrence is linear in h and runs as a scan over time.

    z_t = sigmoid(W_z x_t + b_z),   h~_t = g(W_h x_t + b_h),   h_t = (1 - z_t) * h_{t-1} + z_t * h~_t,   h_0 = 0

with the paper's g(v) = v + 1/2 for v >= 0 and sigmoid(v) below, which keeps h~ > 0 so that the scan can run in
log space; the step form applies the same g (public implementations differ on it, and on h_0: here both forms use
g and start from h_0 = 0). Parameters: weight_ih (2H, I) and bias_ih (2H,) as [z; h~], initialised like torch's
nn.Linear (the paper's code builds the projections from nn.Linear). No recurrent weights: a minGRU has
I*2H + 2H parameters where a GRU has 3H(I + H + 2).

The scan (`scan`, execution 'scan'): h_t = a_t h_{t-1} + b_t with a_t = 1 - z_t and b_t = z_t h~_t, all positive,
so log h_t = A_t + logcumsumexp_k(log b_k - A_k), A_t = sum of log a up to t (Heinsen 2023's log-space scan).

Example:
    >>> import torch
    >>> h, c, states = step(torch.zeros(2, 2 * 3), None, torch.ones(2, 3), torch.zeros(2, 3))
    >>> h[0].tolist(), list(states)  # z = 1/2, h~ = g(0) = 1/2: (1 - 1/2) * 1 + 1/2 * 1/2
    ([0.75, 0.75, 0.75], ['z', 'h_tilde', 'h'])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from memorybench.cells.spec import CellSpec


def g(v: torch.Tensor) -> torch.Tensor:
    """The paper's positive activation: v + 1/2 for v >= 0, sigmoid(v) below (continuous at 0)."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def log_g(v: torch.Tensor) -> torch.Tensor:
    """log g(v), computed without forming g: log(relu(v) + 1/2) for v >= 0, -softplus(-v) below."""
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -F.softplus(-v))


def step(x_proj: torch.Tensor, h_proj, h: torch.Tensor, c: torch.Tensor):
    """x_proj (..., 2H) = [z; h~] pre-activations; h_proj unused (None); h, c (..., H) -> (h, c, states)."""
    k, v = x_proj.chunk(2, dim=-1)
    z, h_tilde = torch.sigmoid(k), g(v)
    h = torch.lerp(h, h_tilde, z)  # (1 - z) * h + z * h~
    return h, c, {"z": z, "h_tilde": h_tilde, "h": h}


def log_linear_scan(log_a: torch.Tensor, log_b: torch.Tensor) -> torch.Tensor:
    """h (B, T, H) of h_t = a_t h_{t-1} + b_t from h_0 = 0, given log a and log b (B, T, H), in log space."""
    a_star = torch.cumsum(log_a, dim=1)  # (B, T, H)
    return torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))


def scan(params, x_proj: torch.Tensor) -> torch.Tensor:
    """x_proj (B, T, 2H) -> h (B, T, H), every step at once (no parameter enters after the projection)."""
    k, v = x_proj.chunk(2, dim=-1)
    return log_linear_scan(-F.softplus(k), -F.softplus(-k) + log_g(v))  # log(1 - z), log z + log h~


def shapes(input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    return {"weight_ih": (2 * hidden_size, input_size), "bias_ih": (2 * hidden_size,)}


def project_input(params, x: torch.Tensor) -> torch.Tensor:
    return x @ params["weight_ih"].T + params["bias_ih"]


def linear_init(params, hidden_size: int, chunks: int | None = None) -> None:
    """nn.Linear's default: weight and bias ~ U(+-1/sqrt(fan_in)), fan_in = the input size."""
    bound = 1.0 / math.sqrt(params["weight_ih"].shape[1])
    for tensor in params.values():
        torch.nn.init.uniform_(tensor, -bound, bound)


MINGRU = CellSpec(
    name="mingru",
    label="minGRU",
    color="#56B4E9",
    gates=("z", "h_tilde"),
    states=("z", "h_tilde", "h"),
    heatmap=("z", "h_tilde", "h"),
    chunks=2,
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
    titles=(("z", "update gate z (input only)"), ("h_tilde", "candidate g(W_h x)")),
    unit_states=("z",),
    scan=scan,
    group="modern",
)
