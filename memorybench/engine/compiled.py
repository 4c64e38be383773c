"""`torch.compile` of a pack's training forward: opt-in (`memorybench run --compile`), CPU packs.

What it does. A training step is mostly per-operation dispatch at the book's sizes
(`benchmarks/distance_to_bound.py`), and inductor fuses a time step's elementwise gate
arithmetic into one C++ loop; the forward (and through AOTAutograd its backward) is compiled,
the loss, clipping, optimizer and evaluation stay eager. The Python loop over time is
unrolled, so each (pack size, length) compiles once per worker process (inductor's on-disk
cache makes a second process's compile of the same graph cheap). Measured in
`benchmarks/compiled_step.py` and `benchmarks/compiled_sweep.py`.

What it costs. A compiled run computes the same function in another summation order: its bits
differ from the eager run's with the same id, by float rounding (recorded as `+compiled` in
its result's `packing`). Nothing compiles without a working C++ compiler: `compile_unavailable`
says why, and the run trains eager.

Example:
    >>> compile_note("")
    ''
    >>> compile_note("CalledProcessError: g++ not found")
    '--compile: this machine cannot compile (CalledProcessError: g++ not found); training eager'
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def compile_unavailable() -> str:
    """'' when torch.compile works in this process (a tiny function compiled and run, once), else why it does not."""
    import torch

    try:
        torch.compile(lambda x: torch.tanh(x) * 2 + 1)(torch.ones(8))
    except Exception as exc:  # no C++ compiler, a broken toolchain, an unsupported platform: eager it is
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return ""


def compile_note(reason: str) -> str:
    """The one line a command prints when --compile cannot be honoured ('' when it can)."""
    return f"--compile: this machine cannot compile ({reason}); training eager" if reason else ""


def packing_label(layout: str, compiled: bool) -> str:
    """A result's `packing`: the layout ('' for a single run) and '+compiled' when its forward was compiled.

    >>> packing_label("stacked", True), packing_label("single", True), packing_label("single", False)
    ('stacked+compiled', 'compiled', '')
    """
    return "+".join(part for part in ("" if layout == "single" else layout, "compiled" if compiled else "") if part)
