"""What every replica layout shares: the declaration of what it supports, and per-replica clipping.

Example:
    >>> grads = [torch.tensor([[3.0, 4.0], [0.3, 0.4]])]  # one parameter, two replicas: (E, 2)
    >>> clip_per_replica_(grads, "global", 1.0).tolist(), grads[0].norm(dim=1).round(decimals=4).tolist()
    ([5.0, 0.5], [1.0, 0.5])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Supports:
    """What a layout can train; anything else trains as single runs."""

    input_kinds: tuple[str, ...] = ("tokens", "vectors")
    output_kinds: tuple[str, ...] = ("class", "class_per_step", "real")
    clips: tuple[str, ...] = ("none", "global", "per_param")
    layered: bool = True  # num_layers > 1 and bidirectional cells
    lengths: bool = True  # replicas of different sequence lengths in one pack
    cells: str = "any"  # "any", "torch_layout" (torch's four weights per layer), "fused" (a fused torch kernel) or
    # "mappable" (a forward that runs under torch.func.vmap: `engine.mapped.unmappable`)
    constraints: bool = True  # applies a cell's constraint after each optimizer step (CellSpec.constrain)
    max_size: int | None = 1  # replicas per pack


def replica_norms(grads: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients (each (E, ...), replica-major) -> ((E, P) each replica's norm of each parameter's gradient,
    (E,) each replica's global norm), computed one replica at a time: each is a reduction over that replica's
    own values alone, so its bits do not depend on how many replicas share the pack (a reduction across
    the replica dimension, such as summing a (P, E) stack over P, picks its loop by E and rounds differently)."""
    norms = torch.stack(
        [torch.stack([torch.linalg.vector_norm(g[e]) for g in grads]) for e in range(grads[0].shape[0])]
    )  # (E, P)
    return norms, torch.stack([torch.linalg.vector_norm(row) for row in norms])


def clip_per_replica_(grads: list[torch.Tensor], mode: str, value: float) -> torch.Tensor:
    """Clip gradients (each (E, ...), replica-major) per replica, as torch's clip_grad_norm_ does
    per run: 'global' scales all of a replica's gradients by min(1, value / norm); 'per_param'
    scales each parameter's alone (the book's ClipGradByNorm). Returns (E,) the global norms
    before clipping."""
    norms, total = replica_norms(grads)  # (E, P), (E,)
    limit = total[:, None] if mode == "global" else norms  # (E, 1) or (E, P)
    scale = (value / (limit + 1e-6)).clamp(max=1.0).expand_as(norms)  # torch's formula
    for p, g in enumerate(grads):
        g.mul_(scale[:, p].view(-1, *[1] * (g.dim() - 1)))
    return total


class ReplicaStacks:
    """What a layout whose every parameter is a stack (E, ...) of its models' own (`named_stacks`: the single model's
    name -> stack) shares: nothing to mask, each replica's gradient norm and clipping over its own values, and its
    weights in the single model's layout. The stacked and mapped layouts are such layouts."""

    def named_stacks(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def replica_buffers(self, e: int) -> dict[str, torch.Tensor]:
        """Model e's buffers under the single model's names (none unless a layout stacks them)."""
        return {}

    def mask_gradients_(self) -> None:
        """Nothing to mask: no parameter is shared between models."""

    def grad_norms(self) -> torch.Tensor:
        """(E,) each model's global gradient norm (independent of its pack mates: `replica_norms`)."""
        return replica_norms([p.grad for p in self.parameters()])[1]

    def clip_(self, mode: str, value: float) -> torch.Tensor:
        return clip_per_replica_([p.grad for p in self.parameters()], mode, value)

    def named_replica_grads(self) -> dict[str, torch.Tensor]:
        """Each parameter's gradient (E, ...), replica-major, under the single model's names."""
        return {name: p.grad for name, p in self.named_stacks().items()}

    @torch.no_grad()
    def state_dict_of(self, e: int, grads: bool = False) -> dict[str, torch.Tensor]:
        """Model e's weights (with `grads`, their gradients) in the single model's state-dict layout (CPU tensors)."""
        get = (lambda p: p.grad) if grads else (lambda p: p)
        state = {k: get(p)[e] for k, p in self.named_stacks().items()}
        if not grads:
            state.update(self.replica_buffers(e))
        return {k: v.detach().cpu().clone() for k, v in state.items()}
