"""Replica strategies: how E >= 1 runs are laid out as one trainable module.

Every layout takes E freshly built models (`memorybench.models.SequenceModel`) and
offers the same small interface to the training loop (`memorybench.engine.loop`):

    forward(x (E, B, T[, F]), lengths (E,) | None) -> outputs (E, B, C) or (E, B, T, C)
    mask_gradients_()        zero what no replica owns (block-diagonal packs)
    grad_norms() -> (E,)     each replica's global gradient norm
    clip_(mode, value) -> (E,)   clip each replica's gradients alone; its norm before
    state_dict_of(e)         replica e's weights in the single model's layout (CPU)

- `single`: one model, the fused torch layer (or the step-by-step one); E = 1.
- `stacked`: E models with a leading model dimension, batched matmuls
  (`memorybench.engine.stacked`); pays on the CPU.
- `block`: E models as one fused layer with block-diagonal weights
  (`memorybench.engine.block`); cuDNN on a GPU.
- `mapped`: E models of any cell, the single model's forward under `torch.func.vmap`
  (`memorybench.engine.mapped`); the CPU's packs of the cells outside torch's layout.

Each declares what it supports (`Supports`); `memorybench.engine.policy` reads that
to decide, in one place, which runs share a pack.

Example:
    >>> from memorybench.models import build_model
    >>> from memorybench.tasks import get_task
    >>> single = Single([build_model(get_task("nndl"), "gru", seed=0)])
    >>> single(torch.zeros(1, 8, 5, dtype=torch.long)).shape  # (E, B, T) -> (E, B, C)
    torch.Size([1, 8, 19])
"""

from __future__ import annotations

import torch
from torch import nn

from memorybench.engine.block import PackedModel
from memorybench.engine.layout import Supports, clip_per_replica_, replica_norms
from memorybench.engine.mapped import MappedModel
from memorybench.engine.stacked import StackedModel
from memorybench.models import SequenceModel


class Single(nn.Module):
    """One run: the model itself, with a replica dimension of 1 around its inputs and outputs."""

    supports = Supports()
    plain_loss = True  # torch's own loss reduction, as a plain training loop (see TaskSpec.replica_losses)

    def __init__(self, models: list[SequenceModel]):
        super().__init__()
        if len(models) != 1:
            raise ValueError(f"a single run holds one model, not {len(models)}")
        self.model, self.size, self.capturable = models[0], 1, False

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(x[0]).unsqueeze(0)  # (1, B, T) -> (B, C) -> (1, B, C)

    def mask_gradients_(self) -> None:
        """Nothing to mask."""

    def constrain_(self, steps: list[int]) -> None:
        """The cell's constraint after an optimizer step (`CellSpec.constrain`), for the run's `steps` input steps."""
        self.model.rnn.constrain_(steps[0])

    def grad_norms(self) -> torch.Tensor:
        return replica_norms([p.grad.unsqueeze(0) for p in self.parameters()])[1]

    def clip_(self, mode: str, value: float) -> torch.Tensor:
        return clip_per_replica_([p.grad.unsqueeze(0) for p in self.parameters()], mode, value)

    def named_replica_grads(self) -> dict[str, torch.Tensor]:
        """Each parameter's gradient with a replica dimension of 1: name -> (1, ...)."""
        return {name: p.grad.unsqueeze(0) for name, p in self.model.named_parameters()}

    @torch.no_grad()
    def state_dict_of(self, e: int, grads: bool = False) -> dict[str, torch.Tensor]:
        state = {k: p.grad for k, p in self.model.named_parameters()} if grads else self.model.state_dict()
        return {k: v.detach().cpu().clone() for k, v in state.items()}


LAYOUTS = {"single": Single, "stacked": StackedModel, "block": PackedModel, "mapped": MappedModel}
