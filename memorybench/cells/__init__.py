"""Recurrent cells: a registry of cell specs, and two executions of each.

- `fused`: the cell's torch layer (`nn.RNN` (tanh) / `nn.LSTM` / `nn.GRU`) — cuDNN or
  oneDNN kernels; the training path.
- `transparent`: `TransparentRNN`, a step-by-step loop over the same parameters
  (named as torch names them, `layer_parameters`; gate order LSTM i, f, g, o and GRU
  r, z, n, as torch packs them) that can return every gate and state at every step;
  the inspection path for heatmaps and diagnostics, and the only one for a cell
  without a fused kernel.

State dicts move between the two unchanged, so a model trained fused is inspected
transparently. A new cell is a `CellSpec` given to `register_cell`.

Example:
    >>> import torch
    >>> rnn = make_recurrent("lstm", "transparent", input_size=4, hidden_size=3)
    >>> output, (h_n, c_n) = rnn(torch.randn(2, 5, 4))  # (B, T, I) -> (B, T, H)
    >>> output.shape, sorted(rnn.trace(torch.randn(2, 5, 4)))
    (torch.Size([2, 5, 3]), ['c', 'f', 'g', 'h', 'i', 'o'])
"""

from __future__ import annotations

import torch
from torch import nn

from memorybench.cells.layers import TransparentRNN, layer_directions, layer_parameters, layer_weights
from memorybench.cells.registry import CELLS, cell_names, cells_in, get_cell, register_cell
from memorybench.cells.spec import CellSpec, Recipe, StepGrad
from memorybench.checks import check_choice

EXECUTIONS = ("fused", "transparent", "scan")  # torch's kernel, the cell's step one step at a time, its scan over time

__all__ = [
    "CELLS",
    "CellSpec",
    "EXECUTIONS",
    "Recipe",
    "TransparentRNN",
    "cell_names",
    "cells_in",
    "get_cell",
    "layer_directions",
    "StepGrad",
    "default_execution",
    "layer_parameters",
    "layer_weights",
    "make_recurrent",
    "register_cell",
]


def default_execution(cell: str | CellSpec, device: str) -> str:
    """How a cell runs unless told otherwise: its fused kernel where it has one; else on CUDA its scan over
    time where it has one, and its step one step at a time everywhere else. `device` is a RunConfig's
    (auto | cpu | cuda | cuda:N). Chosen by benchmarks/scan_speed.py: on an H200 the scan took 1-9% of
    the step form's time at T = 100 and 1000, batch 8 and 256 (results/benchmarks/scan-speed-cuda.txt);
    on the 2-core Xeon it won at batch 8 but lost 2-5x at batch 64 and 256 (scan-speed-cpu.txt).

    >>> default_execution("gru", "cuda"), default_execution("mingru", "cuda"), default_execution("mingru", "cpu")
    ('fused', 'scan', 'transparent')
    """
    spec = get_cell(cell)
    if spec.fused is not None:
        return "fused"
    on_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    return "scan" if on_cuda and spec.scan is not None else "transparent"


def make_recurrent(
    cell: str | CellSpec,
    execution: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> nn.Module:
    """A batch-first recurrent layer of `cell` (a registered name or a spec): fused, transparent or scan."""
    spec = get_cell(cell)
    check_choice("execution", execution, EXECUTIONS)
    if execution == "scan" and spec.scan is None:
        raise ValueError(f"cell {spec.name!r} has no scan over time: choose execution='transparent'")
    if execution in ("transparent", "scan"):
        return TransparentRNN(spec, input_size, hidden_size, num_layers, bidirectional, scan=execution == "scan")
    if spec.fused is None:
        raise ValueError(
            f"cell {spec.name!r} has no fused kernel and runs step by step only: choose execution='transparent'"
        )
    return spec.fused(input_size, hidden_size, num_layers, bidirectional)
