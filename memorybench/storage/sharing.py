"""Runs shared between results folders: a run that two studies need is stored once.

The 5-seed sweep holds the 3-seed sweep's runs as its seeds 0-2; a capacity study over
settings holds the base setting's runs. Instead of a second copy, a store keeps a link
(`runs/<run_id>.link`, see memorybench.storage.store) to the folder that has the run:

- `run_all.py ... --reuse DIR`: runs already complete in DIR are linked, not trained;
- `memorybench store share TARGET --from SOURCE`: the runs TARGET holds a copy of
  are replaced by links to SOURCE's, after checking that the two are the same run.

The same run means the same run id (the same config, seed included), status, test score
and best-dev step, and curves equal to float32 rounding: runs trained in packs of other
sizes sum their gradient norms in another order, and nothing else differs.

Example:
    >>> import tempfile
    >>> from memorybench.config import protocol_config
    >>> from memorybench.result import RunResult
    >>> from memorybench.storage.store import ResultsStore
    >>> first, second = ResultsStore.open(tempfile.mkdtemp()), ResultsStore.open(tempfile.mkdtemp())
    >>> config = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, device="cpu")
    >>> first.place(config, RunResult("ok", test_score=0.5, curves=[dict(step=5, train_loss=2.0, dev_loss=2.1, dev_score=0.4, grad_norm=1.0)]), None)
    >>> len(reuse(second, first, [config])), second.is_complete(config), second.collect()[0]["test_score"].tolist()
    (1, True, [0.5])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memorybench.config import RunConfig
from memorybench.storage.rundir import read_run
from memorybench.storage.store import ResultsStore, StoreError

SAME_FIELDS = ("status", "test_score", "best_dev_score", "best_step")


def reuse(store: ResultsStore, source: ResultsStore, configs: list[RunConfig], retry_failed: bool = False) -> list[str]:
    """Link into `store` every run of `configs` it lacks (or holds damaged) that is complete in
    `source` (with `retry_failed`, failed runs are not taken); returns the run ids linked."""
    if source.root.resolve() == store.root.resolve():
        raise StoreError(f"--reuse {source.root} is the folder the sweep writes to; give another results folder")
    have = store.complete_ids(store.scan()[0], retry_failed)
    intact = source.scan()[0]
    offered = {folder.name: folder for folder in intact if folder.name in source.complete_ids(intact, retry_failed)}
    linked = []
    for run_id in dict.fromkeys(c.run_id() for c in configs):
        if run_id not in have and run_id in offered:
            store.share(run_id, offered[run_id])
            linked.append(run_id)
    return linked


def difference(a: Path, b: Path) -> str:
    """'' when run folders `a` and `b` hold the same run (see the module's note), else what differs."""
    if a.name != b.name:
        return f"run ids {a.name} and {b.name}"
    stored = [read_run(folder) for folder in (a, b)]
    results = [run.result for run in stored]
    for field in SAME_FIELDS:
        if results[0].get(field) != results[1].get(field):
            return f"{field} {results[0].get(field)!r} against {results[1].get(field)!r}"
    curves = [run.curves for run in stored]
    if list(curves[0].columns) != list(curves[1].columns) or len(curves[0]) != len(curves[1]):
        return "curves of other shapes"
    for column in curves[0].columns:
        if not np.isclose(
            curves[0][column].to_numpy(float), curves[1][column].to_numpy(float), rtol=1e-6, atol=1e-12, equal_nan=True
        ).all():
            return f"curve column {column}"
    return ""


def share_copies(target: ResultsStore, source: ResultsStore, dry_run: bool = False) -> tuple[list[str], dict[str, str]]:
    """([run ids of `target` now linked to `source`'s], {run id: why kept as a copy}) for every
    run both hold as a folder of their own; `dry_run` only says what would be linked."""
    if source.root.resolve() == target.root.resolve():
        raise StoreError(f"--from {source.root} is the folder itself; give another results folder")
    theirs = {folder.name: folder for folder in source.scan()[0]}
    linked, kept = [], {}
    for folder in target.scan()[0]:
        if (
            folder.name not in theirs
            or folder.parent != target.runs_dir
            or theirs[folder.name].resolve() == folder.resolve()
        ):
            continue  # not in source, already a link, or source's link to this very folder
        why = difference(folder, theirs[folder.name])
        if why:
            kept[folder.name] = why
            continue
        if not dry_run:
            target.share(folder.name, theirs[folder.name])
        linked.append(folder.name)
    return linked, kept
