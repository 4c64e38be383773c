"""One run on disk: run.json (its config, result, environment and curves) and checkpoint.pt.

run.json is written last, so a folder with a run.json holds a finished run; every file
is written to a temporary name and renamed into place, so a run killed mid-write leaves
either the old file or none, never half of one. Files and folders get the modes a plain
open() and mkdir() give (0o666 and 0o777 less the umask), not the 0600 and 0700 of the
temporary files and folders they are written as.

Runs of results formats 1 and 2 kept the same values in four files (config.json,
result.json, env.json, curves.csv); format 4 keeps run.json gzip-compressed (run.json.gz, what
`memorybench store compact` leaves: committed results in less than half the bytes). `read_run` reads
every layout, and `compact_run` rewrites a plain folder as run.json.gz, every value as it was (floats
round-trip exactly).

    run.json = {"config": {...}, "environment": {...}, "result": {...},
                "curves": {"columns": ["step", ...], "float32": ["dev_loss", ...], "rows": [[250, 0.31, ...], ...]}}

Example:
    >>> import tempfile
    >>> from memorybench.config import protocol_config
    >>> from memorybench.training import evaluate, load_run, train_and_save
    >>> from memorybench.tasks import get_task
    >>> config = protocol_config("nndl", cell="gru", seq_len=5, steps=20, eval_interval=10, device="cpu")
    >>> folder = train_and_save(config, tempfile.mkdtemp())
    >>> sorted(p.name for p in folder.iterdir())
    ['checkpoint.pt', 'run.json']
    >>> read_run(folder).curves["step"].tolist()
    [10, 20]
    >>> run = load_run(folder)  # a model with the best-dev weights, ready for any data
    >>> data = get_task("nndl").make_data(seq_len=5, seed=7)
    >>> loss, accuracy = evaluate(run.model, get_task("nndl"), data.test)
    >>> run.result.status, 0.0 <= accuracy.item() <= 1.0
    ('ok', True)
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from memorybench.config import RunConfig
from memorybench.result import CURVE_COLUMNS, RunResult
from memorybench.storage.provenance import environment
from memorybench.storage.validate import config_problem, result_problem, run_problem

RUN_FILE = "run.json"  # config, result, environment and curves; written last
RUN_FILE_GZ = "run.json.gz"  # the same document gzip-compressed (format 4): what `store compact` leaves
CHECKPOINT = "checkpoint.pt"  # the best-dev weights; optional (see memorybench.report.prune)
OLD_FILES = (
    "config.json",
    "result.json",
    "env.json",
    "curves.csv",
)  # formats 1-2: result.json written last, env.json optional


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


@dataclass(frozen=True)
class StoredRun:
    """A run's files as stored: plain dicts (a config or result of any format) and its curves."""

    config: dict
    result: dict
    environment: dict  # {} for a run stored without one
    curves: pd.DataFrame  # one row per evaluation point, columns as stored (`RENAMED` maps older names)


class DamagedRun(ValueError):
    """A run file that does not load; the message names the file and why, in one line."""


def _load(path: Path, read):
    try:
        return read(path)
    except (OSError, ValueError) as exc:
        raise DamagedRun(f"{path.name} does not load ({type(exc).__name__})") from exc


def _read_json(path: Path):
    return json.loads(path.read_text())


def _read_curves_csv(path: Path) -> pd.DataFrame:
    """An old curves.csv, every number parsed by Python (the stored digits back bit for bit, in every pandas
    version): a column of whole numbers as integers, any other as floats, an empty cell as NaN."""
    with open(path, newline="") as file:
        header, *rows = csv.reader(file)
    columns = list(zip(*rows)) if rows else [() for _ in header]
    whole = [all(v.lstrip("-").isdigit() for v in column) for column in columns]
    return pd.DataFrame(
        {
            name: [int(v) if is_int else float(v) if v else math.nan for v in column]
            for name, column, is_int in zip(header, columns, whole)
        },
        columns=header,
    )


def is_finished(folder) -> bool:
    """Whether `folder` holds a finished run (of either layout), intact or not."""
    folder = Path(folder)
    return any((folder / name).is_file() for name in (RUN_FILE_GZ, RUN_FILE, "result.json"))


def _read_gzip_json(path: Path):
    return json.loads(gzip.decompress(path.read_bytes()).decode())


def gzip_bytes(text: str) -> bytes:
    """`text` gzip-compressed, the same bytes every time (no file name, no time stamp in the header)."""
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def read_run(folder, plain: bool = False) -> StoredRun:
    """The run stored in `folder`, of any layout: run.json.gz, else run.json, else the four files (with `plain`,
    never the compressed file: what `compact_run` converts). A file that does not load, a part missing, or a
    field missing or of the wrong type (`memorybench.storage.validate`) raises DamagedRun naming it."""
    folder = Path(folder)
    if not plain and (folder / RUN_FILE_GZ).is_file():
        return _document_run(_load(folder / RUN_FILE_GZ, _read_gzip_json), RUN_FILE_GZ)
    if (folder / RUN_FILE).is_file() or not (folder / "result.json").is_file():
        return _document_run(_load(folder / RUN_FILE, _read_json), RUN_FILE)
    return _read_old_layout(folder)


def _document_run(document, name: str) -> StoredRun:
    """A run from its run.json document (`name`: the file it came from, for the messages)."""

    def damaged(exc: Exception) -> DamagedRun:
        return DamagedRun(f"{name} is not a run's ({type(exc).__name__}: {' '.join(str(exc).split())[:80]})")

    try:
        why = run_problem(
            document["config"], document["result"], document["curves"]["columns"], document["curves"]["rows"]
        )
    except (KeyError, TypeError) as exc:
        raise damaged(exc) from exc
    if why:
        raise DamagedRun(why)
    try:
        curves = pd.DataFrame(document["curves"]["rows"], columns=document["curves"]["columns"])
        for column in document["curves"].get("float32", []):
            curves[column] = curves[column].astype(np.float32).astype(np.float64)
        return StoredRun(dict(document["config"]), dict(document["result"]), dict(document["environment"]), curves)
    except (KeyError, TypeError, ValueError) as exc:
        raise damaged(exc) from exc


def _read_old_layout(folder: Path) -> StoredRun:
    """A run of the four-file layout (results formats 1 and 2)."""
    config, result = (_load(folder / name, _read_json) for name in ("config.json", "result.json"))
    why = config_problem(config) or result_problem(result)
    if why:
        raise DamagedRun(why)
    environment = _load(folder / "env.json", _read_json) if (folder / "env.json").exists() else {}
    curves = _load(folder / "curves.csv", _read_curves_csv)
    return StoredRun(config, result, environment, curves)


def _plain(value):
    """A curve value as JSON writes it: numpy scalars as Python numbers, a missing one as NaN."""
    value = value.item() if hasattr(value, "item") else value
    return math.nan if value is None else value


def _as_float32(values: list) -> list[str] | None:
    """Each value as the fewest significant digits (Python's "g" format, the same in every numpy version) that
    give it back exactly, read as a double and rounded to float32, when every one is such a float32 value; else
    None. NaN and infinities as JSON writes them.

    >>> _as_float32([0.10000000149011612, float("nan"), 3e9, 1.0]), _as_float32([0.1]), _as_float32([3])
    (['0.1', 'NaN', '3e+09', '1.0'], None, None)
    """
    texts = []
    for value in values:
        if not isinstance(value, float):
            return None
        if not math.isfinite(value):
            texts.append(json.dumps(value))
            continue
        text = next((t for t in (f"{value:.{p}g}" for p in range(1, 10)) if float(np.float32(float(t))) == value), None)
        if text is None:
            return None
        texts.append(text if any(c in text for c in ".e") else text + ".0")  # a float in JSON too: 1 -> 1.0
    return texts


def run_document(run: StoredRun) -> str:
    """run.json's text: config, environment and result indented, then the curves one row a line, without spaces.
    A curve column of float32 values (the dev loss, score and gradient norm a float32 model reports) is written
    as float32's shortest decimals and named in "float32", read back as those float32 values: a run's curves
    are most of its bytes, and this halves them, every value kept exactly."""
    head = json.dumps(
        {"config": run.config, "environment": run.environment, "result": run.result},
        indent=2,
        sort_keys=True,
        allow_nan=True,
    )
    columns = {name: [_plain(v) for v in run.curves[name].tolist()] for name in run.curves.columns}
    single = {name: _as_float32(values) for name, values in columns.items()}
    texts = [single[name] or [json.dumps(v, allow_nan=True) for v in values] for name, values in columns.items()]
    body = ",".join(f"\n    [{','.join(row)}]" for row in zip(*texts)) + ("\n  " if len(run.curves) else "")
    curves = (
        f'{{"columns": {json.dumps(list(columns))}, "float32": {json.dumps([n for n in columns if single[n]])},\n'
        f'  "rows": [{body}]}}'
    )
    return f'{head[:-2]},\n  "curves": {curves}\n}}\n'  # head[:-2]: the indented dict without its closing "\n}"


def save_run(folder, config: RunConfig, result: RunResult, checkpoint: Callable[[Path], None] | None) -> Path:
    """Write run files into `folder`, run.json last (with the environment of this process); `checkpoint(path)`
    writes the best-dev weights (the engine's writer: this package imports no torch), None for a run without them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if checkpoint is not None:
        write_atomic(folder / CHECKPOINT, checkpoint)
    curves = pd.DataFrame([[row.get(c) for c in CURVE_COLUMNS] for row in result.curves], columns=list(CURVE_COLUMNS))
    write_text_atomic(
        folder / RUN_FILE, run_document(StoredRun(config.to_dict(), result.summary(), environment(), curves))
    )
    return folder


def compact_run(folder) -> bool:
    """Rewrite a run folder of the plain layouts (run.json, or the four files of formats 1 and 2) as run.json.gz
    (the same document, bit for bit), then remove the plain files; False when there is nothing to do. The plain
    files go only once run.json.gz reads back as the same document (a float's repr gives it back exactly); killed
    midway, it leaves run.json.gz beside them, and the next compact writes it again from them.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> run = {"config.json": '{"cell": "srn", "seq_len": 5, "seed": 0}', "result.json": '{"status": "ok", "test_score": 0.1, "best_dev_score": 0.1}',
    ...        "curves.csv": "step,dev_score\\n5,0.30000000000000004\\n"}
    >>> for name, text in run.items():
    ...     _ = (folder / name).write_text(text)
    >>> compact_run(folder), [p.name for p in folder.iterdir()], read_run(folder).curves["dev_score"].tolist()
    (True, ['run.json.gz'], [0.30000000000000004])
    """
    folder = Path(folder)
    plain = [folder / name for name in (RUN_FILE, *OLD_FILES) if (folder / name).exists()]
    if not plain:
        return False
    text = run_document(read_run(folder, plain=True))
    write_atomic(folder / RUN_FILE_GZ, lambda path: Path(path).write_bytes(gzip_bytes(text)))
    if run_document(read_run(folder)) != text:
        (folder / RUN_FILE_GZ).unlink()
        raise DamagedRun(f"{folder}: {RUN_FILE_GZ} did not read back as written; the plain files are kept")
    for path in plain:
        path.unlink()
    return True
