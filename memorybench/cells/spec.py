"""What a recurrent cell is: `CellSpec`, and the defaults of a cell in torch's layout.

A cell is its step, `(x_proj, h_proj, h, c) -> (h, c, states)`, plus what the
layers, the initialisations and the figures need to know about it. A cell in torch's
layout (`torch_layout=True`) has per layer and direction torch's four parameters,

    weight_ih (chunks*H, I), weight_hh (chunks*H, H), bias_ih (chunks*H,), bias_hh (chunks*H,)

with `x_proj = x @ weight_ih.T + bias_ih` and `h_proj = h @ weight_hh.T + bias_hh`.
A cell outside it (IndRNN: a recurrent vector u (H,), `h_proj = u*h + b`) declares
its own `parameter_shapes`, `project_input`, `project_hidden` and initialisations.

Example:
    >>> from memorybench.cells import get_cell
    >>> spec = get_cell("gru")
    >>> spec.label, spec.chunks, spec.shapes(input_size=5, hidden_size=2)
    ('GRU', 3, {'weight_ih': (6, 5), 'weight_hh': (6, 2), 'bias_ih': (6,), 'bias_hh': (6,)})
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

GROUPS = ("classic", "modern", "book", "plugin")  # CellSpec.group
Params = dict[str, torch.Tensor]  # one layer and direction's parameters: base name ('weight_ih', ...) -> tensor


@dataclass(frozen=True)
class StepGrad:
    """A cell's step with its backward written out, for the stacked CPU trainer's recurrence
    (`memorybench.engine.recurrence`), which runs no autograd graph through time.

    forward: (x_proj, h_proj, h, c) -> (h, c, saved): the step's own operations (its `step` is built on it),
        and what `backward` needs.
    backward: (saved, g_h, g_c, g_x) -> (g_h_proj, g_h_direct, g_c_prev): from the gradients of the step's
        new h and c (g_c None: c feeds nothing later), the gradients of its inputs: x_proj's written into
        `g_x` (a view of the input projection's gradient, where the recurrence wants it), h_proj's (`g_x`
        itself where the step only adds the two), the previous h's where the step uses it beside h_proj
        (None where it does not), and the previous c's (None for a cell without one).

    Each backward calls, on the same values, the operations torch's autograd calls for the step (its
    derivative formulas, e.g. `tanh_backward`, `sigmoid_backward`, `grad * (1 - weight)` for a lerp), so the
    gradients are autograd's bit for bit (tests/engine/test_recurrence.py, float32 and float64).
    """

    forward: Callable[..., tuple[torch.Tensor, torch.Tensor, tuple]]
    backward: Callable[..., tuple]


def torch_shapes(chunks: int, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    """torch's four parameters of one layer and direction, in its registration order."""
    rows = chunks * hidden_size
    return {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size), "bias_ih": (rows,), "bias_hh": (rows,)}


def torch_project_input(params: Params, x: torch.Tensor) -> torch.Tensor:
    """x (..., I) -> x_proj (..., chunks*H), bias included."""
    return x @ params["weight_ih"].T + params["bias_ih"]


def torch_project_hidden(params: Params, h: torch.Tensor) -> torch.Tensor:
    """h (..., H) -> h_proj (..., chunks*H), bias included."""
    return h @ params["weight_hh"].T + params["bias_hh"]


def torch_init(params: Params, hidden_size: int) -> None:
    """torch's default: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), in the order of `params`."""
    bound = 1.0 / math.sqrt(hidden_size)
    for weight in params.values():
        nn.init.uniform_(weight, -bound, bound)


def book_init(params: Params, hidden_size: int, chunks: int) -> None:
    """The NNDL book's Paddle defaults (see `memorybench.models`): Xavier-uniform for
    each gate's input and recurrent matrix, bias_ih ~ U(+-sqrt(6/(1+H))), bias_hh 0."""
    for w_ih, w_hh in zip(params["weight_ih"].chunk(chunks), params["weight_hh"].chunk(chunks)):
        nn.init.xavier_uniform_(w_ih)  # (H, I) per gate: fan_in I, fan_out H
        nn.init.xavier_uniform_(w_hh)  # (H, H) per gate
    bound = math.sqrt(6.0 / (1 + hidden_size))  # Xavier for a (1, H) Paddle parameter
    params["bias_ih"].uniform_(-bound, bound)
    params["bias_hh"].zero_()


def torch_fused(layer: type[nn.RNNBase], **options) -> Callable[[int, int, int, bool], nn.Module]:
    """A `CellSpec.fused` factory for a torch layer class: (I, H, num_layers, bidirectional) -> batch-first layer."""

    def make(input_size: int, hidden_size: int, num_layers: int, bidirectional: bool) -> nn.Module:
        return layer(input_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional, **options)

    return make


@dataclass(frozen=True)
class Recipe:
    """A training recipe a tuned horizon search tries (`memorybench horizon --tune`): the config fields it sets; a
    field left None keeps the protocol's value. Every recipe trains the protocol's init and budget.

    >>> Recipe(lr=3e-3).overrides(), Recipe(forget_bias=1.0).overrides()
    ({'lr': 0.003}, {'forget_bias': 1.0})
    """

    lr: float | None = None
    forget_bias: float | None = None  # a cell with a forget gate only

    def overrides(self) -> dict[str, float]:
        return {k: v for k, v in (("lr", self.lr), ("forget_bias", self.forget_bias)) if v is not None}


LEARNING_RATES = (3e-4, 1e-3, 3e-3, 1e-2)  # the tuned search's default grid: Adam's default and x~3 around it
DEFAULT_RECIPES = tuple(Recipe(lr=lr) for lr in LEARNING_RATES)


COMMON_TITLES = {"h": "hidden state h", "c": "cell state c"}
BOOK_ROLES = (
    ("W", ("weight_ih",)),
    ("U", ("weight_hh",)),
    ("b", ("bias", "bias_ih")),
)  # torch's layout in the book's names


@dataclass(frozen=True)
class CellSpec:
    """A recurrent cell: its step, its parameters and how to draw them, how to show it.

    name: registry key, a lowercase identifier; label, color: for tables and figures.
    gates: the chunks' names in torch's packing order (() for a one-chunk cell).
    states: the names `step` returns, in order (what `TransparentRNN.trace` returns).
    heatmap: the states a gate figure shows.
    chunks: hidden-size blocks in the weights (the rows of weight_ih are chunks*H).
    has_cell_state: the state is (h, c) and the layer returns (h_n, c_n), as the LSTM.
    step: (x_proj, h_proj, h, c) -> (h, c, states); x_proj, h_proj (..., chunks*H),
        h, c (..., H), any leading dims; c passes through for a cell without one.
    fused: (I, H, num_layers, bidirectional) -> batch-first torch layer, or None for a
        cell that runs step by step only.
    torch_layout: the parameters and projections are torch's (module docstring);
        a fused layer needs it, and so do the packed and stacked trainers.
    parameter_shapes: (I, H) -> base name -> shape of one layer and direction;
        None: torch's four.
    project_input, project_hidden: (params, x) -> x_proj, (params, h) -> h_proj.
    init_torch: (params, H) in place; init_book: (params, H, chunks) in place.
    roles: (the book's name, parameter base names) pairs: which parameters the gradient-explosion experiment
        logs as the input weights W, recurrent weights U and bias b (torch's layout: weight_ih, weight_hh, bias_ih).
    titles: (state, title) pairs for the gate figures ('h' and 'c' have common ones); unit_states: the
        states drawn on a 0..1 scale (sigmoid gates), every other around 0.
    cpu_min_pack: the smallest stacked pack that trains faster per run than one run at a time on
        a CPU (the engine's default packing reads it; benchmarks/README.md has the measurements).
    scan: for a cell whose recurrence is linear in h with coefficients from the input alone (minGRU,
        minLSTM, LRU): (params, x_proj (B, T, chunks*H)) -> states h (B, T, S) from h_0 = 0, all steps at
        once (execution 'scan'); equal to running `step` (tested in float64). None: step by step only.
    state_factor: the state h holds state_factor*H numbers (the LRU: H complex units as 2H reals); 1 for the
        others (the LSTM's c is `has_cell_state`).
    readout: (params, h (B, T, S), x (B, T, I)) -> the layer's output (B, T, H) where it is not h itself (the
        LRU's Re(C h) + D x and its GLU); h_n is then the last step's output.
    constrain: (params, T) -> None, in place, after every optimizer step (IndRNN's |u| <= 2^(1/T), T the
        run's own number of input steps); a layout that cannot apply it refuses the pack.
    step_grad: the step with its backward written out (`StepGrad`), for a cell in torch's layout; None: the
        stacked trainer runs autograd through time.
    group: where the command offers it (one of GROUPS): 'classic' (SRN, LSTM, GRU: a sweep's default cells),
        'modern' (the recent recurrent cells; `--cells all` is the classic and modern ones), 'book' (a cell of one
        of the book's experiments, not compared by default), 'plugin' (a user's cell: named to be trained).
    recipes: the training recipes a tuned horizon search tries for the cell beside the protocol's own (`Recipe`;
        default the four learning rates of LEARNING_RATES; the LSTM adds forget-gate bias 1); a plugin declares its own.
    version: the definition's version, hashed into every run id above 1: bump it when a change to the cell changes
        what its runs compute (its step, initialisation or read-out), so a sweep retrains its runs instead of
        counting the old ones as complete; the old runs stay readable under their ids.
    """

    name: str
    label: str
    color: str
    gates: tuple[str, ...]
    states: tuple[str, ...]
    heatmap: tuple[str, ...]
    chunks: int
    has_cell_state: bool
    step: Callable[..., tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]]
    fused: Callable[[int, int, int, bool], nn.Module] | None
    torch_layout: bool = True
    parameter_shapes: Callable[[int, int], dict[str, tuple[int, ...]]] | None = None
    project_input: Callable[[Params, torch.Tensor], torch.Tensor] = torch_project_input
    project_hidden: Callable[[Params, torch.Tensor], torch.Tensor] = torch_project_hidden
    init_torch: Callable[[Params, int], None] = torch_init
    init_book: Callable[[Params, int, int], None] = book_init
    roles: tuple[tuple[str, tuple[str, ...]], ...] = BOOK_ROLES
    titles: tuple[tuple[str, str], ...] = ()
    unit_states: tuple[str, ...] = ()
    cpu_min_pack: int = 2
    scan: Callable[[Params, torch.Tensor], torch.Tensor] | None = None
    constrain: Callable[[Params, int], None] | None = None
    state_factor: int = 1
    readout: Callable[[Params, torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    step_grad: StepGrad | None = None
    group: str = "plugin"
    recipes: tuple[Recipe, ...] = DEFAULT_RECIPES
    version: int = 1

    def __post_init__(self):
        if self.group not in GROUPS:
            raise ValueError(
                f"cell {self.name!r}: group={self.group!r} is not allowed; choose one of {', '.join(GROUPS)}"
            )
        if self.gates and len(self.gates) != self.chunks:
            raise ValueError(f"cell {self.name!r}: {len(self.gates)} gates for {self.chunks} chunks")
        if not set(self.heatmap) <= set(self.states):
            raise ValueError(f"cell {self.name!r}: heatmap {self.heatmap} names states it does not have {self.states}")
        custom = self.parameter_shapes is not None or (self.project_input, self.project_hidden) != (
            torch_project_input,
            torch_project_hidden,
        )
        if self.torch_layout and custom:
            raise ValueError(f"cell {self.name!r} declares its own parameters or projections: set torch_layout=False")
        if self.fused is not None and not self.torch_layout:
            raise ValueError(f"cell {self.name!r}: a fused torch layer has torch's layout; set fused=None")
        if any(r.forget_bias is not None for r in self.recipes) and "f" not in self.gates:
            raise ValueError(f"cell {self.name!r}: a recipe sets forget_bias, but the cell has no forget gate 'f'")
        if self.step_grad is not None and not self.torch_layout:
            raise ValueError(
                f"cell {self.name!r}: a written-out backward (step_grad) needs torch's layout; set step_grad=None"
            )

    def role(self, base: str) -> str | None:
        """The book's name ('W', 'U', 'b') of a parameter base name ('weight_hh'), None for one without a role."""
        return next((role for role, bases in self.roles if base in bases), None)

    def state_size(self, hidden_size: int) -> int:
        """How many numbers one layer and direction's state carries from step to step: H, 2H for the LSTM's (h, c)
        and the LRU's H complex units. Memory capacity is bounded by it.

        Examples:
            >>> from memorybench.cells import get_cell
            >>> [get_cell(c).state_size(32) for c in ("srn", "lstm", "gru")]
            [32, 64, 32]
        """
        return hidden_size * self.state_factor * (2 if self.has_cell_state else 1)

    def title(self, state: str) -> str:
        """The gate figures' title of `state`: 'forget gate f', 'hidden state h', or the name itself."""
        return dict(self.titles).get(state) or COMMON_TITLES.get(state, state)

    def shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        """Base name -> shape of one layer and direction's parameters, in registration order."""
        if self.parameter_shapes is None:
            return torch_shapes(self.chunks, input_size, hidden_size)
        return self.parameter_shapes(input_size, hidden_size)

    def base_names(self) -> tuple[str, ...]:
        """The base names of one layer and direction's parameters ('weight_ih', ...); they do not depend on the sizes."""
        return tuple(self.shapes(1, 1))
