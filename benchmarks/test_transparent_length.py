"""pytest-benchmark timings of the step-by-step (transparent) layer on long sequences: GRU,
input and hidden 32, L = 100 and 1000, batch 8 and 64, forward+backward, one torch thread.
The transparent layer is the only execution of a user's cell; its time should grow linearly
with L (µs per time step about the same at L=100 and L=1000).

    python -m pytest benchmarks/test_transparent_length.py --benchmark-enable

The default test run (--benchmark-disable) calls each case once and checks its output and
gradients (about a second): a correctness pass, not a timing. Its rows are kept apart from
`test_cell_speed.py`'s (whose JSON the report reads) so that table keeps one row per length.
"""

import pytest
import torch

from memorybench.cells import make_recurrent

CELL = "gru"
INPUT_SIZE = HIDDEN_SIZE = 32  # the book's embedding and hidden sizes


@pytest.mark.parametrize("batch_size", (8, 64), ids=lambda b: f"B{b}")
@pytest.mark.parametrize("seq_len", (100, 1000), ids=lambda n: f"L{n}")
def test_transparent_forward_backward(benchmark, seq_len, batch_size):
    torch.manual_seed(0)
    layer = make_recurrent(CELL, "transparent", INPUT_SIZE, HIDDEN_SIZE)
    x = torch.randn(batch_size, seq_len, INPUT_SIZE, requires_grad=True)  # (B, T, I)

    def forward_backward():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        output = layer(x)[0]
        output.sum().backward()
        return output

    benchmark.extra_info.update(
        cell=CELL,
        execution="transparent",
        seq_len=seq_len,
        batch_size=batch_size,
        mode="forward_backward",
        device="cpu",
        threads=torch.get_num_threads(),
        hidden_size=HIDDEN_SIZE,
        torch=torch.__version__,
    )
    output = benchmark(forward_backward)
    assert output.shape == (batch_size, seq_len, HIDDEN_SIZE) and torch.isfinite(output).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in layer.parameters())
    assert (
        x.grad.shape == x.shape and torch.count_nonzero(x.grad[:, 0]) > 0
    )  # the first step's input reaches the output
