"""The results store: a folder of runs, and the tidy table built from them. It only stores:
runs are trained elsewhere (an executor) and handed to `place`, by the one writer.

    OUT/
      store.json            format version, and one entry per sweep invoked (provenance)
      runs/<run_id>/        config.json, curves.csv, checkpoint.pt, env.json, result.json
      tables/runs.csv       one row per run: config, scores, timing, device, status, error
      report.md, figures/   written by memorybench.report

Each row is stored once: a run's curve (one row per evaluation point) lives in its own
folder, and `collect()` gathers every curve into one DataFrame. A run folder appears
under its final name only once complete: it is written into a hidden temporary folder
and renamed into place, so a sweep killed at any moment (even with kill -9) leaves
complete runs and hidden leftovers, which the next sweep removes.

Example:
    >>> import tempfile
    >>> from memorybench.config import protocol_config
    >>> from memorybench.result import RunResult
    >>> store = ResultsStore.open(tempfile.mkdtemp())
    >>> config = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, device="cpu")
    >>> result = RunResult("ok", test_score=0.5, curves=[dict(step=5, train_loss=2.0, dev_loss=2.1, dev_score=0.4, grad_norm=1.0)])
    >>> store.is_complete(config), store.place(config, result, None) is None, store.is_complete(config)
    (False, True, True)
    >>> runs, curves = store.collect()
    >>> runs["test_score"].tolist(), curves["dev_score"].tolist()
    ([0.5], [0.4])
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pandas as pd

from .cells import cell_names
from .config import RunConfig
from .provenance import environment
from .result import CURVE_COLUMNS, RENAMED, RunResult, upgrade
from .rundir import save_run, write_atomic, write_json_atomic

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

    def place(self, config: RunConfig, result: RunResult, state_dict: dict | None) -> None:
        """Store a finished run (its best-dev weights, if any) under its run id, atomically."""
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
            config = RunConfig.from_dict(json.loads((folder / "config.json").read_text())).to_dict()  # fields newer than the run at their defaults
            env = json.loads((folder / "env.json").read_text()) if (folder / "env.json").exists() else {}
            row = {"run_id": folder.name, **config, "task_params": json.dumps(config["task_params"], sort_keys=True)}
            row.update(upgrade(json.loads((folder / "result.json").read_text())))
            row.update({"commit": env.get("commit", ""), "torch": env.get("torch", ""), "finished": env.get("date", "")})
            rows.append(row)
            run_curves = pd.read_csv(folder / "curves.csv").rename(columns=RENAMED)
            for key in RUN_KEYS:
                run_curves.insert(RUN_KEYS.index(key), key, row[key])
            curves.append(run_curves)
        runs = pd.DataFrame(rows)
        curves = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=[*RUN_KEYS, *CURVE_COLUMNS])
        if not runs.empty:
            runs = runs.sort_values(["protocol", "cell", "seq_len", "seed"], key=_cell_order, kind="stable", ignore_index=True)
        return runs, curves

    def write_tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Write tables/runs.csv; returns (runs, curves) as `collect` does."""
        runs, curves = self.collect()
        self.tables_dir.mkdir(exist_ok=True)
        write_atomic(self.tables_dir / "runs.csv", lambda tmp: runs.to_csv(tmp, index=False))
        (self.tables_dir / "curves.csv").unlink(missing_ok=True)  # older stores kept every curve twice
        return runs, curves


def _cell_order(column: pd.Series) -> pd.Series:
    """Cells in registry order (built-in first, then users' in the order registered)."""
    order = {name: i for i, name in enumerate(cell_names())}
    return column.map(lambda c: order.get(c, len(order))) if column.name == "cell" else column
