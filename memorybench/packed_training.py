"""Training several runs at once as one packed model, optionally replayed from CUDA graphs.

`train_packed(configs)` trains runs of one cell that differ only in their seed and
sequence length in lockstep, in one of two layouts (`LAYOUTS`): `block`, one fused
torch layer with block-diagonal weights (`memorybench.packed`; cuDNN on a GPU, the
default there), or `stacked`, models stacked along a leading dimension and stepped
with batched matmuls (`memorybench.stacked`; the default on the CPU, where it is
what pays). Runs of different lengths share a pack by right-padding the shorter
sequences: each model reads its own last real step, and since the cells are causal
the padding changes neither its output nor its gradient (it only costs the longest
length's time). It returns one RunResult per config — the same results, to float
tolerance, as `train_run` on each config alone: same data, same batches, same
initial weights, same evaluation points, same best-dev rule, and a run that reaches
dev accuracy 1.0 reports what it would have reported had it stopped there. (Float
tolerance holds for the first thousands of steps; beyond them rounding differences
grow as in any two executions of a training run — see benchmarks/float_divergence.py.)

On CUDA (`graphs=True`, the default there) each training step — forward, backward,
gradient masking, Adam — is captured once per batch shape in a CUDA graph and
replayed, which removes the kernel-launch overhead that makes small RNNs slower on
a GPU than on a CPU. Capturing needs warm-up steps; they run on a snapshot that is
rolled back, so they leave no trace in the results.

Example:
    >>> from memorybench.config import protocol_config
    >>> configs = [protocol_config("nndl", cell="lstm", seq_len=5, seed=s, steps=40, eval_interval=20, device="cpu") for s in range(3)]
    >>> results, states = train_packed(configs)
    >>> [(r.status, r.pack_size, r.packing, len(r.curves)) for r in results], sorted(states[0])[:2]
    ([('ok', 3, 'stacked', 2), ('ok', 3, 'stacked', 2), ('ok', 3, 'stacked', 2)], ['embedding.weight', 'head.bias'])
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import replace

import torch
import torch.nn.functional as F

from .config import RunConfig
from .models import count_parameters
from .packed import PackedModel
from .stacked import StackedModel
from .tasks import get_task, split_seed, train_batches
from .tasks.base import check_choice
from .training import RunResult, device_name, evaluate, model_for, resolve_device

LAYOUTS = {"block": PackedModel, "stacked": StackedModel}
WARMUP_STEPS = 3  # eager steps before a capture (cuDNN/cuBLAS set-up, optimizer state), then rolled back


def check_packable(configs: list[RunConfig]) -> None:
    """Packed runs must differ in their seed and length alone, and use what the packed step supports."""
    first = configs[0]
    for config in configs[1:]:
        if replace(config, seed=first.seed, seq_len=first.seq_len) != first:
            raise ValueError(f"packed runs must differ only in seed and seq_len; {config} differs from {first}")
    if len({(c.seed, c.seq_len) for c in configs}) != len(configs):
        raise ValueError("packed runs need distinct (seed, seq_len) pairs")
    if first.clip != "none":
        raise ValueError(f"clip={first.clip!r} is not supported by packed training; use clip='none' or single runs")
    task = get_task(first.task)
    if (task.input_kind, task.output_kind, task.metric) != ("tokens", "class", "accuracy"):
        raise ValueError(f"task {task.name!r} cannot be packed: packing needs tokens in, one class out, accuracy")


class _Step:
    """One training step of the packed model, eager or replayed from CUDA graphs.

    `self.loss_sum` (E,) accumulates each model's loss on the device between
    evaluations; `self.grad_norm` (E,) holds each model's gradient norm of the last step.
    `lengths` (E,) is each model's own sequence length, None when all are the input's.
    """

    def __init__(self, packed: PackedModel | StackedModel, optimizer: torch.optim.Optimizer, device: torch.device, graphs: bool,
                 lengths: torch.Tensor | None):
        self.packed, self.optimizer, self.graphs, self.lengths = packed, optimizer, graphs, lengths
        self.loss_sum = torch.zeros(packed.size, device=device)
        self.grad_norm = torch.zeros(packed.size, device=device)
        self.captured: dict[tuple, tuple] = {}  # batch shape -> (graph, static inputs, static targets)

    def _eager(self, x: torch.Tensor, y: torch.Tensor) -> None:
        E, B = y.shape
        logits = self.packed(x, self.lengths)  # (E, B, C)
        losses = F.cross_entropy(logits.reshape(E * B, -1), y.reshape(E * B), reduction="none").view(E, B).mean(1)  # (E,)
        self.optimizer.zero_grad(set_to_none=not self.graphs)
        losses.sum().backward()  # model e's gradient is the gradient of its own mean loss
        self.packed.mask_gradients_()
        self.grad_norm.copy_(self.packed.grad_norms())
        self.optimizer.step()
        self.loss_sum += losses.detach()

    def _snapshot(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        tensors = list(self.packed.parameters()) + [self.loss_sum, self.grad_norm]
        tensors += [v for state in self.optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
        return [(t, t.detach().clone()) for t in tensors]

    def _capture(self, x: torch.Tensor, y: torch.Tensor) -> tuple:
        static_x, static_y = x.clone(), y.clone()
        fresh_optimizer = not self.optimizer.state
        saved = self._snapshot()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self._eager(static_x, static_y)
        torch.cuda.current_stream().wait_stream(side)
        with torch.no_grad():  # roll the warm-up back
            for tensor, value in saved:
                tensor.copy_(value)
            if fresh_optimizer:  # the warm-up created the state: make it a fresh optimizer's
                for state in self.optimizer.state.values():
                    for value in state.values():
                        if torch.is_tensor(value):
                            value.zero_()
        for p in self.packed.parameters():
            p.grad = None  # this graph's backward allocates its own gradients
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._eager(static_x, static_y)
        return graph, static_x, static_y

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        if not self.graphs:
            return self._eager(x, y)
        key = tuple(x.shape)
        if key not in self.captured:
            try:
                self.captured[key] = self._capture(x, y)
            except RuntimeError as exc:  # a torch/driver that cannot capture: run eagerly, say so
                warnings.warn(f"CUDA graph capture failed ({exc}); training eagerly")
                self.graphs = False
                return self._eager(x, y)
        graph, static_x, static_y = self.captured[key]
        static_x.copy_(x, non_blocking=True)
        static_y.copy_(y, non_blocking=True)
        graph.replay()


@torch.no_grad()
def _evaluate_packed(packed: PackedModel | StackedModel, x: torch.Tensor, y: torch.Tensor,
                     lengths: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(E,) losses and accuracies of every packed model on its own split; x (E, N, T), y (E, N)."""
    E, N = y.shape
    logits = packed(x, lengths)  # (E, N, C)
    losses = F.cross_entropy(logits.reshape(E * N, -1), y.reshape(E * N), reduction="none").view(E, N).mean(1)
    return losses, (logits.argmax(-1) == y).float().mean(1)


def default_layout(device: torch.device) -> str:
    """`block` on CUDA (cuDNN kernels, measured in ../shared/reference/anchors.md), `stacked` elsewhere."""
    return "block" if device.type == "cuda" else "stacked"


def stack_padded(tensors: list[torch.Tensor], length: int) -> torch.Tensor:
    """Per-model (N, T_e) token tensors -> (E, N, length), each right-padded with token 0.

    >>> stack_padded([torch.ones(2, 3, dtype=torch.long), torch.ones(2, 1, dtype=torch.long)], 3)[1]
    tensor([[1, 0, 0],
            [1, 0, 0]])
    """
    return torch.stack([t if t.shape[-1] == length else F.pad(t, (0, length - t.shape[-1])) for t in tensors])


def train_packed(configs: list[RunConfig], graphs: bool | None = None, layout: str | None = None) -> tuple[list[RunResult], list[dict | None]]:
    """Train `configs` (of one cell, differing only in seed and length) as one packed model.

    Returns (results, best-dev state dicts in the single model's layout).
    `graphs` defaults to True on CUDA; it is ignored on the CPU. `layout` is a key of
    `LAYOUTS`, by default `default_layout(device)`.
    """
    started = time.perf_counter()
    check_packable(configs)
    first = configs[0]
    device = resolve_device(first.device)
    graphs = (device.type == "cuda") if graphs is None else (graphs and device.type == "cuda")
    layout = layout or default_layout(device)
    check_choice("layout", layout, tuple(LAYOUTS))
    task = get_task(first.task)
    E = len(configs)
    data = [task.make_data(c.seq_len, c.seed, **c.task_params) for c in configs]
    models = [model_for(c, task) for c in configs]
    num_params = count_parameters(models[0])
    packed = LAYOUTS[layout](models).to(device)
    packed.capturable = graphs
    if first.optimizer == "adam":
        optimizer = torch.optim.Adam(packed.parameters(), lr=first.lr, capturable=graphs)
    else:
        optimizer = torch.optim.SGD(packed.parameters(), lr=first.lr)
    T = max(c.seq_len for c in configs)
    lengths = None if all(c.seq_len == T for c in configs) else torch.tensor([c.seq_len for c in configs], device=device)
    step_fn = _Step(packed, optimizer, device, graphs, lengths)
    streams = [train_batches(d, first.batch_size, torch.Generator().manual_seed(split_seed(c.seed, "train", c.seq_len)), first.shuffle)
               for c, d in zip(configs, data)]
    dev_x = stack_padded([d.dev.inputs for d in data], T).to(device)
    dev_y = torch.stack([d.dev.targets for d in data]).to(device)

    best_dev = [-math.inf] * E
    best_step, best_state, curves = [0] * E, [None] * E, [[] for _ in range(E)]
    stopped_at = [0] * E  # step at which a run reached dev accuracy 1.0 and would have stopped
    since_eval, train_seconds, tick, step = 0, 0.0, time.perf_counter(), 0
    for step in range(1, first.steps + 1):
        batches = [next(s) for s in streams]
        step_fn(stack_padded([b.inputs for b in batches], T).to(device), torch.stack([b.targets for b in batches]).to(device))
        since_eval += 1
        if step % first.eval_interval and step != first.steps:
            continue
        train_loss = (step_fn.loss_sum / since_eval).tolist()  # the one host sync per interval
        grad_norm = step_fn.grad_norm.tolist()
        train_seconds += time.perf_counter() - tick
        dev_loss, dev_acc = (t.tolist() for t in _evaluate_packed(packed, dev_x, dev_y, lengths))
        step_fn.loss_sum.zero_()
        since_eval = 0
        for e in range(E):
            if stopped_at[e]:
                continue
            if not math.isfinite(train_loss[e]):
                raise FloatingPointError(f"training loss of seed {configs[e].seed} at L={configs[e].seq_len} became {train_loss[e]} by step {step}")
            curves[e].append(dict(step=step, train_loss=train_loss[e], dev_loss=dev_loss[e], dev_accuracy=dev_acc[e], grad_norm=grad_norm[e]))
            if dev_acc[e] > best_dev[e]:
                best_dev[e], best_step[e], best_state[e] = dev_acc[e], step, packed.state_dict_of(e)
            if first.stop_on_perfect_dev and best_dev[e] >= 1.0:
                stopped_at[e] = step
        if all(stopped_at):
            break
        tick = time.perf_counter()

    results = []
    for e, (config, d) in enumerate(zip(configs, data)):
        model = models[e].to(device)
        model.load_state_dict(best_state[e])
        test_loss, test_acc = (t.item() for t in evaluate(model, task, d.test.to(device)))
        results.append(RunResult(
            status="ok", test_accuracy=test_acc, test_loss=test_loss, best_dev_accuracy=best_dev[e], best_step=best_step[e],
            steps_done=stopped_at[e] or step, wall_time_s=time.perf_counter() - started, steps_per_s=step / train_seconds,
            num_params=num_params, device=device_name(device), curves=curves[e], pack_size=E, packing=layout, graphed=step_fn.graphs))
    return results, best_state
