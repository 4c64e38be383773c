"""Gate and state traces of a trained model on one sequence, through the transparent cells.

Example:
    >>> import tempfile
    >>> from memorybench.config import protocol_config
    >>> from memorybench.rundir import train_and_save
    >>> folder = train_and_save(protocol_config("nndl", cell="lstm", seq_len=10, steps=20, eval_interval=10, device="cpu"), tempfile.mkdtemp())
    >>> traces, prediction = trace_sequence(folder, BOOK_EXAMPLE)
    >>> sorted(traces), traces["c"].shape  # each (hidden units, positions)
    (['c', 'f', 'g', 'h', 'i', 'o'], (32, 10))
"""
from __future__ import annotations

import numpy as np
import torch

from .rundir import load_run

BOOK_EXAMPLE = [6, 7, 0, 0, 1, 0, 0, 0, 0, 0]  # the book's Fig 6.13 sequence at L=10; label 13


@torch.no_grad()
def trace_sequence(run_folder, digits: list[int]) -> tuple[dict[str, np.ndarray], int]:
    """({name: (H, T) array}, predicted class) of the saved run's best-dev model on `digits`."""
    model = load_run(run_folder, execution="transparent").model
    x = torch.tensor([digits])  # (1, T)
    trace = model.rnn.trace(model.embedding(x))  # name -> (1, T, H)
    prediction = int(model(x).argmax(-1).item())
    return {name: value[0].T.numpy() for name, value in trace.items()}, prediction
