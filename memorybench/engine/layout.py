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
