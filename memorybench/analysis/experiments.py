"""Experiments: how stored runs group into experiments (runs whose configs differ only in cell,
length, seed and device) and studies (settings swept as axes), and how each is labelled.

Example:
    >>> experiment_label({"protocol": "nndl", "steps": 2000})
    'nndl, steps=2000'
"""

from __future__ import annotations

from dataclasses import fields

import pandas as pd

from memorybench.analysis.summary import paired_differences
from memorybench.cells import CELLS, get_cell
from memorybench.config import PROTOCOLS, RunConfig
from memorybench.config import AXES
from memorybench.tasks import get_task

PER_RUN = ("cell", "seq_len", "seed", "device")  # what varies inside one experiment


EXPERIMENT_KEYS = tuple(f.name for f in fields(RunConfig) if f.name not in PER_RUN)


def experiment_label(config: dict, skip=()) -> str:
    """The protocol's name, plus every setting that differs from that protocol (the execution
    only where it is not the cell's own: a cell without a fused kernel always runs step by step),
    leaving out the fields in `skip`."""
    protocol = PROTOCOLS.get(config["protocol"], {})
    seq_len = config.get(
        "seq_len", get_task(protocol.get("task", RunConfig.task)).min_seq_len
    )  # any length the task allows
    defaults = RunConfig(**{**protocol, "protocol": config["protocol"], "seq_len": seq_len}).to_dict()
    if config.get("cell") in CELLS and get_cell(config["cell"]).fused is None:
        defaults["execution"] = "transparent"
    changed = [
        f"{k}={config[k]}"
        for k in EXPERIMENT_KEYS
        if k != "protocol" and k not in skip and str(config.get(k, defaults[k])) != str(defaults[k])
    ]
    return ", ".join([config["protocol"], *changed])


def study_axes(config: dict) -> tuple[str, ...]:
    """The setting axes that runs of one study may differ in: all of them, except the hidden size for a task
    that measures against it (delayed recall's memory capacity per N), whose hidden sizes stay apart."""
    return tuple(a for a in AXES if not (a == "hidden_size" and get_task(config["task"]).hidden_size_measured))


def study_label(runs: pd.DataFrame) -> str:
    """One section's title: the settings all its runs share, then each setting axis that differs by cell, per cell."""
    records = runs.to_dict("records")
    varying = [axis for axis in AXES if runs[axis].astype(str).nunique() > 1]
    label = experiment_label(records[0], skip=varying)
    for axis in varying:
        per_cell = runs.groupby("cell", sort=False)[axis].first()
        label += f"; {axis} " + ", ".join(
            f"{label_of(cell)} {'none' if pd.isna(value) else value}" for cell, value in per_cell.items()
        )
    return label


def paired_table(runs: pd.DataFrame, key: str, reference: str, others: list[str]) -> pd.DataFrame:
    """`other - reference` of `key` per length, runs paired by seed, for every other value: one row each."""
    frames = [paired_differences(runs, key, other, reference).assign(first=other, second=reference) for other in others]
    columns = ["first", "second", "seq_len", "pairs", "mean", "ci_low", "ci_high"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def label_of(cell: str) -> str:
    """A cell's label; a cell not registered here (its plugin not given) by its stored name."""
    return CELLS[cell].label if cell in CELLS else cell


def cell_order(present) -> list[str]:
    """The cells of `present` in registry order, those not registered here (a plugin's, not given) after them by name."""
    present = set(present)
    return [c for c in CELLS if c in present] + sorted(present - set(CELLS))
