"""What kind of machine trains a run: the part of the environment that decides its bits."""
from __future__ import annotations

import torch

from memorybench.storage.provenance import cpu_name


def machine_kind(device: str = "cpu") -> str:
    """What decides a run's bits: on the CPU, its model, the kernels torch picked for it (its CPU
    capability; `ATEN_CPU_CAPABILITY` overrides), the torch version and the thread count; on CUDA,
    the GPU and the torch version. Runs of one config give the same bits only on the same kind.

    >>> machine_kind().count(" | ")
    3
    """
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(torch.device(device))} | torch {torch.__version__}"
    threads = torch.get_num_threads()
    return (f"{cpu_name()} | {torch.backends.cpu.get_cpu_capability()} | torch {torch.__version__} | "
            f"{threads} thread{'s' if threads > 1 else ''}")
