"""What kind of machine trains a run: the part of the environment that decides its bits."""

from __future__ import annotations

import os
import torch

from memorybench.storage.provenance import cpu_name, cpuinfo

# oneDNN's CPU instruction-set levels, highest first, each with the /proc/cpuinfo flags it needs. oneDNN (torch's
# fused LSTM and GRU kernels) picks its kernels by this level, not by torch's own CPU capability: two Xeons that
# both report AVX512 to torch, one with AMX, round the fused LSTM differently (seen 2026-12-06).
ONEDNN_LEVELS = (
    ("avx512_core_amx_fp16", {"amx_tile", "amx_bf16", "amx_int8", "amx_fp16", "avx512_fp16"}),
    ("avx512_core_amx", {"amx_tile", "amx_bf16", "amx_int8"}),
    ("avx512_core_fp16", {"avx512_fp16"}),
    ("avx512_core_bf16", {"avx512_bf16"}),
    ("avx512_core_vnni", {"avx512_vnni"}),
    ("avx512_core", {"avx512f", "avx512bw", "avx512vl", "avx512dq"}),
    ("avx2_vnni", {"avx2", "avx_vnni"}),
    ("avx2", {"avx2"}),
    ("avx", {"avx"}),
    ("sse41", {"sse4_1"}),
)


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none: not Linux)."""
    return set((cpuinfo("flags") or "").split())


def onednn_isa(flags: set[str] | None = None) -> str:
    """oneDNN's instruction-set level on a CPU with these flags (this one's by default; '?' where they cannot be read).

    >>> onednn_isa({"avx2", "avx", "sse4_1", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"})
    'avx512_core_vnni'
    >>> onednn_isa(set())
    '?'
    """
    flags = cpu_flags() if flags is None else flags
    return next((name for name, needs in ONEDNN_LEVELS if needs <= flags), "?")


def machine_kind(device: str = "cpu") -> str:
    """What decides a run's bits: on the CPU, its model, the kernels torch picked for it (its CPU
    capability; `ATEN_CPU_CAPABILITY` overrides), the kernels oneDNN picks (`onednn_isa`), the torch
    version and the thread count; on CUDA, the GPU and the torch version. Runs of one config give
    the same bits only on the same kind.

    >>> machine_kind().count(" | ")
    4
    """
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(torch.device(device))} | torch {torch.__version__}"
    threads = torch.get_num_threads()
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")  # oneDNN's own override
    onednn = onednn_isa() + (f" capped at {cap.lower()}" if cap else "")
    return (
        f"{cpu_name()} | {torch.backends.cpu.get_cpu_capability()} | oneDNN {onednn} | torch {torch.__version__} | "
        f"{threads} thread{'s' if threads > 1 else ''}"
    )
