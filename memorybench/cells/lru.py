"""The Linear Recurrent Unit (Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De 2023, "Resurrecting Recurrent
Neural Networks for Long Sequences"): a diagonal complex linear recurrence, read out through a nonlinear gate.

    s_t = lambda * s_{t-1} + gamma * (B x_t),  s_0 = 0      (H complex units)
    y_t = Re(C s_t) + D x_t,   out_t = (W_a y_t + b_a) * sigmoid(W_g y_t + b_g)   (the paper's GLU read-out)

lambda = exp(-exp(nu) + i exp(theta)) keeps |lambda| < 1 whatever nu and theta are trained to; |lambda| starts
uniform on the ring [R_MIN, R_MAX] (|lambda|^2 uniform between the squares, as the paper's code draws it) and its
phase uniform in [0, MAX_PHASE]; gamma = sqrt(1 - |lambda|^2) normalises each unit's input (stored as log gamma and
trained, as in the paper). B (H x I complex) ~ N(0, 1/(2I)) per real and imaginary part, C (H x H complex) ~
N(0, 1/(2H)), D (H x I) ~ N(0, 1/I); the GLU's weights as nn.Linear's. The state is 2H reals ([Re s; Im s]), the
GLU read-out between the layer and the head is part of the cell (its parameters are counted with it). The paper's
settings for its long-range tasks: R_MIN = 0.9, R_MAX = 0.999, MAX_PHASE = pi/10 (its section 3.3 and appendix).

`step` advances one step; `scan` computes every step at once by doubling (s_t += lambda^d s_{t-d} for
d = 1, 2, 4, ...: log2(T) batched complex multiplies, stable since |lambda^d| <= 1), equal to the step form.

Example:
    >>> import torch
    >>> x_proj, h = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])  # H = 1: x_proj = 1 + 0i, s = 0 + 1i
    >>> params = {"nu_log": torch.tensor([0.0]), "theta_log": torch.tensor([math.log(math.pi / 2)])}
    >>> h_proj = project_hidden(params, h)  # lambda = exp(-1) i: lambda * i = -exp(-1)
    >>> [round(v, 4) + 0.0 for v in step(x_proj, h_proj, h, h)[0][0].tolist()]  # s = 1 - exp(-1) + 0i
    [0.6321, 0.0]
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from memorybench.cells.spec import CellSpec

R_MIN, R_MAX, MAX_PHASE = 0.9, 0.999, math.pi / 10


def eigenvalues(params) -> tuple[torch.Tensor, torch.Tensor]:
    """(Re lambda, Im lambda), each (H,)."""
    modulus, phase = torch.exp(-torch.exp(params["nu_log"])), torch.exp(params["theta_log"])
    return modulus * torch.cos(phase), modulus * torch.sin(phase)


def project_input(params, x: torch.Tensor) -> torch.Tensor:
    """x (..., I) -> gamma * (B x) as [Re; Im] (..., 2H)."""
    gamma = torch.exp(params["gamma_log"])
    return torch.cat([(x @ params["B_re"].T) * gamma, (x @ params["B_im"].T) * gamma], dim=-1)


def project_hidden(params, h: torch.Tensor) -> torch.Tensor:
    """h = [Re s; Im s] (..., 2H) -> lambda * s as [Re; Im]."""
    re, im = h.chunk(2, dim=-1)
    lam_re, lam_im = eigenvalues(params)
    return torch.cat([lam_re * re - lam_im * im, lam_re * im + lam_im * re], dim=-1)


def step(x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """s_t = lambda s_{t-1} + gamma B x_t: x_proj, h_proj, h (..., 2H) -> (h, c, {'h_re', 'h_im'})."""
    h = h_proj + x_proj
    re, im = h.chunk(2, dim=-1)
    return h, c, {"h_re": re, "h_im": im}


def scan(params, x_proj: torch.Tensor) -> torch.Tensor:
    """x_proj (B, T, 2H) -> every state [Re s; Im s] (B, T, 2H) from s_0 = 0, by doubling."""
    re, im = x_proj.chunk(2, dim=-1)
    s = torch.complex(re, im)  # (B, T, H)
    lam_re, lam_im = eigenvalues(params)
    power = torch.complex(lam_re, lam_im)  # lambda^d, d = 1, 2, 4, ...
    d, steps = 1, s.shape[1]
    while d < steps:
        s = torch.cat([s[:, :d], s[:, d:] + power * s[:, :-d]], dim=1)
        power, d = power * power, 2 * d
    return torch.cat([s.real, s.imag], dim=-1)


def readout(params, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """h (B, T, 2H), x (B, T, I) -> the GLU of y = Re(C s) + D x (B, T, H)."""
    re, im = h.chunk(2, dim=-1)
    y = re @ params["C_re"].T - im @ params["C_im"].T + x @ params["D"].T
    value, gate = F.linear(y, params["glu_weight"], params["glu_bias"]).chunk(2, dim=-1)
    return value * torch.sigmoid(gate)


def shapes(input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    h, i = hidden_size, input_size
    return {
        "nu_log": (h,),
        "theta_log": (h,),
        "gamma_log": (h,),
        "B_re": (h, i),
        "B_im": (h, i),
        "C_re": (h, h),
        "C_im": (h, h),
        "D": (h, i),
        "glu_weight": (2 * h, h),
        "glu_bias": (2 * h,),
    }


@torch.no_grad()
def init(params, hidden_size: int, chunks: int | None = None) -> None:
    """The paper's initialisation (module docstring), drawn from torch's generator in the order of `shapes`."""
    u1, u2 = torch.rand(hidden_size), torch.rand(hidden_size)
    nu = -0.5 * torch.log(u1 * (R_MAX**2 - R_MIN**2) + R_MIN**2)  # -log |lambda|, |lambda|^2 uniform on the ring
    params["nu_log"].copy_(torch.log(nu))
    params["theta_log"].copy_(torch.log(MAX_PHASE * u2).clamp(min=-30.0))
    params["gamma_log"].copy_(0.5 * torch.log(1 - torch.exp(-2 * nu)))  # log sqrt(1 - |lambda|^2)
    inputs = params["B_re"].shape[1]
    for name, variance in (
        ("B_re", 1 / (2 * inputs)),
        ("B_im", 1 / (2 * inputs)),
        ("C_re", 1 / (2 * hidden_size)),
        ("C_im", 1 / (2 * hidden_size)),
        ("D", 1 / inputs),
    ):
        params[name].normal_(0.0, math.sqrt(variance))
    bound = 1.0 / math.sqrt(hidden_size)
    params["glu_weight"].uniform_(-bound, bound)
    params["glu_bias"].uniform_(-bound, bound)


LRU = CellSpec(
    name="lru",
    label="LRU",
    color="#332288",
    gates=(),
    states=("h_re", "h_im"),
    heatmap=("h_re", "h_im"),
    chunks=2,
    has_cell_state=False,
    step=step,
    fused=None,
    torch_layout=False,
    parameter_shapes=shapes,
    project_input=project_input,
    project_hidden=project_hidden,
    init_torch=init,
    init_book=init,
    roles=(("W", ("B_re", "B_im")), ("U", ("nu_log", "theta_log"))),
    titles=(("h_re", "state Re s"), ("h_im", "state Im s")),
    scan=scan,
    state_factor=2,
    readout=readout,
    group="modern",
)
