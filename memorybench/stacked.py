"""E models of one cell stacked along a leading dimension, stepped with batched matmuls.

The other packing layout (see `memorybench.packed` for block-diagonal packing). Every
parameter gets a leading model dimension E; each time step is one batched matmul
(`baddbmm`) for all E recurrent projections and one set of elementwise ops
(`memorybench.cells.cell_step`) for all E models. The work grows as E, not E**2 as in
a block-diagonal layer, and the number of operations per step does not grow at all —
which is what pays on a CPU at the book's sizes, where each of the many small
operations of a training step costs more in dispatch than in arithmetic. Models never
share a number, so no gradient masking is needed; each model's gradient is the
gradient of its own mean loss, and packed runs match single runs to float tolerance.

Layout (E models, chunks = gates per cell, H hidden, M embedding, V vocabulary, C classes):
    embedding (E, V, M); weight_ih (E, chunks*H, M); weight_hh (E, chunks*H, H);
    bias_ih, bias_hh (E, chunks*H); head_weight (E, C, H); head_bias (E, C)

Example:
    >>> from memorybench.models import build_model
    >>> from memorybench.tasks import get_task
    >>> models = [build_model(get_task("nndl"), "gru", seed=s) for s in range(3)]
    >>> stacked = StackedModel(models)
    >>> x = torch.randint(0, 10, (3, 8, 12))  # (E, B, T): each model its own batch
    >>> logits = stacked(x)  # (E, B, C)
    >>> torch.allclose(logits[2], models[2](x[2]), atol=1e-6)
    True
"""
from __future__ import annotations

import torch
from torch import nn

from .cells import RNN_PARAMS, cell_step
from .models import SequenceModel
from .packed import last_states, lookup


class StackedModel(nn.Module):
    def __init__(self, models: list[SequenceModel]):
        super().__init__()
        first = models[0]
        if not isinstance(first.embedding, nn.Embedding) or first.per_step:
            raise ValueError("packing supports token inputs with one class per sequence")
        self.cell, self.size, self.hidden = first.cell, len(models), first.rnn.hidden_size
        self.capturable = False  # True: only operations a CUDA graph can capture (see `packed.lookup`)
        stack = lambda get: nn.Parameter(torch.stack([get(m).detach() for m in models]).clone())
        self.embedding = stack(lambda m: m.embedding.weight)  # (E, V, M)
        for name in RNN_PARAMS:
            setattr(self, name, stack(lambda m: getattr(m.rnn, name)))
        self.head_weight = stack(lambda m: m.head.weight)  # (E, C, H)
        self.head_bias = stack(lambda m: m.head.bias)  # (E, C)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(E, B, T) tokens, each model its own batch -> (E, B, C) logits from each model's
        last step: step T, or step lengths[e] for model e (its sequences right-padded)."""
        E, B, T = x.shape
        embedded = lookup(self.embedding, x, self.capturable).view(E, B * T, -1)  # (E, B*T, M)
        x_proj = torch.baddbmm(self.bias_ih_l0[:, None], embedded, self.weight_ih_l0.transpose(1, 2))  # (E, B*T, chunks*H)
        x_proj = x_proj.view(E, B, T, -1).unbind(2)  # T x (E, B, chunks*H)
        h = c = embedded.new_zeros(E, B, self.hidden)  # (E, B, H)
        recurrent, bias_hh = self.weight_hh_l0.transpose(1, 2), self.bias_hh_l0[:, None]
        outputs = []
        for x_t in x_proj:
            h, c, _ = cell_step(self.cell, x_t, torch.baddbmm(bias_hh, h, recurrent), h, c)
            if lengths is not None:
                outputs.append(h)
        if lengths is not None:
            h = last_states(torch.stack(outputs, dim=2), lengths)  # (E, B, T, H) -> (E, B, H)
        return torch.baddbmm(self.head_bias[:, None], h, self.head_weight.transpose(1, 2))  # (E, B, C)

    def mask_gradients_(self) -> None:
        """Nothing to mask: no parameter is shared between models."""

    def grad_norms(self) -> torch.Tensor:
        """(E,) each model's global gradient norm."""
        return torch.stack([p.grad.flatten(1).square().sum(1) for p in self.parameters()]).sum(0).sqrt()

    @torch.no_grad()
    def state_dict_of(self, e: int, grads: bool = False) -> dict[str, torch.Tensor]:
        """Model e's weights (with `grads`, their gradients) in the single model's state-dict layout (CPU tensors)."""
        get = (lambda p: p.grad) if grads else (lambda p: p)
        state = {"embedding.weight": get(self.embedding)[e], "head.weight": get(self.head_weight)[e], "head.bias": get(self.head_bias)[e]}
        state.update({f"rnn.{name}": get(getattr(self, name))[e] for name in RNN_PARAMS})
        return {k: v.detach().cpu().clone() for k, v in state.items()}
