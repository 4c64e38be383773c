"""Training one run: a RunConfig goes in, a RunResult comes out (a pack of one through the engine).

The protocol itself — evaluation cadence, best-dev, stopping, divergence, clipping,
the optimizer — lives in `memorybench.engine.loop`, the one training loop every
execution path goes through. Curves record, at each evaluation point, the mean
training loss since the previous one, the dev loss and score, and the gradient norm
of that step (before any clipping).

Example:
    >>> from memorybench.config import protocol_config
    >>> from memorybench.config import protocol_config
    >>> result = train_run(protocol_config("nndl", cell="srn", seq_len=5, steps=50, eval_interval=25, device="cpu"))
    >>> result.status, result.metric, [row["step"] for row in result.curves]
    ('ok', 'accuracy', [25, 50])
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from memorybench.cells import default_execution
from memorybench.config import RunConfig
from memorybench.engine.loop import Hook, resolve_device, train_pack
from memorybench.models import checkpoint_writer, model_for
from memorybench.result import CURVE_COLUMNS, RENAMED, RunResult
from memorybench.storage.rundir import CHECKPOINT, read_run, save_run
from memorybench.tasks import Split, TaskSpec

__all__ = [
    "CURVE_COLUMNS",
    "RunResult",
    "evaluate",
    "model_for",
    "resolve_device",
    "run_safely",
    "train_and_save",
    "train_run",
]


@torch.no_grad()
def evaluate(model: torch.nn.Module, task: TaskSpec, split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, metric) of `model` on `split`, as 0-d tensors on the model's device."""
    outputs = model(split.inputs)
    return task.loss(outputs, split.targets), task.score(outputs, split.targets)


class PrintProgress(Hook):
    """One line on stderr per evaluation: step, training loss, dev score."""

    def __init__(self, config: RunConfig):
        self.config = config

    def on_eval(self, step, replicas, records) -> None:
        for record in records:
            if record:
                print(
                    f"{self.config.cell} L={self.config.seq_len} seed {self.config.seed}: step {step}/{self.config.steps}, "
                    f"train loss {record['train_loss']:.4g}, dev score {record['dev_score']:.4g}",
                    file=sys.stderr,
                    flush=True,
                )


def train_run(
    config: RunConfig, checkpoint: dict | None = None, progress: bool = False, threads: int | None = 1
) -> RunResult:
    """Train one run and return its result (a diverged run comes back with status 'failed').

    If `checkpoint` is a dict, it receives the best-dev state dict (CPU tensors) under
    "state_dict". Other exceptions propagate; `run_safely` records them instead. `progress`
    prints a line per evaluation; `threads` torch threads train it (1, as each sweep worker:
    at the book's sizes more threads only add contention; None keeps torch's setting).

    >>> from memorybench.config import protocol_config
    >>> result = train_run(protocol_config("nndl", cell="srn", seq_len=5, steps=20, eval_interval=10, device="cpu"))
    >>> result.status, [c["step"] for c in result.curves]
    ('ok', [10, 20])
    """
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        output = train_pack([config], hooks=[PrintProgress(config)] if progress else ())[0]
    finally:
        torch.set_num_threads(previous)
    if checkpoint is not None and output.state_dict is not None:
        checkpoint["state_dict"] = output.state_dict
    return output.result


def train_and_save(config: RunConfig, folder) -> Path:
    """Train `config` (failures recorded, not raised) and save it under `folder` (see memorybench.storage.rundir)."""
    checkpoint: dict = {}
    result = run_safely(config, checkpoint)
    return save_run(folder, config, result, checkpoint_writer(checkpoint.get("state_dict")))


def run_safely(config: RunConfig, checkpoint: dict | None = None) -> RunResult:
    """train_run, with any exception recorded as a failed result instead of raised."""
    started = time.perf_counter()
    try:
        return train_run(config, checkpoint)
    except Exception as exc:  # a sweep records the failure and goes on
        return RunResult(
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            device=config.device,
            wall_time_s=time.perf_counter() - started,
        )


@dataclass
class SavedRun:
    config: RunConfig
    result: RunResult
    model: torch.nn.Module | None  # best-dev weights; None for a failed run
    curves: pd.DataFrame


def load_run(folder, execution: str | None = None, map_location="cpu") -> SavedRun:
    """Reload a saved run; `execution="transparent"` gives a model whose rnn can trace its gates. By default
    the cell's fused kernel where it has one, else as `cells.default_execution` picks for `map_location`."""
    folder = Path(folder)
    stored = read_run(folder)
    config, result = RunConfig.from_dict(stored.config), RunResult.from_dict(stored.result)
    curves = stored.curves.rename(columns=RENAMED)
    result.curves = curves.to_dict("records")
    model = None
    if (folder / CHECKPOINT).exists():
        model = model_for(config, execution=execution or default_execution(config.cell, str(map_location)))
        model.load_state_dict(torch.load(folder / CHECKPOINT, map_location=map_location, weights_only=True))
        model.eval()
    return SavedRun(config, result, model, curves)


def trained_model(saved: SavedRun, folder, purpose: str):
    """`saved.model`, or a ValueError saying why a run has none (failed, or its checkpoint removed)."""
    if saved.model is not None:
        return saved.model
    name = Path(folder).name
    if saved.result.status == "ok":
        raise ValueError(
            f"run {name} has no {CHECKPOINT} (removed by `memorybench store prune`?); "
            f"retrain it, or use a folder that keeps it, to {purpose} it"
        )
    raise ValueError(
        f"run {name} has no checkpoint (status {saved.result.status!r}); only a finished run can be {purpose}d"
    )
