"""The results store: a folder of runs, and the tidy tables built from them.

    OUT/
      store.json            format version, and one entry per sweep invoked (provenance)
      runs/<run_id>/        config.json, curves.csv, checkpoint.pt, env.json, result.json
      tables/runs.csv       one row per run: config, scores, timing, device, status, error
      tables/curves.csv     one row per evaluation point of every run
      report.md, figures/   written by memorybench.report

A run folder appears under its final name only once complete: each run is trained
into a hidden temporary folder and renamed into place, so a sweep killed at any
moment (even with kill -9) leaves complete runs and hidden leftovers, which the next
sweep removes. The tables are always rebuilt from the run folders.

Example:
    >>> import tempfile
    >>> from memorybench.config import protocol_config
    >>> store = ResultsStore.open(tempfile.mkdtemp())
    >>> config = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, device="cpu")
    >>> store.is_complete(config), store.train(config).status, store.is_complete(config)
    (False, 'ok', True)
    >>> runs, curves = store.write_tables()
    >>> len(runs), list(curves["step"])
    (1, [5, 10])
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pandas as pd

from .cells import CELL_NAMES
from .config import RunConfig
from .packed_training import train_packed
from .provenance import environment
from .rundir import save_run, write_atomic, write_json_atomic
from .training import CURVE_COLUMNS, RunResult, run_safely

FORMAT = 1  # bump when the layout changes in a way older readers cannot follow
RUN_KEYS = ("run_id", "protocol", "cell", "seq_len", "seed")  # repeated on every curve row


class StoreError(Exception):
    """A results folder that cannot be used; the message is one line for the user."""


class ResultsStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.tables_dir = self.root / "tables"
        self.meta_path = self.root / "store.json"

    @classmethod
    def open(cls, root) -> ResultsStore:
        """Open or create a store; refuses files, unwritable places and other formats."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise StoreError(f"--out {root} is a file; give a folder (new or made by memorybench)")
        existing = root
        while not existing.exists():
            existing = existing.parent
        if not os.access(existing, os.W_OK | os.X_OK):
            raise StoreError(f"--out {root} is not writable ({existing} does not allow writing)")
        store = cls(root)
        meta = store.meta_path
        if meta.exists():
            try:
                found = json.loads(meta.read_text()).get("format")
            except (ValueError, AttributeError):
                raise StoreError(f"--out {root} holds a store.json that is not memorybench's; choose another folder") from None
            if found != FORMAT:
                raise StoreError(f"--out {root} was written by a memorybench results format {found!r}; this version reads format {FORMAT}: choose another --out")
        elif root.exists() and (root / "runs").exists():
            raise StoreError(f"--out {root} has a runs/ folder but no store.json: not a memorybench {FORMAT} results folder; choose another --out")
        try:
            store.runs_dir.mkdir(parents=True, exist_ok=True)
            if not meta.exists():
                write_json_atomic(meta, {"format": FORMAT, "sweeps": []})
        except OSError as exc:
            raise StoreError(f"--out {root} cannot be written: {exc.strerror or exc}") from None
        return store

    def folder(self, config: RunConfig) -> Path:
        return self.runs_dir / config.run_id()

    def is_complete(self, config: RunConfig, retry_failed: bool = False) -> bool:
        result = self.folder(config) / "result.json"
        if not result.exists():
            return False
        return not (retry_failed and json.loads(result.read_text())["status"] != "ok")

    def remove_leftovers(self) -> None:
        """Delete the hidden folders of runs that a killed sweep left unfinished."""
        for leftover in self.runs_dir.glob(".*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def train(self, config: RunConfig) -> RunResult:
        """Train one run (failures are recorded, not raised) and move it into place."""
        checkpoint: dict = {}
        result = run_safely(config, checkpoint)
        self._place(config, result, checkpoint.get("state_dict"))
        return result

    def train_pack(self, configs: list[RunConfig]) -> list[RunResult]:
        """Train runs of one cell that differ only in seed and length as one packed model (memorybench.packed_training).

        If the pack fails (a NaN in one run, say), each run is trained alone instead,
        so one bad seed costs only its own run.
        """
        try:
            results, states = train_packed(configs)
        except Exception:
            return [self.train(config) for config in configs]
        for config, result, state in zip(configs, results, states):
            self._place(config, result, state)
        return results

    def _place(self, config: RunConfig, result: RunResult, state_dict: dict | None) -> None:
        partial = Path(tempfile.mkdtemp(dir=self.runs_dir, prefix=f".{config.run_id()}."))
        write_json_atomic(partial / "env.json", environment())
        save_run(partial, config, result, state_dict)
        final = self.folder(config)
        if final.exists():  # --force, --retry-failed, or a concurrent sweep finished it first
            old = final.rename(self.runs_dir / f".{final.name}.old.{uuid.uuid4().hex}")
            partial.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            partial.rename(final)

    def record_sweep(self, entry: dict) -> None:
        meta = json.loads(self.meta_path.read_text())
        meta["sweeps"].append(entry)
        write_json_atomic(self.meta_path, meta)

    def sweeps(self) -> list[dict]:
        return json.loads(self.meta_path.read_text())["sweeps"]

    def collect(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(runs, curves) read from every complete run folder, sorted by cell, length, seed."""
        rows, curves = [], []
        for folder in sorted(p for p in self.runs_dir.iterdir() if not p.name.startswith(".")):
            if not (folder / "result.json").exists():
                continue
            config = json.loads((folder / "config.json").read_text())
            env = json.loads((folder / "env.json").read_text()) if (folder / "env.json").exists() else {}
            row = {"run_id": folder.name, **config, "task_params": json.dumps(config["task_params"], sort_keys=True)}
            row.update(json.loads((folder / "result.json").read_text()))
            row.update({"commit": env.get("commit", ""), "torch": env.get("torch", ""), "finished": env.get("date", "")})
            rows.append(row)
            run_curves = pd.read_csv(folder / "curves.csv")
            for key in RUN_KEYS:
                run_curves.insert(RUN_KEYS.index(key), key, row[key])
            curves.append(run_curves)
        runs = pd.DataFrame(rows)
        curves = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=[*RUN_KEYS, *CURVE_COLUMNS])
        if not runs.empty:
            runs = runs.sort_values(["protocol", "cell", "seq_len", "seed"], key=_cell_order, kind="stable", ignore_index=True)
        return runs, curves

    def write_tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        runs, curves = self.collect()
        self.tables_dir.mkdir(exist_ok=True)
        write_atomic(self.tables_dir / "runs.csv", lambda tmp: runs.to_csv(tmp, index=False))
        write_atomic(self.tables_dir / "curves.csv", lambda tmp: curves.to_csv(tmp, index=False))
        return runs, curves


def _cell_order(column: pd.Series) -> pd.Series:
    return column.map(CELL_NAMES.index) if column.name == "cell" else column
