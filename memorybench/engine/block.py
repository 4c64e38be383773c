"""E models of one cell in one fused layer, trained in lockstep: block-diagonal packing.

At the book's sizes (hidden 32, batch 8) a GPU spends its time launching kernels,
not computing. Packing E models of one cell (runs differing in seed and length) into one
`nn.LSTM` (or RNN/GRU) of hidden size E*H with block-diagonal weights does E runs'
work with one run's launches. Model e sees only its own blocks: off-diagonal weights
start at 0 and their gradients are masked to 0, so Adam leaves them at exactly 0,
and each model's gradient is the gradient of its own mean loss. Every elementwise
update is the single run's; only the matrix products' summation order differs, so
packed runs match single runs to float tolerance, not bit for bit.

Layout (E models, chunks = gates per cell, H hidden, M embedding):
    weight_ih (chunks*E*H, E*M): rows [g*E*H + e*H, +H) x cols [e*M, +M) = model e's gate g
    weight_hh (chunks*E*H, E*H): likewise
    bias_*    (chunks*E*H,)

Example:
    >>> from memorybench.models import build_model
    >>> from memorybench.tasks import get_task
    >>> models = [build_model(get_task("nndl"), "lstm", seed=s) for s in range(3)]
    >>> packed = PackedModel(models)
    >>> x = torch.randint(0, 10, (3, 8, 12))  # (E, B, T): each model its own batch
    >>> logits = packed(x)  # (E, B, C)
    >>> torch.allclose(logits[1], models[1](x[1]), atol=1e-6)
    True
"""

from __future__ import annotations

import torch
from torch import nn

from memorybench.cells import get_cell, layer_parameters
from memorybench.engine.layout import Supports
from memorybench.models import SequenceModel


def lookup(embedding: torch.Tensor, x: torch.Tensor, capturable: bool = False) -> torch.Tensor:
    """Each model's embedding rows for its own tokens: embedding (E, V, M), x (E, ...) -> (E, ..., M).

    On the CPU, rows of the (E*V, M) table picked by `index_select` (row e*V + token): its backward adds each
    position's gradient into its row in position order, the additions the gather's accumulating `index_put`
    makes there, so the gradient has the same bits, at under half the cost (tests/engine/test_block.py).
    Elsewhere a gather. With `capturable`, a batched matmul with one-hot rows instead: the same numbers forward,
    but a backward that a CUDA graph can capture (the gather's backward is an accumulating index_put, which
    capture does not allow).
    """
    E, V = embedding.shape[:2]
    if capturable:
        one_hot = (x.unsqueeze(-1) == torch.arange(V, device=x.device)).to(embedding.dtype)  # (E, ..., V)
        return torch.bmm(one_hot.flatten(1, -2), embedding).view(*x.shape, -1)
    models = torch.arange(E, device=x.device).view(E, *[1] * (x.dim() - 1))  # (E, 1, ...)
    if (
        x.device.type != "cpu"
    ):  # CUDA's index_add (the index_select's backward) adds in no fixed order; its index_put sorts
        return embedding[models, x]
    return embedding.reshape(E * V, -1).index_select(0, (x + models * V).reshape(-1)).view(*x.shape, -1)


def last_states(states: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """states (E, B, T, H) -> (E, B, H): each model's state at its own last step, T or lengths[e].

    The pick is a product with a one-hot mask over time (exact, and capturable in a CUDA
    graph, unlike indexing with a tensor, whose backward is an accumulating index_put).
    """
    if lengths is None:
        return states[:, :, -1]
    pick = (torch.arange(states.shape[2], device=states.device) == (lengths - 1)[:, None]).to(states.dtype)  # (E, T)
    return torch.einsum("ebth,et->ebh", states, pick)


class PackedModel(nn.Module):
    supports = Supports(
        input_kinds=("tokens",),
        output_kinds=("class",),
        clips=("none",),
        layered=False,
        cells="fused",
        max_size=None,
        constraints=False,
    )
    plain_loss = False  # per-sample losses per replica, whatever the pack's size

    def __init__(self, models: list[SequenceModel]):
        super().__init__()
        first = models[0]
        if not isinstance(first.embedding, nn.Embedding) or first.per_step:
            raise ValueError("packing supports token inputs with one class per sequence")
        self.spec, self.size = get_cell(first.cell), len(models)
        self.names = layer_parameters(
            self.spec
        )  # the fused layer's and each model's: 'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'
        weight_ih, weight_hh, bias_ih, bias_hh = self.names
        self.capturable = False  # True: only operations a CUDA graph can capture (see `lookup`)
        self.hidden, self.chunks = first.rnn.hidden_size, self.spec.chunks
        self.embed_size = first.embedding.embedding_dim
        E, H, M = self.size, self.hidden, self.embed_size
        self.embedding = nn.Parameter(torch.stack([m.embedding.weight.detach() for m in models]))  # (E, V, M)
        self.rnn = self.spec.fused(E * M, E * H, 1, False)
        self.head_weight = nn.Parameter(torch.stack([m.head.weight.detach() for m in models]))  # (E, C, H)
        self.head_bias = nn.Parameter(torch.stack([m.head.bias.detach() for m in models]))  # (E, C)
        with torch.no_grad():
            for name in self.names:
                getattr(self.rnn, name).copy_(self._pack([getattr(m.rnn, name).detach() for m in models]))
        self.register_buffer("mask_ih", self._pack([torch.ones_like(getattr(first.rnn, weight_ih))] * E))
        self.register_buffer("mask_hh", self._pack([torch.ones_like(getattr(first.rnn, weight_hh))] * E))

    def _blocks(self, packed: torch.Tensor) -> torch.Tensor:
        """A view of a packed weight or bias as per-gate, per-model blocks.

        weight (chunks*E*H, E*K) -> (chunks, E, H, E, K); bias (chunks*E*H,) -> (chunks, E, H)
        """
        if packed.dim() == 1:
            return packed.view(self.chunks, self.size, self.hidden)
        return packed.view(self.chunks, self.size, self.hidden, self.size, packed.shape[1] // self.size)

    def _pack(self, per_model: list[torch.Tensor]) -> torch.Tensor:
        """Per-model (chunks*H, K) weights or (chunks*H,) biases -> the packed block-diagonal tensor."""
        E, H, C = self.size, self.hidden, self.chunks
        if per_model[0].dim() == 1:
            return torch.stack([b.view(C, H) for b in per_model], dim=1).reshape(C * E * H)
        K = per_model[0].shape[1]
        packed = per_model[0].new_zeros(C * E * H, E * K)
        blocks = self._blocks(packed)
        for e, weight in enumerate(per_model):
            blocks[:, e, :, e, :] = weight.view(C, H, K)
        return packed

    def _unpack(self, packed: torch.Tensor, e: int) -> torch.Tensor:
        blocks = self._blocks(packed)
        if packed.dim() == 1:
            return blocks[:, e].reshape(-1)
        return blocks[:, e, :, e, :].reshape(self.chunks * self.hidden, -1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(E, B, T) tokens, each model its own batch -> (E, B, C) logits from each model's
        last step: step T, or step lengths[e] for model e (its sequences right-padded)."""
        E, B, T = x.shape
        embedded = lookup(self.embedding, x, self.capturable)  # (E, B, T, M)
        states, _ = self.rnn(embedded.permute(1, 2, 0, 3).reshape(B, T, E * self.embed_size))  # (B, T, E*H)
        last = last_states(states.view(B, T, E, self.hidden).permute(2, 0, 1, 3), lengths)  # (E, B, H)
        return torch.einsum("ebh,ech->ebc", last, self.head_weight) + self.head_bias[:, None]  # (E, B, C)

    @torch.no_grad()
    def mask_gradients_(self) -> None:
        """Zero the off-diagonal blocks' gradients, so no model reads another's state."""
        weight_ih, weight_hh = self.names[:2]
        getattr(self.rnn, weight_ih).grad.mul_(self.mask_ih)
        getattr(self.rnn, weight_hh).grad.mul_(self.mask_hh)

    def grad_norms(self) -> torch.Tensor:
        """(E,) each model's global gradient norm, from its own blocks only."""
        squares = (
            self.embedding.grad.square().sum((1, 2))
            + self.head_weight.grad.square().sum((1, 2))
            + self.head_bias.grad.square().sum(1)
        )
        for name in self.names[:2]:  # the weights
            diagonal = self._blocks(getattr(self.rnn, name).grad).diagonal(dim1=1, dim2=3)  # (chunks, H, K, E)
            squares = squares + diagonal.square().sum((0, 1, 2))
        for name in self.names[2:]:  # the biases
            squares = squares + self._blocks(getattr(self.rnn, name).grad).square().sum((0, 2))
        return squares.sqrt()

    @torch.no_grad()
    def state_dict_of(self, e: int, grads: bool = False) -> dict[str, torch.Tensor]:
        """Model e's weights (with `grads`, their gradients) in the single model's state-dict layout (CPU tensors)."""
        get = (lambda p: p.grad) if grads else (lambda p: p)
        state = {
            "embedding.weight": get(self.embedding)[e],
            "head.weight": get(self.head_weight)[e],
            "head.bias": get(self.head_bias)[e],
        }
        state.update({f"rnn.{name}": self._unpack(get(getattr(self.rnn, name)), e) for name in self.names})
        return {k: v.detach().cpu().clone() for k, v in state.items()}
