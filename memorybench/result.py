"""What one run reports: `RunResult`, and the columns of its curves.

Scores are named for what they are, not for one metric: `test_score` and
`best_dev_score` hold the task's metric (`metric` names it: accuracy, mse, ...), and the
curves' `dev_score` likewise. Result files written before these names existed
(`test_accuracy`, `best_dev_accuracy`, `dev_accuracy`) are read through `upgrade`.

Example:
    >>> result = RunResult.from_dict({"status": "ok", "test_accuracy": 0.9, "best_dev_accuracy": 0.95})
    >>> result.test_score, result.best_dev_score, result.metric
    (0.9, 0.95, 'accuracy')
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

CURVE_COLUMNS = ("step", "train_loss", "dev_loss", "dev_score", "grad_norm")
RENAMED = {
    "test_accuracy": "test_score",
    "best_dev_accuracy": "best_dev_score",
    "dev_accuracy": "dev_score",
}  # format of 2026-11


@dataclass
class RunResult:
    """One run's outcome. `curves` holds one dict per evaluation point (CURVE_COLUMNS)."""

    status: str  # "ok" or "failed" (training raised, or the loss diverged)
    test_score: float = math.nan  # the task's metric on the test set, of the best-dev checkpoint
    test_loss: float = math.nan
    best_dev_score: float = math.nan
    best_step: int = 0
    steps_done: int = 0
    wall_time_s: float = math.nan  # data, model, training and evaluation (a pack's whole time)
    steps_per_s: float = math.nan  # training steps per second of the training loop alone
    num_params: int = 0
    device: str = ""
    error: str = ""
    metric: str = "accuracy"  # what test_score and best_dev_score measure
    pack_size: int = 1  # runs trained together as one packed model
    packing: str = ""  # its layout: "stacked" or "block"; "" = a single run
    graphed: bool = False  # training steps replayed from CUDA graphs
    pack_note: str = ""  # why this run did not train in the pack it was planned in, if it did not
    machine: str = (
        ""  # the kind of machine that trained it (provenance.machine_kind); "" in runs stored before it was kept
    )
    curves: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        """Everything but the curves, for tables and run.json's result."""
        return {k: v for k, v in asdict(self).items() if k != "curves"}

    @classmethod
    def from_dict(cls, values: dict) -> RunResult:
        """A result as stored (run.json's, or an older result.json), of this format or the one before it."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in upgrade(values).items() if k in known})


def upgrade(row: dict) -> dict:
    """Rename the columns of the earlier format (accuracy-only names) to the generic ones."""
    return {RENAMED.get(k, k): v for k, v in row.items()}
