"""What the diagnostics share beyond `memorybench.report.writer.run_writer`: one torch thread while
they compute, so that the same sums come out in the same order every time."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def one_thread():
    """One torch thread while a diagnostic runs: the same sums in the same order every time (and fastest at these sizes)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
