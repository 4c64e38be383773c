"""E models of any cell run as one through `torch.func.vmap`: the packed layout of the cells outside torch's weights.

One of the replica layouts of `memorybench.engine.replicas`. The stacked layout
(`memorybench.engine.stacked`) writes each step out for cells in torch's weight layout;
a cell with parameters of its own (IndRNN's recurrent vector, the LRU's complex diagonal,
minGRU's and minLSTM's input-only gates, a plugin's) runs its single model's own forward
here, mapped over a leading model dimension E of every parameter
(`torch.func.stack_module_state`, `torch.func.functional_call`). Each operation of a step
then runs once for all E models instead of E times, which pays where dispatch, not
arithmetic, sets the pace (measured: `benchmarks/training_speed.py --layouts mapped`).

A replica computes what it computes alone, bit for bit on the CPU: vmap turns each
matmul into a batched one whose every slice is the single run's product, each replica's
loss and score are reduced as a single run reduces them (`plain_loss`), each replica's
gradient norm is taken over its own values (`layout.ReplicaStacks`), and Adam is
elementwise (tests/engine/test_mapped.py trains packs and single runs of every modern cell
and compares their weights). Runs of one length only share a pack: the model's forward
reads the last step, it has no per-run lengths; and runs that step by step or through a scan
(`execution` 'transparent' or 'scan': torch's fused kernels have no batching rule).

Layout: every parameter of the single model, name -> (E, ...) (`named_stacks`).

Example:
    >>> from memorybench.models import build_model
    >>> from memorybench.tasks import get_task
    >>> models = [build_model(get_task("nndl"), "mingru", seed=s, execution="transparent") for s in range(3)]
    >>> mapped = MappedModel(models)
    >>> x = torch.randint(0, 10, (3, 8, 12))  # (E, B, T): each model its own batch
    >>> torch.equal(mapped(x)[2], models[2](x[2]))  # (E, B, C): model 2's own outputs, to the bit
    True
"""

from __future__ import annotations

import copy
from functools import cache

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from memorybench.cells import get_cell, layer_directions, layer_parameters
from memorybench.engine.layout import ReplicaStacks, Supports
from memorybench.models import SequenceModel, build_model
from memorybench.tasks import get_task


class MappedModel(ReplicaStacks, nn.Module):
    supports = Supports(lengths=False, cells="mappable", max_size=None)
    plain_loss = True  # each replica's loss reduced by torch as a single run's is (TaskSpec.replica_losses)

    def __init__(self, models: list[SequenceModel]):
        super().__init__()
        first = models[0]
        self.spec, self.size, self.capturable = get_cell(first.cell), len(models), False
        params, buffers = stack_module_state(models)  # name -> (E, ...), in the single model's order
        self.names = list(params)  # 'embedding.weight', 'rnn.weight_ih_l0', ... (dotted: not attribute names)
        self.stacks = nn.ParameterList(params.values())
        self.buffer_stacks = {name: b.clone() for name, b in buffers.items()}
        self.directions = layer_directions(first.rnn.num_layers, first.rnn.bidirectional)
        self.template = (
            copy.deepcopy(first).to("meta"),
        )  # the forward's code, holding no numbers; a tuple: not moved by .to()

    def _apply(self, fn, recurse=True):
        self.buffer_stacks = {name: fn(b) for name, b in self.buffer_stacks.items()}
        return super()._apply(fn, recurse)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(E, B, T) tokens or (E, B, T, F) vectors, each model its own batch -> (E, B, C) or (E, B, T, C):
        model e's own outputs on x[e]. Every model reads all T steps (`lengths` must be None)."""
        if lengths is not None:
            raise ValueError("the mapped layout packs runs of one length: lengths must be None")
        model = self.template[0]
        run = lambda params, buffers, x_e: functional_call(model, (params, buffers), (x_e,))
        return vmap(run)(self.named_stacks(), self.buffer_stacks, x)

    def named_stacks(self) -> dict[str, nn.Parameter]:
        """Each stacked parameter (E, ...) under the single model's name for it ('rnn.weight_hh_l0', ...)."""
        return dict(zip(self.names, self.stacks))

    @torch.no_grad()
    def constrain_(self, steps: list[int]) -> None:
        """The cell's constraint after an optimizer step (`CellSpec.constrain`), replica e for its `steps[e]` input
        steps, on views of its slices of the stacks."""
        stacks = self.named_stacks()
        for e, count in enumerate(steps):
            for layer, reverse in self.directions:
                names = layer_parameters(self.spec, layer, reverse)
                params = {base: stacks[f"rnn.{name}"][e] for base, name in zip(self.spec.base_names(), names)}
                self.spec.constrain(params, count)

    def replica_buffers(self, e: int) -> dict[str, torch.Tensor]:
        """Model e's buffers under the single model's names."""
        return {k: b[e] for k, b in self.buffer_stacks.items()}


@cache
def unmappable(cell: str, execution: str = "transparent") -> str | None:
    """Why `cell`'s forward at `execution` cannot run under torch.func.vmap (the first line of the error a tiny mapped
    forward and backward raises: torch's fused kernels have no batching rule, a plugin's step may read a number out
    of a tensor), or None where it can.

    >>> unmappable("indrnn") is None, unmappable("srn", "fused").split(":")[0]
    (True, 'RuntimeError')
    """
    task = get_task("nndl")
    try:
        models = [build_model(task, cell, seed=s, execution=execution) for s in range(2)]
        MappedModel(models)(torch.zeros(2, 2, 3, dtype=torch.long)).sum().backward()
    except Exception as error:  # noqa: BLE001 -- any failure means: train this cell's runs alone
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return None
