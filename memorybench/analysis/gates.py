"""Gate and state traces of a trained model on one sequence, through the transparent cells.

Example:
    >>> import tempfile
    >>> from memorybench.config import protocol_config
    >>> from memorybench.tasks import get_task
    >>> from memorybench.training import train_and_save
    >>> folder = train_and_save(protocol_config("nndl", cell="lstm", seq_len=10, steps=20, eval_interval=10, device="cpu"), tempfile.mkdtemp())
    >>> traces, prediction = trace_sequence(folder, get_task("nndl").example_input)
    >>> sorted(traces), traces["c"].shape  # each (hidden units, positions)
    (['c', 'f', 'g', 'h', 'i', 'o'], (32, 10))
"""

from __future__ import annotations

import numpy as np
import torch

from memorybench.tasks import TaskSpec, get_task
from memorybench.training import load_run


def example_sequence(task: TaskSpec, seq_len: int, seed: int = 0, task_params: dict | None = None) -> torch.Tensor:
    """The sequence traced at `seq_len`: the task's own example when it has that length,
    else the first test sequence of `seed`'s data, made with the runs' `task_params`
    (a data folder, an alphabet). (T,) tokens or (T, F) vectors."""
    if len(task.example_input) == seq_len:
        return torch.tensor(task.example_input)
    return task.make_data(seq_len, seed, **(task_params or {})).test.inputs[0]


def describe_output(task: TaskSpec, output: torch.Tensor) -> str:
    """What the model answers, in words: a class, a class per step, or real values."""
    if task.output_kind == "real":
        return ", ".join(f"{v:.3g}" for v in output.flatten().tolist())
    return str(output.argmax(-1).tolist())


@torch.no_grad()
def trace_sequence(run_folder, inputs) -> tuple[dict[str, np.ndarray], str]:
    """({name: (H, T) array}, the prediction in words) of the saved run's best-dev model on
    one sequence `inputs` ((T,) tokens or (T, F) vectors); the last layer's forward direction."""
    run = load_run(run_folder, execution="transparent")
    model, task = run.model, get_task(run.config.task)
    x = torch.as_tensor(inputs).unsqueeze(0)  # (1, T[, F])
    trace = model.rnn.trace(model.embedding(x))  # name -> (1, T, H)
    return {name: value[0].T.numpy() for name, value in trace.items()}, describe_output(task, model(x)[0])
