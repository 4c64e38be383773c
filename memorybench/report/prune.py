"""Slim results folders: keep each run's checkpoint.pt only where something still reads it.

    memorybench store prune results/gpu results/stream results/capacity [--dry-run]

A run's scores, curves and timing live in its small files; `checkpoint.pt` (the best-dev
weights) is read only by the report's gate heatmaps (each experiment's best-dev seed per
cell at the gate length, see `report.traced_runs`) and by the diagnostics that score saved
models (extrapolation, gradients through time, memory capacity). Prune keeps:

- the checkpoints of the runs a folder's gate heatmaps trace, and
- every checkpoint of a folder holding the tables of a report section computed from saved
  weights (`ReportSection.reads_checkpoints`: extrapolation, gradients through time, memory
  capacity; re-running the diagnostic needs them all),

for every folder named, and removes the rest from those folders' own run folders (a run a
folder links to stays with the folder that holds it: name both folders, and every folder that
links to one you prune, in one command). Tables, report and figures stay as they are; a run
without its checkpoint is still complete (a sweep does not retrain it), and a diagnostic
asked to score it says the checkpoint was removed.

Example:
    >>> import tempfile
    >>> from memorybench.storage.store import ResultsStore
    >>> from memorybench.sweep.plan import plan_sweep, run_sweep
    >>> store = ResultsStore.open(tempfile.mkdtemp())
    >>> _ = run_sweep(store, plan_sweep("nndl", ["srn"], [5], seeds=3, quick=True, device="cpu"), progress=False)
    >>> kept, removed = prune([store])
    >>> len(kept), len(removed)  # the gate heatmaps' run (the best-dev seed) keeps its checkpoint
    (1, 2)
"""

from __future__ import annotations

from pathlib import Path

from memorybench.report.build import traced_runs
from memorybench.report.plugins_needed import refuse_without_plugins
from memorybench.report.sections import report_sections
from memorybench.storage.rundir import CHECKPOINT
from memorybench.storage.store import ResultsStore


def needed(store: ResultsStore) -> dict[Path, str]:
    """Run folder (resolved) -> why its checkpoint is kept, for the checkpoints `store` reads."""
    readers = [
        section.name for section in report_sections() if section.reads_checkpoints and section.present(store.root)
    ]
    keep = {}
    if readers:
        for folder in store.scan()[0]:
            keep[folder.resolve()] = f"{store.root}: read by the {', '.join(readers)} section's tables"
    for run_id in traced_runs(store):
        keep.setdefault(store.run_folder(run_id).resolve(), f"{store.root}: gate heatmaps")
    return keep


def prune(stores: list[ResultsStore], dry_run: bool = False) -> tuple[dict[Path, str], dict[Path, int]]:
    """Remove the checkpoints no store in `stores` reads from their own run folders; returns
    (kept: checkpoint -> why, removed: checkpoint -> bytes). With `dry_run` nothing is removed. A folder whose runs
    use a cell or task not registered here (its plugin not given) is refused before anything is removed: which of
    their checkpoints the report reads cannot be told without it."""
    for store in stores:
        refuse_without_plugins(store, doing="no checkpoint was removed")
    keep = {}
    for store in stores:
        for folder, why in needed(store).items():
            keep.setdefault(folder, why)
    kept, removed = {}, {}
    for store in stores:
        for checkpoint in sorted(store.runs_dir.glob(f"*/{CHECKPOINT}")):
            folder = checkpoint.parent.resolve()
            if folder in keep:
                kept[checkpoint] = keep[folder]
                continue
            removed[checkpoint] = checkpoint.stat().st_size
            if not dry_run:
                checkpoint.unlink()
    return kept, removed
