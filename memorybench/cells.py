"""Recurrent cells: one weight layout, two executions.

- `fused`: torch's `nn.RNN` (tanh) / `nn.LSTM` / `nn.GRU` — cuDNN or oneDNN kernels;
  the training path.
- `transparent`: `TransparentRNN`, a step-by-step loop over the same parameters
  (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`; gate order LSTM
  i, f, g, o and GRU r, z, n, as torch packs them) that can return every gate and
  state at every step; the inspection path for heatmaps and diagnostics.

State dicts move between the two unchanged, so a model trained fused is inspected
transparently.

Example:
    >>> import torch
    >>> rnn = make_recurrent("lstm", "transparent", input_size=4, hidden_size=3)
    >>> output, (h_n, c_n) = rnn(torch.randn(2, 5, 4))  # (B, T, I) -> (B, T, H)
    >>> output.shape, sorted(rnn.trace(torch.randn(2, 5, 4)))
    (torch.Size([2, 5, 3]), ['c', 'f', 'g', 'h', 'i', 'o'])
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .tasks.base import check_choice

GATES = {"srn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}  # torch's packing order
STATES = {"srn": ("h",), "lstm": ("i", "f", "g", "o", "c", "h"), "gru": ("r", "z", "n", "h")}  # what trace() returns
CELL_NAMES = tuple(GATES)
EXECUTIONS = ("fused", "transparent")
RNN_PARAMS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")  # one layer's parameters, either execution
FUSED = {
    "srn": lambda i, h: nn.RNN(i, h, nonlinearity="tanh", batch_first=True),
    "lstm": lambda i, h: nn.LSTM(i, h, batch_first=True),
    "gru": lambda i, h: nn.GRU(i, h, batch_first=True),
}


def num_chunks(cell: str) -> int:
    """How many hidden-size blocks the packed weights hold: SRN 1, LSTM 4, GRU 3."""
    return max(1, len(GATES[cell]))


def cell_step(cell: str, x_proj: torch.Tensor, h_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """One time step of `cell` from its input and hidden projections (biases included).

    x_proj, h_proj (..., chunks*H); h, c (..., H) — any leading dims, so one model's
    (B, .) and a stack of models' (E, B, .) step alike. Returns (h, c, states) with
    states named as in `STATES`; c passes through unchanged for SRN and GRU.
    """
    if cell == "srn":
        h = torch.tanh(x_proj + h_proj)
        return h, c, {"h": h}
    if cell == "lstm":
        pre = x_proj + h_proj
        i, f, _, o = torch.sigmoid(pre).chunk(4, dim=-1)  # one sigmoid for i, f, o (g's quarter unused)
        g = torch.tanh(pre.chunk(4, dim=-1)[2])
        c = torch.addcmul(f * c, i, g)  # f*c + i*g
        h = o * torch.tanh(c)
        return h, c, {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}
    # gru: the reset gate scales the hidden projection, bias included (torch's form)
    hidden = h.shape[-1]
    r, z = torch.sigmoid(x_proj[..., : 2 * hidden] + h_proj[..., : 2 * hidden]).chunk(2, dim=-1)
    n = torch.tanh(torch.addcmul(x_proj[..., 2 * hidden :], r, h_proj[..., 2 * hidden :]))  # xn + r*hn
    h = torch.lerp(n, h, z)  # (1-z)*n + z*h
    return h, c, {"r": r, "z": z, "n": n, "h": h}


class TransparentRNN(nn.Module):
    """A one-layer, batch-first recurrent layer computed one step at a time.

    Same call signature and return values as the fused torch layer:
    `output (B, T, H), h_n (1, B, H)` — for the LSTM `h_n` is `(h_n, c_n)`.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int):
        super().__init__()
        check_choice("cell", cell, CELL_NAMES)
        self.cell, self.input_size, self.hidden_size = cell, input_size, hidden_size
        rows = num_chunks(cell) * hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias_ih_l0 = nn.Parameter(torch.empty(rows))
        self.bias_hh_l0 = nn.Parameter(torch.empty(rows))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's default: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def _run(self, x: torch.Tensor, keep: bool):
        batch, steps, _ = x.shape
        hidden = self.hidden_size
        h = x.new_zeros(batch, hidden)  # (B, H)
        c = x.new_zeros(batch, hidden)  # (B, H), LSTM only
        x_proj = x @ self.weight_ih_l0.T + self.bias_ih_l0  # (B, T, chunks*H), all steps at once
        outputs, trace = [], {name: [] for name in STATES[self.cell]}
        for t in range(steps):
            h_proj = h @ self.weight_hh_l0.T + self.bias_hh_l0  # (B, chunks*H)
            h, c, states = cell_step(self.cell, x_proj[:, t], h_proj, h, c)
            outputs.append(h)
            if keep:
                for name, value in states.items():
                    trace[name].append(value)
        output = torch.stack(outputs, dim=1)  # (B, T, H)
        return output, h, c, {name: torch.stack(v, dim=1) for name, v in trace.items() if v}

    def forward(self, x: torch.Tensor):
        output, h, c, _ = self._run(x, keep=False)
        h_n = h.unsqueeze(0)  # (1, B, H)
        return output, ((h_n, c.unsqueeze(0)) if self.cell == "lstm" else h_n)

    @torch.no_grad()
    def trace(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every gate and state at every step: name -> (B, T, H), names as in `STATES`."""
        return self._run(x, keep=True)[3]


def make_recurrent(cell: str, execution: str, input_size: int, hidden_size: int) -> nn.Module:
    """A one-layer batch-first recurrent layer of `cell` ('srn', 'lstm', 'gru')."""
    check_choice("cell", cell, CELL_NAMES)
    check_choice("execution", execution, EXECUTIONS)
    if execution == "fused":
        return FUSED[cell](input_size, hidden_size)
    return TransparentRNN(cell, input_size, hidden_size)
