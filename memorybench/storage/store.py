"""The results store: a folder of runs, and the tidy table built from them. It only stores:
runs are trained elsewhere (an executor) and handed to `place`, by the one writer.

    OUT/
      store.json            format version, and one entry per sweep invoked (provenance)
      runs/<run_id>/        run.json (config, result, environment, curves), checkpoint.pt
      runs/<run_id>.link    or: one line, the path (from runs/) of the same run in another store
      tables/runs.csv       one row per run: config, scores, timing, device, status, error
      report.md, figures/   written by memorybench.report.build

A folder belongs to one store: `open` refuses a non-empty folder that memorybench did
not create, and a sweep holds the folder's lock while it writes, so a second sweep on
the same folder is refused, naming the first's process and start time (from
`.lock.holder`, written while the lock is held). The lock is the operating system's
(`filelock` on `.lock`, an empty file that stays): it is free again when its process
ends, however it ends. A run folder whose files do not load (or whose run.json misses a
field or holds one of the wrong type, such as "hidden_size": "32": `storage.validate`) is
*damaged*: `scan` names it, the report lists it as unreadable and skips it, and the next
sweep retrains it. Whether its cell and task are registered is not asked here. A
damaged `store.json` is named as such; `rebuild` writes a fresh one for the intact run
folders, keeping a readable one's record of sweeps with each command made rerunnable
(`memorybench store rebuild DIR`).

A run is stored once. Two studies that share runs (the 5-seed sweep whose seeds 0-2 are
the 3-seed sweep's) keep one copy: `share` writes `runs/<run_id>.link` instead of a
folder, and every reader finds the run's files through `run_folder`. A link whose run is
gone is *damaged* like a folder that does not load (the next sweep trains the run here).
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

import datetime as dt
import json
import os
import shutil
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from filelock import FileLock, Timeout

from memorybench.config import RunConfig, config_defaults
from memorybench.result import CURVE_COLUMNS, RENAMED, RunResult, upgrade
from memorybench.storage.commands import corrected_sweeps
from memorybench.storage.rundir import (
    CHECKPOINT,
    DamagedRun,
    compact_run,
    is_finished,
    make_temp_dir,
    read_run,
    save_run,
    write_atomic,
    write_json_atomic,
    write_text_atomic,
)

LINK = ".link"  # runs/<run_id>.link: a run shared from another store
LOCK = ".lock"  # the file the operating system locks while a sweep writes (never removed: see `lock`)
HOLDER = ".lock.holder"  # who holds the lock (process, command, start time), written while holding it
FORMAT = 4  # bump when the layout changes in a way older readers cannot follow (2: runs/<run_id>.link; 3: run.json;
# 4: run.json.gz, what `store compact` leaves)
READS = (1, 2, 3, 4)  # each format reads the ones before it: a store is marked 3 when it first writes a run.json or
# shares a run, 4 when `store compact` first leaves a run.json.gz
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
    def open(cls, root, create: bool = True) -> ResultsStore:
        """Open a store (or, with `create`, make one in a new or empty folder); refuses files,
        unwritable places, other formats, damaged store.json files and folders not made by memorybench."""
        root = Path(root)
        if root.is_symlink() and not root.exists():
            raise StoreError(
                f"{root} is a link to {os.readlink(root)}, which does not exist; give a folder (new or made by memorybench)"
            )
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root} is a file; give a folder (new or made by memorybench)")
        existing = root
        while not existing.exists():
            existing = existing.parent
        if not os.access(existing, os.W_OK | os.X_OK):
            raise StoreError(f"{root} is not writable ({existing} does not allow writing)")
        store = cls(root)
        meta = store.meta_path
        rebuild = f"`memorybench report {root} --rebuild-store` rebuilds it from the intact run folders"
        if meta.exists():
            try:
                found = json.loads(meta.read_text())
            except (ValueError, UnicodeDecodeError):
                raise StoreError(f"{meta} is damaged (not readable JSON); {rebuild}") from None
            if not isinstance(found, dict) or "format" not in found:
                raise StoreError(f"{root} holds a store.json that is not memorybench's; choose another folder")
            if found["format"] not in READS:
                raise StoreError(
                    f"{root} was written by a memorybench results format {found['format']!r}; this version reads formats "
                    f"{', '.join(map(str, READS[:-1]))} and {READS[-1]}: choose another folder"
                )
        elif root.exists() and (root / "runs").is_dir():
            raise StoreError(f"{root} has a runs/ folder but no store.json; if memorybench wrote it, {rebuild}")
        elif root.exists() and any(
            p.name not in (LOCK, HOLDER) for p in root.iterdir()
        ):  # a refused command may leave its lock
            raise StoreError(
                f"{root} is not empty and was not made by memorybench (no store.json); choose a new or empty folder"
            )
        if not create and not meta.exists():
            raise StoreError(f"{root} is not a memorybench results folder (no store.json)")
        try:
            store.runs_dir.mkdir(parents=True, exist_ok=True)
            if not meta.exists():
                write_json_atomic(meta, {"format": FORMAT, "sweeps": []})
        except OSError as exc:
            raise StoreError(f"{root} cannot be written: {exc.strerror or exc}") from None
        return store

    def folder(self, config: RunConfig) -> Path:
        return self.run_folder(config.run_id())

    def run_folder(self, run_id: str) -> Path:
        """Where run `run_id`'s files are: its own folder, or the folder its link names (followed on
        when that store has since linked the run onward itself, up to 8 links)."""
        folder = self.runs_dir / run_id
        for _ in range(8):
            link = folder.parent / f"{run_id}{LINK}"
            if folder.exists() or not link.is_file():
                break
            try:
                folder = Path(os.path.normpath(folder.parent / link.read_text().strip()))
            except (OSError, UnicodeDecodeError):
                break
        return folder

    def _link(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}{LINK}"

    def share(self, run_id: str, folder: Path) -> None:
        """Keep run `run_id` as a link to `folder` (the same run in another store) instead of a
        copy; a folder of its own under that id is removed once the link is in place."""
        folder = Path(folder)
        if folder.name != run_id or not is_finished(folder):
            raise StoreError(f"{folder} is not a finished run {run_id}; only the same run can be shared")
        own = self.runs_dir / run_id
        if own.exists() and own.resolve() == folder.resolve():
            raise StoreError(f"{folder} is this store's own run {run_id}; a run cannot be shared with itself")
        self._mark_format()  # readers of format 1 would not see the links, nor those of 2 a linked run.json
        write_text_atomic(self._link(run_id), os.path.relpath(folder, self.runs_dir) + "\n")
        if own.is_dir():
            shutil.rmtree(self._set_aside(own))

    def _mark_format(self, needed: int = 3) -> None:
        """Mark store.json with format `needed` where it says less (before writing what older readers would miss)."""
        meta = json.loads(self.meta_path.read_text())
        if meta["format"] < needed:
            write_json_atomic(self.meta_path, {**meta, "format": needed})

    def compact(self) -> tuple[int, dict[str, str]]:
        """Rewrite this store's own run folders of the plain layouts (run.json; the four files of formats 1 and 2) as
        run.json.gz, every value as stored; returns (how many were rewritten, {damaged run id: why}: left as they
        are). The folder is marked format 4 before the first is written (a run a link names stays with its
        store)."""
        folders = (
            [p for p in sorted(self.runs_dir.iterdir()) if p.is_dir() and not p.name.startswith(".")]
            if self.runs_dir.is_dir()
            else []
        )
        damaged = {
            folder.name: why for folder in folders if is_finished(folder) for why in [self.damage(folder)] if why
        }
        todo = [folder for folder in folders if is_finished(folder) and folder.name not in damaged]
        if todo:
            self._mark_format(FORMAT)  # older readers would not see a run.json.gz
        return sum(compact_run(folder) for folder in todo), damaged

    def _set_aside(self, folder: Path) -> Path:
        """Rename a run folder to a hidden name before deleting it, so that its run id never names
        a half-deleted folder (a killed process leaves it to `remove_leftovers`)."""
        return folder.rename(self.runs_dir / f".{folder.name}.old.{uuid.uuid4().hex}")

    @classmethod
    def rebuild(cls, root) -> tuple[int, int, int]:
        """Write store.json anew for the intact runs: a readable one keeps its record of sweeps, each recorded
        command made rerunnable where it can be (`memorybench.storage.commands`) and flagged where not; a damaged
        or lost one starts an empty record (the runs keep their own provenance). Returns (intact runs, commands
        corrected, commands flagged)."""
        store = cls(root)
        if not store.runs_dir.is_dir():
            raise StoreError(f"{root} has no runs/ folder: nothing to rebuild a store from")
        intact, _ = store.scan()
        try:
            meta = json.loads(store.meta_path.read_text())
            sweeps, fmt = list(meta["sweeps"]), meta["format"] if meta["format"] in READS else FORMAT
        except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError):
            meta, sweeps, fmt = {}, [], FORMAT
        sweeps, fixed, flagged = corrected_sweeps(sweeps)
        date = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        write_json_atomic(store.meta_path, {**meta, "format": fmt, "sweeps": sweeps, "rebuilt": date})
        return len(intact), fixed, flagged

    def damage(self, folder: Path) -> str:
        """Why a finished run folder cannot be read ('' when every file loads and every field of its config,
        result and curves is present and of its type: `memorybench.storage.validate`). Whether its cell and
        task are registered here is not asked: a folder is read without the plugins its runs used."""
        try:
            read_run(folder)
        except DamagedRun as exc:
            return str(exc)
        checkpoint = folder / CHECKPOINT
        if checkpoint.exists():
            try:
                with zipfile.ZipFile(checkpoint) as archive:  # torch.save's format: every member carries a CRC
                    corrupt = archive.testzip()
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                return f"checkpoint.pt does not load ({type(exc).__name__}: {exc})"
            if corrupt:
                return f"checkpoint.pt does not load (member {corrupt} is corrupt)"
        return ""

    def scan(self) -> tuple[list[Path], dict[str, str]]:
        """(intact finished run folders, {damaged run id: why}), sorted by run id."""
        intact, damaged = [], {}
        for entry in (
            sorted(p for p in self.runs_dir.iterdir() if not p.name.startswith(".")) if self.runs_dir.is_dir() else []
        ):
            run_id = entry.name.removesuffix(LINK)
            if entry.name.endswith(LINK) and (self.runs_dir / run_id).exists():
                continue  # a folder of its own (a retrained run) comes before its old link
            folder = self.run_folder(run_id)
            if not is_finished(folder):
                if entry.name.endswith(LINK):
                    damaged[run_id] = f"shared from {folder}, which holds no finished run"
                continue
            why = self.damage(folder)
            if why:
                damaged[run_id] = why
            else:
                intact.append(folder)
        return intact, damaged

    def is_complete(self, config: RunConfig, retry_failed: bool = False) -> bool:
        """Finished and intact (and, with `retry_failed`, not failed)."""
        folder = self.folder(config)
        if not is_finished(folder) or self.damage(folder):
            return False
        return not (retry_failed and _failed(folder))

    def complete_ids(self, intact: list[Path], retry_failed: bool = False) -> set[str]:
        """The run ids of `intact` folders (from `scan`) that count as complete, as `is_complete` decides."""
        return {folder.name for folder in intact if not (retry_failed and _failed(folder))}

    @contextmanager
    def lock(self, command: str = ""):
        """Hold the folder for one sweep: a second sweep (another process, or this one again) is
        refused, naming the first's process and start time. The operating system holds the lock, on
        `.lock`, so it is free again when its process ends, however it ends; `.lock` itself is never
        removed (a process could still lock the removed file while another locks a new one)."""
        lock = FileLock(str(self.root / LOCK))
        try:
            lock.acquire(blocking=False)
        except Timeout:
            held = self._holder_note()
            raise StoreError(
                f"another sweep (process {held.get('pid', '?')}, started {held.get('started', '?')}) is writing to {self.root}; "
                "wait for it to finish or stop it"
            ) from None
        note = self.root / HOLDER
        try:
            write_json_atomic(
                note,
                {
                    "pid": os.getpid(),
                    "command": command,
                    "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                },
            )
            yield
        finally:
            note.unlink(missing_ok=True)  # before the lock goes, so that it never removes the next holder's note
            lock.release()

    def holder(self) -> dict | None:
        """Who holds the folder's lock (`pid`, `command`, `started`), or None when it is free; a free
        lock is taken for an instant to tell."""
        if not (self.root / LOCK).exists():
            return None
        lock = FileLock(str(self.root / LOCK))
        try:
            lock.acquire(blocking=False)
        except Timeout:
            return self._holder_note()
        lock.release()
        return None

    def _holder_note(self, wait: float = 2.0) -> dict:
        """The note of the held lock's process: a holder writes it just after taking the lock, so a
        note missing or left by a process that is gone is read again for up to `wait` seconds."""
        deadline = time.monotonic() + wait
        while True:
            try:
                held = json.loads((self.root / HOLDER).read_text())
            except (OSError, ValueError, UnicodeDecodeError):
                held = {}
            held = held if isinstance(held, dict) else {}
            pid = held.get("pid")
            if (isinstance(pid, int) and _alive(pid)) or time.monotonic() > deadline:
                return held
            time.sleep(0.05)

    def remove_leftovers(self) -> None:
        """Delete the hidden folders of runs that a killed sweep left unfinished."""
        for leftover in self.runs_dir.glob(".*"):
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)

    def place(
        self,
        config: RunConfig,
        result: RunResult,
        checkpoint: Callable[[Path], None] | None,
        extras: dict[str, pd.DataFrame] | None = None,
    ) -> None:
        """Store a finished run under its run id, atomically: `checkpoint(path)` writes its best-dev weights
        (`models.checkpoint_writer`; None for a run without them); `extras`
        (file name -> table) are a diagnostic's per-run tables, written as CSV beside the run's files.
        A run this store shared from another becomes its own (the link goes)."""
        self._mark_format()
        partial = make_temp_dir(self.runs_dir, f".{config.run_id()}.")
        save_run(partial, config, result, checkpoint)
        for name, table in (extras or {}).items():
            table.to_csv(partial / name, index=False)
        final = self.runs_dir / config.run_id()
        if final.exists():  # --force, --retry-failed, or a concurrent sweep finished it first
            old = self._set_aside(final)
            partial.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            partial.rename(final)
        self._link(config.run_id()).unlink(missing_ok=True)

    def record_sweep(self, entry: dict) -> None:
        meta = json.loads(self.meta_path.read_text())
        meta["sweeps"].append(entry)
        write_json_atomic(self.meta_path, meta)

    def sweeps(self) -> list[dict]:
        return json.loads(self.meta_path.read_text())["sweeps"]

    def collect(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(runs, curves) read from every intact finished run folder, sorted by cell, length, seed
        (damaged folders are left out: see `scan`)."""
        rows, curves = [], []
        for folder in self.scan()[0]:
            stored = read_run(folder)
            config = {**config_defaults(), **stored.config}  # fields newer than the run at their defaults
            env = stored.environment
            row = {"run_id": folder.name, **config, "task_params": json.dumps(config["task_params"], sort_keys=True)}
            row.update(upgrade(stored.result))
            row.update(
                {"commit": env.get("commit", ""), "torch": env.get("torch", ""), "finished": env.get("date", "")}
            )
            if not row.get("machine"):  # stored before runs kept it: the CPU and torch of the process that stored it
                row["machine"] = " | ".join(
                    x for x in (env.get("cpu", ""), env.get("torch", "") and f"torch {env['torch']}") if x
                )
            rows.append(row)
            run_curves = stored.curves.rename(columns=RENAMED)
            for key in RUN_KEYS:
                run_curves.insert(RUN_KEYS.index(key), key, row[key])
            curves.append(run_curves)
        runs = pd.DataFrame(rows)
        curves = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=[*RUN_KEYS, *CURVE_COLUMNS])
        if not runs.empty:
            runs = runs.sort_values(
                ["protocol", "cell", "seq_len", "seed"], key=_cell_order, kind="stable", ignore_index=True
            )
        return runs, curves

    def write_tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Write tables/runs.csv; returns (runs, curves) as `collect` does."""
        runs, curves = self.collect()
        self.tables_dir.mkdir(exist_ok=True)
        write_atomic(self.tables_dir / "runs.csv", lambda tmp: runs.to_csv(tmp, index=False))
        (self.tables_dir / "curves.csv").unlink(missing_ok=True)  # older stores kept every curve twice
        return runs, curves


def open_results(root):
    """The results folder `root` as a store, for reading: a missing folder or one without store.json is a StoreError."""
    root = Path(root)
    if not root.is_dir():
        raise StoreError(f"{root} is not a folder; give a results folder written by memorybench")
    if not (root / "store.json").exists():
        raise StoreError(f"{root} is not a memorybench results folder (no store.json)")
    return ResultsStore.open(root, create=False)


def _failed(folder: Path) -> bool:
    return read_run(folder).result["status"] != "ok"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cell_order(column: pd.Series) -> pd.Series:
    """Cells in the cell registry's order (built-in first, then users' in the order registered) where this process
    has loaded it, without importing it (and torch with it); cells it does not hold, and every cell in a process
    that has not loaded it, after those by name. Every table written to disk is written with the registry loaded
    (`memorybench.report.build`)."""
    cells = sys.modules.get("memorybench.cells")
    order = {name: f"{i:06d}" for i, name in enumerate(cells.cell_names() if cells else ())}
    return column.map(lambda c: order.get(c, f"{len(order):06d}{c}")) if column.name == "cell" else column
