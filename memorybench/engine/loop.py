"""The one training loop: E >= 1 replicas of one experiment trained in lockstep.

A single run is a pack of one (`layout="single"`, the fused torch layer); packs of
seeds (and lengths) use the `stacked` or `block` layouts of
`memorybench.engine.replicas`. Whatever the layout, this module alone decides the
protocol:

- data: each replica's own training stream (`train_batches`, seeded by
  `split_seed(seed, "train", seq_len)`, stacked per step by `memorybench.engine.batches`)
  and its own initial weights (`model_for`);
- each step: every replica's loss (the task's, reduced as `config.loss_reduction`
  says), one backward (replica e's gradient is its own loss's), clipping per replica
  (none / global / per-parameter; the norm recorded is the one before clipping), the
  optimizer (each replica's state equals a separate optimizer's: both are elementwise; on the
  CPU Adam steps all parameters at once, `engine.flat_adam`, with torch's bits);
- evaluation every `eval_interval` steps and at the last (`is_eval_step`): the mean
  training loss since the last one, dev loss and score, the step's gradient norm —
  one host synchronisation per evaluation;
- best-dev: a checkpoint replaces the best only when its dev score is strictly better
  in the metric's direction (`TaskSpec.improves`), as in the book; a replica that
  reaches a perfect dev score stops there (`stop_on_perfect_dev`: no later
  checkpoint could replace it), and the pack stops when every replica has;
- divergence: a replica whose training loss is not finite is recorded as failed at
  that evaluation, and its pack mates go on;
- the test score of each replica's best-dev checkpoint.

Hooks (`Hook`) see every step (after the backward, before clipping) and every
evaluation, so diagnostics are added without touching the loop.

Example:
    >>> from memorybench.config import protocol_config
    >>> configs = [protocol_config("nndl", cell="srn", seq_len=5, seed=s, steps=50, eval_interval=25, device="cpu") for s in range(2)]
    >>> outputs = train_pack(configs, layout="stacked")
    >>> [(o.result.status, o.result.pack_size, [c["step"] for c in o.result.curves]) for o in outputs]
    [('ok', 2, [25, 50]), ('ok', 2, [25, 50])]
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import torch

from memorybench.cells import get_cell
from memorybench.config import RunConfig
from memorybench.engine.batches import stack_padded, stacked_batches
from memorybench.engine.compiled import compile_unavailable, packing_label
from memorybench.engine.flat_adam import FlatAdam
from memorybench.engine.graphs import GraphedStep
from memorybench.engine.machine import machine_kind
from memorybench.engine.replicas import LAYOUTS
from memorybench.models import count_parameters, model_for
from memorybench.result import RunResult
from memorybench.tasks import TaskSpec, get_task, split_seed
from memorybench.engine.policy import check_pack


@dataclass
class RunOutput:
    """A finished run as an executor hands it back to the one writer: config, result, best-dev weights."""

    config: RunConfig
    result: RunResult
    state_dict: dict | None = None  # CPU tensors; None for a failed run


class Hook:
    """A diagnostic plugged into the loop; override either method. The loop never reads back."""

    per_step = False  # True if on_step must run every step (the step is then not replayed from a CUDA graph)

    def on_step(self, step: int, replicas) -> None:
        """After the backward pass and before clipping: raw gradients are in `replicas.parameters()`."""

    def on_eval(self, step: int, replicas, records: list[dict | None]) -> None:
        """After an evaluation: `records[e]` is replica e's new curve row (None once it stopped or failed)."""


def resolve_device(device: str) -> torch.device:
    """'auto' takes CUDA when present; asking for CUDA without a GPU is a ValueError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} is not available: this machine has no CUDA GPU (use cpu)")
    return torch.device(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"


def is_eval_step(step: int, config: RunConfig) -> bool:
    """Evaluate every `eval_interval` steps and at the last step."""
    return step % config.eval_interval == 0 or step == config.steps


def make_optimizer(config: RunConfig, params, capturable: bool = False, flat: bool = False):
    """The config's optimizer; with `flat`, Adam over the parameters as one buffer (`FlatAdam`: the same bits, fewer
    operations), which every run on the CPU takes whose parameters are real and of one dtype (a plugin's may not be)."""
    params = list(params)
    one_kind = len({(p.dtype, p.device) for p in params}) == 1 and params[0].dtype.is_floating_point
    if config.optimizer == "adam" and flat and not capturable and one_kind:
        return FlatAdam(params, lr=config.lr)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, capturable=capturable)
    return torch.optim.SGD(params, lr=config.lr)


class TrainStep:
    """One eager training step of all replicas. `loss_sum` (E,) accumulates each replica's loss
    on the device between evaluations; `grad_norm` (E,) holds its last measured gradient norm."""

    def __init__(
        self,
        replicas,
        optimizer,
        task: TaskSpec,
        config: RunConfig,
        lengths,
        graphs: bool,
        hooks,
        forward=None,
        constrain_steps: list[int] | None = None,
    ):
        self.replicas, self.optimizer, self.task, self.config, self.lengths = replicas, optimizer, task, config, lengths
        self.constrain_steps = constrain_steps  # each replica's input steps, for a cell constrained after every step
        self.forward = (
            replicas if forward is None else forward
        )  # the replicas, or their compiled forward (`memorybench.engine.compiled`)
        self.set_to_none = not graphs  # a captured graph keeps its gradient buffers
        self.step_hooks = [h for h in hooks if h.per_step]
        self.step_count = 0
        device = next(replicas.parameters()).device
        self.loss_sum = torch.zeros(replicas.size, device=device)
        self.grad_norm = torch.zeros(replicas.size, device=device)

    def __call__(self, x: torch.Tensor, y: torch.Tensor, want_norm: bool) -> None:
        self.step_count += 1
        losses = self.task.replica_losses(
            self.forward(x, self.lengths), y, self.config.loss_reduction, self.replicas.plain_loss
        )  # (E,)
        self.optimizer.zero_grad(set_to_none=self.set_to_none)
        losses.sum().backward()  # replica e's gradient is the gradient of its own loss
        self.replicas.mask_gradients_()
        for hook in self.step_hooks:
            hook.on_step(self.step_count, self.replicas)
        if self.config.clip != "none":
            self.grad_norm.copy_(self.replicas.clip_(self.config.clip, self.config.clip_value))
        elif want_norm:
            self.grad_norm.copy_(self.replicas.grad_norms())
        self.optimizer.step()
        if self.constrain_steps is not None:
            self.replicas.constrain_(self.constrain_steps)
        self.loss_sum += losses.detach()


@dataclass
class _Progress:
    """One replica's best-dev tracking and curve."""

    best: float
    best_step: int = 0
    best_state: dict | None = None
    stopped_at: int = 0  # the step it stopped at: a perfect dev score, or divergence
    error: str = ""
    curves: list[dict] = field(default_factory=list)


@torch.no_grad()
def evaluate_replicas(replicas, task: TaskSpec, x: torch.Tensor, y: torch.Tensor, lengths, reduction: str = "mean"):
    """(E,) losses and (E,) scores of every replica on its own split; x (E, N, T[, F]), y (E, N[, ...])."""
    outputs = replicas(x, lengths)
    return task.replica_losses(outputs, y, reduction, replicas.plain_loss), task.replica_scores(
        outputs, y, replicas.plain_loss
    )


def train_pack(
    configs: list[RunConfig], layout: str = "single", graphs: bool = False, hooks=(), compiled: bool = False
) -> list[RunOutput]:
    """Train `configs` (differing only in seed and length; see `policy.refusal`) as one pack.

    Returns one RunOutput per config, in order. `graphs` replays each step from a CUDA
    graph (CUDA only; per-step hooks turn it off). `compiled` trains through torch.compile's
    forward where this machine can compile and no CUDA graph replays the step
    (`memorybench.engine.compiled`; the result's `packing` says so).
    """

    if layout == "stacked" and len(configs) == 1 and not hooks:
        # torch's batched matmul takes another path for a batch of one (seen: 1 ulp in a one-output head's gradient
        # at batch 32); trained beside a twin that is thrown away, a run gets the bits it gets in any larger pack
        output = train_pack(
            [configs[0], replace(configs[0], seed=configs[0].seed + 1)], layout, graphs, compiled=compiled
        )[0]
        output.result.pack_size = 1  # the twin is not a pack mate: the run's time is all its own
        return [output]
    started = time.perf_counter()
    check_pack(configs, layout)
    first = configs[0]
    device = resolve_device(first.device)
    graphs = graphs and device.type == "cuda" and not any(h.per_step for h in hooks)
    task = get_task(first.task)
    data = [task.make_data(c.seq_len, c.seed, **c.task_params) for c in configs]
    models = [model_for(c, task) for c in configs]
    num_params = count_parameters(models[0])
    replicas = LAYOUTS[layout](models).to(device)
    replicas.capturable = graphs
    optimizer = make_optimizer(first, replicas.parameters(), capturable=graphs, flat=device.type == "cpu")
    input_steps = [
        d.dev.inputs.shape[1] for d in data
    ]  # input steps per run: seq_len, or more where a task adds steps (copy: T + 20)
    T = max(input_steps)
    lengths = None if all(n == T for n in input_steps) else torch.tensor(input_steps, device=device)
    compiled = compiled and not graphs and not compile_unavailable()
    constrained = input_steps if get_cell(first.cell).constrain is not None else None
    eager = TrainStep(
        replicas,
        optimizer,
        task,
        first,
        lengths,
        graphs,
        hooks,
        torch.compile(replicas) if compiled else None,
        constrained,
    )
    step_fn = GraphedStep(eager) if graphs else eager
    generators = [torch.Generator().manual_seed(split_seed(c.seed, "train", c.seq_len)) for c in configs]
    batches = stacked_batches(
        data, generators, first.batch_size, first.shuffle, T
    )  # (E, B, T[, F]), (E, B[, ...]) per step
    dev_x = stack_padded([d.dev.inputs for d in data], T).to(device)
    dev_y = torch.stack([d.dev.targets for d in data]).to(device)

    machine = machine_kind(str(device))
    progress = [_Progress(best=task.worst) for _ in configs]
    since_eval, train_seconds, tick, step = 0, 0.0, time.perf_counter(), 0
    for step in range(1, first.steps + 1):
        x, y = next(batches)
        step_fn(x.to(device), y.to(device), is_eval_step(step, first))
        since_eval += 1
        if not is_eval_step(step, first):
            continue
        train_loss = [value / since_eval for value in eager.loss_sum.tolist()]  # the one host sync per interval
        grad_norm = eager.grad_norm.tolist()
        train_seconds += time.perf_counter() - tick
        dev_loss, dev_score = (
            t.tolist() for t in evaluate_replicas(replicas, task, dev_x, dev_y, lengths, first.loss_reduction)
        )
        eager.loss_sum.zero_()
        since_eval = 0
        records = [
            _record(task, first, p, replicas, e, step, train_loss[e], dev_loss[e], dev_score[e], grad_norm[e])
            for e, p in enumerate(progress)
        ]
        for hook in hooks:
            hook.on_eval(step, replicas, records)
        if all(p.stopped_at for p in progress):
            break
        tick = time.perf_counter()

    outputs = []
    for config, d, model, p in zip(configs, data, models, progress):
        result = RunResult(
            status="failed" if p.error else "ok",
            best_dev_score=p.best,
            best_step=p.best_step,
            steps_done=p.stopped_at or step,
            steps_per_s=step / train_seconds,
            num_params=num_params,
            device=device_name(device),
            machine=machine,
            error=p.error,
            metric=task.metric,
            pack_size=len(configs),
            packing=packing_label(layout, compiled),
            graphed=isinstance(step_fn, GraphedStep) and step_fn.graphs,
            curves=p.curves,
        )
        if not p.error:
            model = model.to(device)
            model.load_state_dict(p.best_state)
            test_loss, test_score = evaluate_replicas(
                LAYOUTS["single"]([model]),
                task,
                d.test.inputs[None].to(device),
                d.test.targets[None].to(device),
                None,
                first.loss_reduction,
            )
            result.test_loss, result.test_score = test_loss.item(), test_score.item()
        result.wall_time_s = time.perf_counter() - started
        outputs.append(RunOutput(config, result, None if p.error else p.best_state))
    return outputs


def _record(
    task: TaskSpec,
    config: RunConfig,
    p: _Progress,
    replicas,
    e: int,
    step: int,
    train_loss: float,
    dev_loss: float,
    dev_score: float,
    grad_norm: float,
) -> dict | None:
    """Replica e's evaluation: its curve row, best-dev checkpoint, stop and divergence; None once it has stopped."""
    if p.stopped_at:
        return None
    if not math.isfinite(train_loss):
        p.stopped_at, p.error = step, f"FloatingPointError: training loss became {train_loss} by step {step}"
        return None
    row = dict(step=step, train_loss=train_loss, dev_loss=dev_loss, dev_score=dev_score, grad_norm=grad_norm)
    p.curves.append(row)
    if task.improves(dev_score, p.best):
        p.best, p.best_step, p.best_state = dev_score, step, replicas.state_dict_of(e)
    if config.stop_on_perfect_dev and task.is_perfect(p.best):
        p.stopped_at = step
    return row
