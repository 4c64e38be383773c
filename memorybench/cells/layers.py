"""Recurrent layers computed one step at a time ("transparent"), for any `CellSpec`.

`TransparentRNN` has the parameters of torch's fused layer, named as torch names them
(`layer_parameters`), and returns what it returns, so state dicts move between the
two unchanged; it can also return every gate and state at every step (`trace`).

Example:
    >>> import torch
    >>> rnn = TransparentRNN("gru", input_size=4, hidden_size=3, num_layers=2, bidirectional=True)
    >>> output, h_n = rnn(torch.randn(2, 5, 4))
    >>> output.shape, h_n.shape  # (B, T, 2H), (num_layers*2, B, H)
    (torch.Size([2, 5, 6]), torch.Size([4, 2, 3]))
    >>> layer_parameters("gru", layer=1, reverse=True)
    ('weight_ih_l1_reverse', 'weight_hh_l1_reverse', 'bias_ih_l1_reverse', 'bias_hh_l1_reverse')
"""

from __future__ import annotations

import torch
from torch import nn

from memorybench.cells.registry import get_cell
from memorybench.cells.spec import CellSpec


def layer_parameters(cell: str | CellSpec, layer: int = 0, reverse: bool = False) -> tuple[str, ...]:
    """The recurrent layer's parameter names of one layer and direction, as torch names them."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return tuple(base + suffix for base in get_cell(cell).base_names())


def layer_directions(num_layers: int, bidirectional: bool) -> list[tuple[int, bool]]:
    """(layer, reverse) of every layer and direction, in torch's order: l0, l0_reverse, l1, ..."""
    return [
        (layer, reverse) for layer in range(num_layers) for reverse in ((False, True) if bidirectional else (False,))
    ]


def layer_weights(rnn: nn.Module, cell: str | CellSpec) -> list[dict[str, nn.Parameter]]:
    """Each layer and direction's parameters of a fused or transparent layer, base name ->
    parameter, in torch's order (the entry of layer l, direction d is at l*D + d)."""
    spec = get_cell(cell)
    return [
        {base: getattr(rnn, name) for base, name in zip(spec.base_names(), layer_parameters(spec, layer, reverse))}
        for layer, reverse in layer_directions(rnn.num_layers, rnn.bidirectional)
    ]


class TransparentRNN(nn.Module):
    """A batch-first recurrent layer of any cell, computed one step at a time.

    Returns what torch's fused layer returns: `output (B, T, D*H)` (the last layer's
    states, forward then reverse direction) and `h_n (num_layers*D, B, H)` — for a cell
    with a cell state `(h_n, c_n)`. D = 2 if bidirectional, else 1.
    """

    def __init__(
        self,
        cell: str | CellSpec,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        scan: bool = False,
    ):
        super().__init__()
        self.spec = get_cell(cell)
        if scan and self.spec.scan is None:
            raise ValueError(f"cell {self.spec.name!r} has no scan over time")
        self.scan = scan  # every step at once through the cell's scan (traces still step, for the gates)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bidirectional = num_layers, bidirectional
        for layer, reverse in layer_directions(num_layers, bidirectional):
            layer_input = input_size if layer == 0 else hidden_size * (2 if bidirectional else 1)
            shapes = self.spec.shapes(layer_input, hidden_size)
            for name, shape in zip(layer_parameters(self.spec, layer, reverse), shapes.values()):
                self.register_parameter(name, nn.Parameter(torch.empty(shape)))
        self.reset_parameters()

    def extra_repr(self) -> str:
        return (
            f"{self.spec.name}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bidirectional={self.bidirectional}"
            + (", scan" if self.scan else "")
        )

    @torch.no_grad()
    def constrain_(self, steps: int) -> None:
        """The cell's constraint after an optimizer step (`CellSpec.constrain`), for a run of `steps` input steps."""
        if self.spec.constrain is not None:
            for params in layer_weights(self, self.spec):
                self.spec.constrain(params, steps)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The cell's torch-style initialisation (`CellSpec.init_torch`) of every layer and direction, in torch's order."""
        for params in layer_weights(self, self.spec):
            self.spec.init_torch(params, self.hidden_size)

    def _direction(self, params: dict[str, nn.Parameter], x: torch.Tensor, reverse: bool, keep: bool):
        """One layer and direction over x (B, T, I): (output (B, T, H), h, c (B, H), trace name -> (B, T, H))."""
        if reverse:
            x = x.flip(1)  # the reverse direction reads the sequence backwards
        batch = x.shape[0]
        h = x.new_zeros(
            batch, self.spec.state_factor * self.hidden_size
        )  # (B, S): S = H, or 2H for the LRU's complex state
        c = x.new_zeros(batch, self.hidden_size)  # (B, H), used by a cell with a cell state only
        if self.scan and not keep:
            states = self.spec.scan(params, self.spec.project_input(params, x))  # (B, T, S)
            output = states if self.spec.readout is None else self.spec.readout(params, states, x)
            return (output.flip(1) if reverse else output), output[:, -1], c, {}
        # all steps' input projections at once, split into T views (B, chunks*H): the backward of each view
        # writes into its own slice, where indexing x_proj[:, t] in the loop would add a full (B, T, chunks*H)
        # zero tensor per step (time and memory growing as T²)
        x_steps = self.spec.project_input(params, x).unbind(1)
        outputs, trace = [], {name: [] for name in self.spec.states}
        for x_t in x_steps:
            h_proj = self.spec.project_hidden(params, h)  # (B, chunks*H)
            h, c, states = self.spec.step(x_t, h_proj, h, c)
            outputs.append(h)
            if keep:
                for name, value in states.items():
                    trace[name].append(value)
        output = torch.stack(outputs, dim=1)  # (B, T, S)
        if self.spec.readout is not None:
            output = self.spec.readout(params, output, x)  # (B, T, H)
            h = output[:, -1]
        trace = {name: torch.stack(v, dim=1) for name, v in trace.items() if v}
        if reverse:
            output, trace = output.flip(1), {name: v.flip(1) for name, v in trace.items()}
        return output, h, c, trace

    def _run(self, x: torch.Tensor, keep: tuple[int, bool] | None = None):
        """Every layer over x (B, T, I): (output (B, T, D*H), hs, cs (each B, H) in torch's
        order, the trace of layer and direction `keep`)."""
        hs, cs, trace = [], [], {}
        weights = layer_weights(self, self.spec)
        directions = 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            outputs = []
            for reverse, params in zip((False, True), weights[layer * directions : (layer + 1) * directions]):
                kept = keep == (layer, reverse)
                output, h, c, states = self._direction(params, x, reverse, kept)
                outputs.append(output)
                hs.append(h)
                cs.append(c)
                if kept:
                    trace = states
            x = torch.cat(outputs, dim=-1)  # (B, T, D*H), the next layer's input
        return x, hs, cs, trace

    def forward(self, x: torch.Tensor):
        output, hs, cs, _ = self._run(x)
        h_n = torch.stack(hs)  # (num_layers*D, B, H)
        return output, ((h_n, torch.stack(cs)) if self.spec.has_cell_state else h_n)

    @torch.no_grad()
    def trace(self, x: torch.Tensor, layer: int = -1, reverse: bool = False) -> dict[str, torch.Tensor]:
        """Every gate and state at every step of one layer (default the last) and one
        direction (default forward; `reverse=True` for the backward direction of a
        bidirectional layer): name -> (B, T, H), names as in the spec's `states`."""
        if not -self.num_layers <= layer < self.num_layers:
            raise ValueError(f"layer={layer} is not allowed; this layer stack has {self.num_layers} layer(s)")
        if reverse and not self.bidirectional:
            raise ValueError("reverse=True needs a bidirectional layer")
        return self._run(x, keep=(layer % self.num_layers, reverse))[3]
