"""Training one run: a RunConfig goes in, a RunResult comes out.

The loop keeps the device busy: the training loss is summed as a device tensor and
read back only at evaluation points (every `eval_interval` steps and at the last
step), so there is one host synchronisation per evaluation, and no autograd graph
outlives its step (the book's `total_loss += loss` leak). Curves record, at each
evaluation point, the mean training loss since the previous one, the dev loss and
accuracy, and the global gradient norm of that step (before any clipping).

Example:
    >>> from memorybench.config import protocol_config
    >>> result = train_run(protocol_config("nndl", cell="srn", seq_len=5, steps=50, eval_interval=25, device="cpu"))
    >>> result.status, [row["step"] for row in result.curves]
    ('ok', [25, 50])
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import torch

from .config import RunConfig
from .models import build_model, count_parameters
from .tasks import Split, TaskSpec, get_task, split_seed, train_batches

CURVE_COLUMNS = ("step", "train_loss", "dev_loss", "dev_accuracy", "grad_norm")


@dataclass
class RunResult:
    """What one run reports. `curves` holds one dict per evaluation point (CURVE_COLUMNS)."""

    status: str  # "ok" or "failed"
    test_accuracy: float = math.nan  # of the best-dev checkpoint
    test_loss: float = math.nan
    best_dev_accuracy: float = math.nan
    best_step: int = 0
    steps_done: int = 0
    wall_time_s: float = math.nan  # data, model, training and evaluation
    steps_per_s: float = math.nan  # training steps per second of the training loop
    num_params: int = 0
    device: str = ""
    error: str = ""
    pack_size: int = 1  # runs trained together as one packed model (memorybench.packed_training)
    packing: str = ""  # its layout: "block" (memorybench.packed) or "stacked" (memorybench.stacked); "" = single run
    graphed: bool = False  # training steps replayed from CUDA graphs
    curves: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        """Everything but the curves, for tables and result.json."""
        return {k: v for k, v in asdict(self).items() if k != "curves"}


def resolve_device(device: str) -> torch.device:
    """'auto' takes CUDA when present; asking for CUDA without a GPU is a ValueError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} is not available: this machine has no CUDA GPU (use cpu or auto)")
    return torch.device(device)


@torch.no_grad()
def evaluate(model: torch.nn.Module, task: TaskSpec, split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, metric) of `model` on `split`, as 0-d tensors on the model's device."""
    outputs = model(split.inputs)
    return task.loss(outputs, split.targets), task.score(outputs, split.targets)


def make_optimizer(config: RunConfig, params) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    return torch.optim.SGD(params, lr=config.lr)


def gradient_norm(params: list[torch.Tensor]) -> torch.Tensor:
    """The global L2 norm of the parameters' gradients (0-d tensor)."""
    return torch.stack([p.grad.norm() for p in params]).norm()


def clip_gradients(config: RunConfig, params: list[torch.Tensor]) -> torch.Tensor:
    """Clip as configured ('global' or 'per_param'); returns the global gradient norm before clipping."""
    if config.clip == "per_param":
        return torch.stack([torch.nn.utils.clip_grad_norm_([p], config.clip_value) for p in params]).norm()
    return torch.nn.utils.clip_grad_norm_(params, config.clip_value)


def model_for(config: RunConfig, task: TaskSpec, execution: str | None = None) -> torch.nn.Module:
    """The freshly initialised model of a run (the init seed is derived from the run seed)."""
    return build_model(
        task,
        config.cell,
        execution=execution or config.execution,
        embedding_size=config.embedding_size,
        hidden_size=config.hidden_size,
        init=config.init,
        forget_bias=config.forget_bias,
        seed=split_seed(config.seed, "train", 0),
    )


def train_run(config: RunConfig, checkpoint: dict | None = None) -> RunResult:
    """Train one run and return its result.

    If `checkpoint` is a dict, it receives the best-dev state dict (CPU tensors)
    under "state_dict". Exceptions propagate; `run_safely` turns them into a
    failed RunResult.
    """
    started = time.perf_counter()
    device = resolve_device(config.device)
    task = get_task(config.task)
    if task.metric != "accuracy":
        raise ValueError(f"task {task.name!r} is scored by {task.metric!r}; the trainer keeps best-dev checkpoints by accuracy only")
    data = task.make_data(config.seq_len, config.seed, **config.task_params)
    model = model_for(config, task).to(device)
    params = list(model.parameters())
    optimizer = make_optimizer(config, params)
    generator = torch.Generator().manual_seed(split_seed(config.seed, "train", config.seq_len))
    batches = train_batches(data, config.batch_size, generator, config.shuffle)
    dev = data.dev.to(device)

    loss_sum = torch.zeros((), device=device)
    since_eval = 0
    best_dev, best_step, best_state = -math.inf, 0, None
    curves = []
    train_seconds = 0.0
    tick = time.perf_counter()
    step = 0
    for step in range(1, config.steps + 1):
        batch = next(batches).to(device)
        loss = task.loss(model(batch.inputs), batch.targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = clip_gradients(config, params) if config.clip != "none" else None  # pre-clipping norm
        optimizer.step()
        loss_sum += loss.detach()
        since_eval += 1
        if step % config.eval_interval and step != config.steps:
            continue
        train_loss = loss_sum.item() / since_eval  # the one host sync per interval
        train_seconds += time.perf_counter() - tick
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"training loss became {train_loss} by step {step}")
        dev_loss, dev_metric = (t.item() for t in evaluate(model, task, dev))
        grad_norm = (norm if norm is not None else gradient_norm(params)).item()  # this step's, before any clipping
        curves.append(dict(step=step, train_loss=train_loss, dev_loss=dev_loss, dev_accuracy=dev_metric, grad_norm=grad_norm))
        loss_sum.zero_()
        since_eval = 0
        if dev_metric > best_dev:  # strictly greater replaces, as in the book
            best_dev, best_step = dev_metric, step
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if config.stop_on_perfect_dev and best_dev >= 1.0:
            break
        tick = time.perf_counter()

    model.load_state_dict(best_state)
    test_loss, test_metric = (t.item() for t in evaluate(model, task, data.test.to(device)))
    if checkpoint is not None:
        checkpoint["state_dict"] = {k: v.cpu() for k, v in best_state.items()}
    return RunResult(
        status="ok",
        test_accuracy=test_metric,
        test_loss=test_loss,
        best_dev_accuracy=best_dev,
        best_step=best_step,
        steps_done=step,
        wall_time_s=time.perf_counter() - started,
        steps_per_s=step / train_seconds,
        num_params=count_parameters(model),
        device=device_name(device),
        curves=curves,
    )


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"


def run_safely(config: RunConfig, checkpoint: dict | None = None) -> RunResult:
    """train_run, with any exception recorded as a failed result instead of raised."""
    started = time.perf_counter()
    try:
        return train_run(config, checkpoint)
    except Exception as exc:  # a sweep records the failure and goes on
        return RunResult(status="failed", error=f"{type(exc).__name__}: {exc}", device=config.device, wall_time_s=time.perf_counter() - started)
