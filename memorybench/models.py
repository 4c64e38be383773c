"""The model: embedding -> recurrent layers -> linear read-out.

For a token task: Embedding(vocab, M) -> recurrent(M -> H, h0 = 0) -> Linear(H, C) on
the last hidden state (or on every state, for a per-step task). With `num_layers` > 1
the recurrent layers stack as torch stacks them; a `bidirectional` model reads out D*H
features (D = 2): per step the two directions' states there, per sequence each
direction's final state (the forward one after the last step, the reverse one after
the first). Two initialisations, the same for every cell (see `CellSpec.init_book`,
`CellSpec.init_torch`):

- `book`: the NNDL book's Paddle defaults. Xavier-uniform for the embedding, for each
  gate's input and recurrent matrices separately (the book keeps one (M, H) and one
  (H, H) matrix per gate) and for each gate's (1, H) bias, i.e. U(+-sqrt(6/(1+H)));
  the read-out weight Xavier-uniform, its bias 0. torch's layer has two bias vectors
  where the book has one: `bias_ih` gets the book's draw and `bias_hh` starts at 0,
  so their sum, which is what the cell adds, is distributed as the book's bias.
  Every layer and direction is drawn the same way, in torch's order (l0, l0_reverse, l1, ...).
- `torch`: torch's own defaults (U(+-1/sqrt(H)) for recurrent weights and biases,
  N(0, 1) embedding, Kaiming-uniform read-out).

`softmax_before_loss` makes the model output probabilities (a softmax layer after the
read-out), as the seed posts' MNIST classifier does before its cross-entropy loss, which
applies a softmax of its own: kept, and named, for a faithful reproduction
(protocol `mnist-seed`); `mnist-seed-sound` trains the same model on the logits.

`forget_bias` (LSTM only) sets the forget gate's total bias to a constant after
initialisation (Jozefowicz et al. 2015 use 1.0); the book sets none.

Example:
    >>> from memorybench.tasks import get_task
    >>> model = build_model(get_task("nndl"), "lstm", init="book", seed=0)
    >>> count_parameters(model)
    9395
    >>> model(torch.zeros(8, 10, dtype=torch.long)).shape  # (B, T) -> (B, 19)
    torch.Size([8, 19])
"""

from __future__ import annotations

import torch
from torch import nn

from memorybench.cells import default_execution, get_cell, layer_weights, make_recurrent
from memorybench.checks import check_choice
from memorybench.tasks import get_task, split_seed
from memorybench.tasks.base import TaskSpec

INITS = ("book", "torch")


class SequenceModel(nn.Module):
    def __init__(
        self,
        task: TaskSpec,
        cell: str,
        execution: str = "fused",
        embedding_size: int = 32,
        hidden_size: int = 32,
        num_layers: int = 1,
        bidirectional: bool = False,
        softmax_before_loss: bool = False,
    ):
        super().__init__()
        self.softmax_before_loss = softmax_before_loss
        self.spec = get_cell(cell)
        self.cell = self.spec.name
        if task.input_kind == "tokens":
            self.embedding = nn.Embedding(task.input_size, embedding_size)
            rnn_input = embedding_size
        else:
            self.embedding = nn.Identity()
            rnn_input = task.input_size
        self.rnn = make_recurrent(self.spec, execution, rnn_input, hidden_size, num_layers, bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), task.output_size)
        self.per_step = task.output_kind == "class_per_step"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(self.embedding(x))  # (B, T) -> (B, T, M) -> (B, T, D*H)
        logits = self.head(
            states if self.per_step else final_states(states, self.rnn.bidirectional)
        )  # (B, T, C) or (B, C)
        return logits.softmax(-1) if self.softmax_before_loss else logits


def final_states(states: torch.Tensor, bidirectional: bool) -> torch.Tensor:
    """states (B, T, D*H) -> (B, D*H): each direction's state after reading the whole sequence."""
    if not bidirectional:
        return states[:, -1]
    forward, backward = states.chunk(2, dim=-1)  # (B, T, H) each
    return torch.cat([forward[:, -1], backward[:, 0]], dim=-1)


@torch.no_grad()
def init_book_(model: SequenceModel) -> None:
    """The book's initialisation (see module docstring); uses torch's global RNG."""
    if isinstance(model.embedding, nn.Embedding):
        nn.init.xavier_uniform_(model.embedding.weight)
    for params in layer_weights(model.rnn, model.spec):
        model.spec.init_book(params, model.rnn.hidden_size, model.spec.chunks)
    nn.init.xavier_uniform_(model.head.weight)
    model.head.bias.zero_()


@torch.no_grad()
def set_forget_bias_(model: SequenceModel, value: float) -> None:
    """Make the forget gate's total bias (bias_ih + bias_hh) equal `value` in every layer and direction."""
    if "f" not in model.spec.gates:
        raise ValueError(f"forget_bias applies to cells with a forget gate (lstm), not {model.cell!r}")
    hidden = model.rnn.hidden_size
    forget = model.spec.gates.index("f")
    for params in layer_weights(model.rnn, model.spec):
        params["bias_ih"][forget * hidden : (forget + 1) * hidden] = value
        params["bias_hh"][forget * hidden : (forget + 1) * hidden] = 0.0


def build_model(
    task: TaskSpec,
    cell: str,
    *,
    execution: str | None = None,
    embedding_size: int = 32,
    hidden_size: int = 32,
    num_layers: int = 1,
    bidirectional: bool = False,
    softmax_before_loss: bool = False,
    init: str = "book",
    forget_bias: float | None = None,
    seed: int = 0,
) -> SequenceModel:
    """A freshly initialised model; a pure function of its arguments (the global RNG is left untouched).
    `execution` defaults to the cell's on the CPU (`cells.default_execution`): 'fused' where it has a fused kernel, else 'transparent'."""
    check_choice("init", init, INITS)
    execution = execution or default_execution(cell, "cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SequenceModel(
            task, cell, execution, embedding_size, hidden_size, num_layers, bidirectional, softmax_before_loss
        )
        if init == "book":
            init_book_(model)
    if forget_bias is not None:
        set_forget_bias_(model, forget_bias)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_for(config, task: TaskSpec | None = None, execution: str | None = None) -> SequenceModel:
    """The freshly initialised model of a run (a `RunConfig`; the init seed is derived from the run seed)."""
    return build_model(
        task or get_task(config.task),
        config.cell,
        execution=execution or config.execution,
        embedding_size=config.embedding_size,
        hidden_size=config.hidden_size,
        init=config.init,
        forget_bias=config.forget_bias,
        seed=split_seed(config.seed, "train", 0),
        softmax_before_loss=config.softmax_before_loss,
        **config.layer_options(),
    )


def checkpoint_writer(state_dict: dict | None):
    """What `ResultsStore.place` and `save_run` take to write best-dev weights: a function of the path, or None."""
    return None if state_dict is None else (lambda path: torch.save(state_dict, path))
