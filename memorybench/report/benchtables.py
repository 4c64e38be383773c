"""Cell benchmark results (pytest-benchmark JSON) as a throughput table.

Example:
    >>> entry = {"stats": {"median": 0.002, "iqr": 0.0001, "rounds": 50}, "extra_info": dict(
    ...     cell="lstm", execution="fused", seq_len=30, batch_size=8, mode="forward", device="cpu", threads=1)}
    >>> row = benchmark_rows({"benchmarks": [entry], "machine_info": {"cpu": {"brand_raw": "X"}}}).iloc[0]
    >>> float(row["median_us"]), float(row["us_per_step"]), float(row["sequences_per_s"])
    (2000.0, 66.66666666666667, 4000.0)
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

INFO = ("cell", "execution", "seq_len", "batch_size", "mode", "device", "threads")


def benchmark_rows(document: dict) -> pd.DataFrame:
    """One row per benchmark: its parameters, median and IQR in µs, µs per time step, sequences/s."""
    cpu = document.get("machine_info", {}).get("cpu", {}).get("brand_raw", "")
    rows = []
    for entry in document["benchmarks"]:
        info, stats = entry["extra_info"], entry["stats"]
        median = stats["median"]
        rows.append(
            {
                **{k: info[k] for k in INFO},
                "median_us": median * 1e6,
                "iqr_us": stats["iqr"] * 1e6,
                "rounds": stats["rounds"],
                "us_per_step": median * 1e6 / info["seq_len"],
                "sequences_per_s": info["batch_size"] / median,
                "cpu": cpu,
            }
        )
    return pd.DataFrame(rows)


def load_benchmarks(folder) -> pd.DataFrame:
    """Every pytest-benchmark JSON (from benchmarks/test_cell_speed.py) under `folder`, as one table."""
    documents = [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]
    frames = [benchmark_rows(d) for d in documents if "benchmarks" in d]  # other JSON there is not pytest-benchmark's
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def speedup_table(rows: pd.DataFrame) -> pd.DataFrame:
    """fused over transparent: how many times faster the fused kernel is, per case (same run, side by side)."""
    keys = ["cell", "seq_len", "batch_size", "mode", "device"]
    wide = rows.pivot_table(index=keys, columns="execution", values="median_us").reset_index()
    wide["fused_speedup"] = wide["transparent"] / wide["fused"]
    return wide
