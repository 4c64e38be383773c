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
    cells: str = "any"  # "any", "torch_layout" (torch's four weights per layer) or "fused" (a fused torch kernel)
    max_size: int | None = 1  # replicas per pack


def clip_per_replica_(grads: list[torch.Tensor], mode: str, value: float) -> torch.Tensor:
    """Clip gradients (each (E, ...), replica-major) per replica, as torch's clip_grad_norm_ does
    per run: 'global' scales all of a replica's gradients by min(1, value / norm); 'per_param'
    scales each parameter's alone (the book's ClipGradByNorm). Returns (E,) the global norms
    before clipping."""
    norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads], dim=1)  # (E, P)
    total = torch.linalg.vector_norm(norms, dim=1)  # (E,)
    limit = total[:, None] if mode == "global" else norms  # (E, 1) or (E, P)
    scale = (value / (limit + 1e-6)).clamp(max=1.0).expand_as(norms)  # torch's formula
    for p, g in enumerate(grads):
        g.mul_(scale[:, p].view(-1, *[1] * (g.dim() - 1)))
    return total
