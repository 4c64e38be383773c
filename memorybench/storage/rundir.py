"""One run on disk: config.json, curves.csv, checkpoint.pt and result.json.

result.json is written last, so a folder with a result.json holds a finished run;
every file is written to a temporary name and renamed into place, so a run killed
mid-write leaves either the old file or none, never half of one. Files and folders get
the modes a plain open() and mkdir() give (0o666 and 0o777 less the umask), not the
0600 and 0700 of the temporary files and folders they are written as.

Example:
    >>> import tempfile
    >>> from memorybench.config import protocol_config
    >>> from memorybench.training import evaluate, load_run, train_and_save
    >>> from memorybench.tasks import get_task
    >>> config = protocol_config("nndl", cell="gru", seq_len=5, steps=20, eval_interval=10, device="cpu")
    >>> folder = train_and_save(config, tempfile.mkdtemp())
    >>> run = load_run(folder)  # a model with the best-dev weights, ready for any data
    >>> data = get_task("nndl").make_data(seq_len=5, seed=7)
    >>> loss, accuracy = evaluate(run.model, get_task("nndl"), data.test)
    >>> run.result.status, 0.0 <= accuracy.item() <= 1.0
    ('ok', True)
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from memorybench.config import RunConfig
from memorybench.result import CURVE_COLUMNS, RunResult

CHECKPOINT = "checkpoint.pt"  # the best-dev weights; optional (see memorybench.report.prune)


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (/proc/self/status);
    elsewhere set and restored at once (os.umask is the only way to read it there)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain open() would give a new file: 0o666 less the umask."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode a plain mkdir() would give a new folder: 0o777 less the umask."""
    return 0o777 & ~current_umask()


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new hidden folder in `parent` (tempfile.mkdtemp), with the mode mkdir() would give it
    (mkdtemp makes it 0700 whatever the umask), to be renamed into place once complete."""
    folder = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    os.chmod(folder, dir_mode())
    return folder


def write_atomic(path: Path, write) -> None:
    """Call write(tmp_path), then rename tmp_path to `path` (atomic on POSIX). The file gets the
    mode a plain open() would give it (0o666 less the umask), not tempfile's 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: Path(tmp).write_text(text))


def write_csv_tables(folder: Path, tables: dict) -> list[Path]:
    """Write each pandas frame of `tables` (file name -> frame) into `folder` atomically, without the index; the paths written."""
    paths = []
    for name, frame in tables.items():
        paths.append(Path(folder) / name)
        write_atomic(paths[-1], lambda tmp, frame=frame: frame.to_csv(tmp, index=False))
    return paths


def write_json_atomic(path: Path, value) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, sort_keys=True, allow_nan=True) + "\n")


def save_run(folder, config: RunConfig, result: RunResult, checkpoint: Callable[[Path], None] | None) -> Path:
    """Write run files into `folder`, result.json last; `checkpoint(path)` writes the best-dev weights
    (the engine's writer: this package imports no torch), None for a run without them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "config.json", config.to_dict())
    curves = pd.DataFrame(result.curves, columns=list(CURVE_COLUMNS))
    write_atomic(folder / "curves.csv", lambda tmp: curves.to_csv(tmp, index=False))
    if checkpoint is not None:
        write_atomic(folder / CHECKPOINT, checkpoint)
    write_json_atomic(folder / "result.json", result.summary())
    return folder
