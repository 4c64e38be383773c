"""pytest-benchmark timings of the recurrent layers alone: cell x execution x length x batch,
forward and forward+backward, on the CPU (one torch thread) and on CUDA when present.

    python -m pytest benchmarks/test_cell_speed.py --benchmark-enable \
        --benchmark-json=results/benchmarks/cells-cpu.json

The default test run (`python -m pytest`, with --benchmark-disable from pyproject.toml)
calls every case once and checks its output: a correctness pass, not a timing.
`memorybench report results/` turns the JSON into a throughput table
(sequences/s, µs per time step) and a figure.
"""

import pytest
import torch

from memorybench.cells import cells_in, make_recurrent

INPUT_SIZE = HIDDEN_SIZE = 32  # the book's embedding and hidden sizes
LENGTHS = (5, 10, 30, 100)
BATCHES = (8, 64)
MODES = ("forward", "forward_backward")
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_size", BATCHES, ids=lambda b: f"B{b}")
@pytest.mark.parametrize("seq_len", LENGTHS, ids=lambda n: f"L{n}")
@pytest.mark.parametrize(
    "execution", ("fused", "transparent")
)  # the scan of the cells that have one: benchmarks/scan_speed.py
@pytest.mark.parametrize("cell", cells_in("classic"))  # the cells a sweep compares; srn_book has no fused kernel
def test_cell(benchmark, cell, execution, seq_len, batch_size, mode, device):
    torch.manual_seed(0)
    layer = make_recurrent(cell, execution, INPUT_SIZE, HIDDEN_SIZE).to(device)
    x = torch.randn(batch_size, seq_len, INPUT_SIZE, device=device)  # (B, T, I)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def forward():
        with torch.no_grad():
            output = layer(x)[0]
        sync()
        return output

    def forward_backward():
        layer.zero_grad(set_to_none=True)
        output = layer(x)[0]
        output.sum().backward()
        sync()
        return output

    benchmark.extra_info.update(
        cell=cell,
        execution=execution,
        seq_len=seq_len,
        batch_size=batch_size,
        mode=mode,
        device=torch.cuda.get_device_name() if device == "cuda" else "cpu",
        threads=torch.get_num_threads(),
        hidden_size=HIDDEN_SIZE,
        torch=torch.__version__,
    )
    output = benchmark(forward if mode == "forward" else forward_backward)
    assert output.shape == (batch_size, seq_len, HIDDEN_SIZE) and torch.isfinite(output).all()
    if mode == "forward_backward":
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in layer.parameters())
