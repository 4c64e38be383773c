"""E models of one cell stacked along a leading dimension, stepped with batched matmuls.

One of the replica layouts of `memorybench.engine.replicas` (beside block-diagonal
packing, `memorybench.engine.block`). Every
parameter gets a leading model dimension E; each time step is one batched matmul
(`baddbmm`) for all E recurrent projections and one set of elementwise ops
(the cell spec's `step`) for all E models. The work grows as E, not E**2 as in
a block-diagonal layer, and the number of operations per step does not grow at all —
which is what pays on a CPU at the book's sizes, where each of the many small
operations of a training step costs more in dispatch than in arithmetic. Models never
share a number, so no gradient masking is needed and a replica whose loss diverges
cannot touch its pack mates; each model's gradient is the gradient of its own loss,
and packed runs match single runs to float tolerance.

Layout (E models, chunks = gates per cell, H hidden, M embedding or input features,
V vocabulary, C outputs):
    embedding (E, V, M) (token tasks only); weight_ih (E, chunks*H, M); weight_hh (E, chunks*H, H);
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

from memorybench.cells import get_cell, layer_parameters
from memorybench.engine.block import last_states, lookup
from memorybench.engine.layout import ReplicaStacks, Supports
from memorybench.engine.recurrence import Recurrence, run_trimmed, time_steps
from memorybench.models import SequenceModel

PROJECTION_ROWS = (
    128  # rows per input-projection matmul: short enough that its sums run in one block (see project_blocks)
)


class StackedModel(ReplicaStacks, nn.Module):
    supports = Supports(layered=False, cells="torch_layout", max_size=None, constraints=False)
    plain_loss = False  # per-sample losses per replica: a pack of one reduces as a pack of many
    use_step_grad = (
        True  # False: autograd through time even where the cell has a written-out backward (`written_backward`)
    )

    def __init__(self, models: list[SequenceModel]):
        super().__init__()
        first = models[0]
        self.spec, self.size, self.hidden, self.per_step = (
            get_cell(first.cell),
            len(models),
            first.rnn.hidden_size,
            first.per_step,
        )
        self.names = dict(
            zip(self.spec.base_names(), layer_parameters(self.spec))
        )  # 'weight_ih' -> the model's 'weight_ih_l0' ...
        self.capturable = False  # True: only operations a CUDA graph can capture (see `block.lookup`)
        stack = lambda get: nn.Parameter(torch.stack([get(m).detach() for m in models]).clone())
        tokens = isinstance(first.embedding, nn.Embedding)
        self.embedding = stack(lambda m: m.embedding.weight) if tokens else None  # (E, V, M)
        for base, name in self.names.items():
            setattr(self, base, stack(lambda m: getattr(m.rnn, name)))
        self.head_weight = stack(lambda m: m.head.weight)  # (E, C, H)
        self.head_bias = stack(lambda m: m.head.bias)  # (E, C)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(E, B, T) tokens or (E, B, T, F) vectors, each model its own batch -> (E, B, C) outputs
        from each model's last step (step T, or step lengths[e] for model e, its sequences
        right-padded), or (E, B, T, C) from every step for a per-step task."""
        E, B, T = x.shape[:3]
        ends = lengths.tolist() if lengths is not None and lengths.device.type == "cpu" and not self.per_step else None
        trimmed = ends is not None and ends == sorted(ends, reverse=True)  # a sweep's packs: longest length first
        last_only = trimmed or (lengths is None and not self.per_step)  # every model's last state, nothing else
        blocks = self.project_blocks(
            x.transpose(1, 2), ends if trimmed else None
        )  # (E', n, B, chunks*H) per block of n steps
        if last_only and self.written_backward(x):
            return self.head(
                Recurrence.apply(self.spec.step_grad, ends or [T] * E, self.weight_hh, self.bias_hh, *blocks)
            )
        x_proj = time_steps(blocks)  # T x (E', B, chunks*H); E' = E unless trimmed
        if last_only:
            return self.head(run_trimmed(self.spec.step, x_proj, ends or [T] * E, self.weight_hh, self.bias_hh))
        h = c = x_proj[0].new_zeros(E, B, self.hidden)  # (E, B, H)
        recurrent, bias_hh = self.weight_hh.transpose(1, 2), self.bias_hh[:, None]
        outputs = []  # every step's states: a per-step task's, or those of lengths not in a sweep's order
        for x_t in x_proj:
            h, c, _ = self.spec.step(x_t, torch.baddbmm(bias_hh, h, recurrent), h, c)
            outputs.append(h)
        if self.per_step:
            return self.head(torch.stack(outputs, dim=2).view(E, B * T, self.hidden)).view(
                E, B, T, -1
            )  # (E, B*T, H) -> (E, B, T, C)
        return self.head(last_states(torch.stack(outputs, dim=2), lengths))  # (E, B, T, H) -> (E, B, H) -> (E, B, C)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """(E, N, H) states -> (E, N, C) outputs."""
        return torch.baddbmm(self.head_bias[:, None], h, self.head_weight.transpose(1, 2))

    def written_backward(self, x: torch.Tensor) -> bool:
        """Whether a training forward of `x` runs the cell's written-out backward (`engine.recurrence`) rather than
        autograd through time: on the CPU, for a cell that has one (`CellSpec.step_grad`), with the last step's
        output only, and not under torch.compile. Set `use_step_grad` False for autograd everywhere."""
        return (
            self.use_step_grad
            and self.spec.step_grad is not None
            and x.device.type == "cpu"
            and not self.per_step
            and torch.is_grad_enabled()
            and not torch.compiler.is_compiling()
        )

    def project_blocks(self, x: torch.Tensor, ends: list[int] | None = None) -> list[torch.Tensor]:
        """x (E, T, B[, F]), time-major -> (E', n, B, chunks*H) per block: every step's input projection, in time blocks of
        `PROJECTION_ROWS // B` steps whose bounds depend on t alone. A replica shorter than its pack's longest
        gets right-padded steps: whole blocks of them add exact zeros to its gradients, and the padded rows of
        its last block are the last rows of a short sum. So its weights are the bits it gets alone or in a pack
        of its own length (tests/engine/test_stacked.py), which a single matmul over all T*B rows does not give.
        With `ends` (the models' lengths, non-increasing: `run_trimmed`'s), a block projects only the models still
        going at its first step, E' of them (at least two: torch's batched matmul takes another path for a batch of
        one), and skips the blocks of padding the others would only add exact zeros from; without, E' = E."""
        E, T, B = x.shape[:3]
        steps = max(1, PROJECTION_ROWS // B)
        projected = []
        for start in range(0, T, steps):
            keep = E if ends is None else max(min(2, E), sum(end > start for end in ends))
            block = x[:keep, start : start + steps]  # (E', n, B[, F])
            n = block.shape[1]
            embedding = None if self.embedding is None else self.embedding[:keep]
            embedded = (block if embedding is None else lookup(embedding, block, self.capturable)).reshape(
                keep, n * B, -1
            )  # (E', n*B, M)
            out = torch.baddbmm(
                self.bias_ih[:keep, None], embedded, self.weight_ih[:keep].transpose(1, 2)
            )  # (E', n*B, chunks*H)
            projected.append(out.view(keep, n, B, -1))
        return projected

    def named_stacks(self) -> dict[str, nn.Parameter]:
        """Each stacked parameter (E, ...) under the single model's name for it ('rnn.weight_hh_l0', ...)."""
        stacks = {"head.weight": self.head_weight, "head.bias": self.head_bias}
        if self.embedding is not None:
            stacks["embedding.weight"] = self.embedding
        stacks.update({f"rnn.{name}": getattr(self, base) for base, name in self.names.items()})
        return stacks
