"""Saved models scored where they were not trained: at longer lengths, and on a larger test set.

A run is trained and tested at one length L, and the book's digit sum tests it on 100
sequences. `score_at` takes a stored run's best-dev model and scores it, by its task's
metric, on a *fresh* test set of `size` sequences (1000 by default) at any length: at L
itself that is the same measurement on ten times the sequences (beside the stored
100-sequence test score, whose sampling noise it shows), and at 2L or 3L it asks whether
what the model learned carries past the length it was trained on. A recurrent model
runs at any length; it is read out on its last state (or, for a per-step task such as
copy memory, at every step: the fresh targets have the new length's shape).

Fresh data. The test set is drawn by the run's own task generator, with the run's
task parameters, from the seed `run seed + seed_offset` (`FRESH_SEED_OFFSET` =
1,000,003 by default) instead of the run seed, so it is not the run's own training,
dev or test data yet is the same for the same run every time:

- the digit sum, the book's data (`nndl`): `make_nndl_data(test_len, seed + offset,
  train_copies=1, eval_copies=size // 100)`, its test split: each of the 100 operand
  pairs `size // 100` times, one noise digit each (so `size` is rounded down to a
  multiple of 100; the returned n says how many). With copies other than the book's
  3/1/1 the generator is not replayed through the book's lengths: a plain
  RandomState(seed + offset) pass over train, dev, test at `test_len`.
- every other task (`stream`, `adding`, `copy`, `delayed_recall`, ...): its
  `make_data(test_len, seed + offset, **task_params, eval_size=size)` test split,
  whose generator is seeded by `split_seed(seed + offset, "test", test_len)`, a
  SeedSequence stream independent of the run seed's.

A task whose generator cannot make a set of that size at that length (the sequential
digits, whose length is the image's) raises ValueError; `extrapolation_table` skips
such a run and length with a warning.

    memorybench diagnose extrapolate results/ [--factors 1 2 3] [--size 1000]
    # tables/extrapolation.csv, tables/extrapolation_summary.csv, figures/extrapolation/<task>.png

Example:
    >>> import tempfile
    >>> from memorybench.config import protocol_config
    >>> from memorybench.training import train_and_save
    >>> folder = train_and_save(protocol_config("nndl", cell="gru", seq_len=5, steps=20, eval_interval=10, device="cpu"), tempfile.mkdtemp())
    >>> score, n = score_at(folder, test_len=10)  # twice the training length, 1000 fresh sequences
    >>> n, 0.0 <= score <= 1.0, score_at(folder, test_len=10) == (score, n)
    (1000, True, True)
    >>> default_factors("nndl"), default_factors("adding")
    ((1, 2, 3), (1, 2))
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D

from memorybench.analysis.summary import mean_interval
from memorybench.cells import cell_names, get_cell
from memorybench.config import RunConfig
from memorybench.diagnostics.command import one_thread
from memorybench.diagnostics.defaults import DEFAULT_SIZE, MIN_SIZE
from memorybench.report.figures import save_figure, plt  # pyplot on the figures' Agg backend
from memorybench.report.sections import ReportSection, register_section
from memorybench.storage.rundir import write_csv_tables
from memorybench.storage.store import ResultsStore, open_results
from memorybench.tasks import Split, TaskSpec, get_task
from memorybench.training import load_run, trained_model
from memorybench.analysis.experiments import experiment_label, label_of
from memorybench.report.markdown import interval_text, markdown_table

FRESH_SEED_OFFSET = 1_000_003  # fresh data come from run seed + this: never the run's own seed
OUTPUT_KINDS = ("class", "class_per_step", "real")  # what `score_at` reads out (every output kind a task can have)
RUN_COLUMNS = [
    "experiment",
    "run_id",
    "task",
    "cell",
    "seq_len",
    "seed",
    "test_len",
    "factor",
    "fresh_seed",
    "n",
    "score",
    "book_test_score",
]
GROUP = ["experiment", "task", "cell", "seq_len", "test_len", "factor"]  # what a summary over seeds is per
SUMMARY_COLUMNS = GROUP + ["n", "mean", "ci_low", "ci_high", "sequences", "book_mean", "diff_mean", "diff_sd"]
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")  # one per training length in a panel


def default_factors(task: str) -> tuple[int, ...]:
    """The test-length factors a task is scored at by default: its spec's (`TaskSpec.extrapolation_factors`;
    1, 2, 3 for the digit sum, 1, 2 for the others)."""
    return check_factors(get_task(task).extrapolation_factors)


def check_factors(factors) -> tuple[int, ...]:
    """The factors as a sorted tuple of distinct integers >= 1; ValueError otherwise (1.0 counts as 1, 1.5 does not)."""
    if isinstance(factors, (str, bytes)) or not isinstance(factors, Sequence) or not factors:
        raise ValueError(f"factors={factors!r} is not allowed; give one or more whole numbers >= 1")
    checked = []
    for factor in factors:
        whole = (
            isinstance(factor, numbers.Real)
            and not isinstance(factor, bool)
            and math.isfinite(factor)
            and float(factor).is_integer()
        )
        if not whole or factor < 1:
            raise ValueError(
                f"factor {factor!r} is not allowed; a factor is a whole number >= 1 (the test length is factor x the training length)"
            )
        checked.append(int(factor))
    return tuple(sorted(set(checked)))


def check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < MIN_SIZE:
        raise ValueError(
            f"size={size!r} is not allowed; the fresh test set needs a whole number >= {MIN_SIZE} of sequences"
        )
    return int(size)


def fresh_split(
    config: RunConfig, test_len: int, size: int = DEFAULT_SIZE, seed_offset: int = FRESH_SEED_OFFSET
) -> Split:
    """The fresh test set of a run at `test_len`: its task's generator and parameters, seed run seed + `seed_offset`
    (see the module's docstring); ValueError when the task's generator cannot make it."""
    task = get_task(config.task)
    size = check_size(size)
    if isinstance(seed_offset, bool) or not isinstance(seed_offset, numbers.Integral) or seed_offset < 1:
        raise ValueError(
            f"seed_offset={seed_offset!r} is not allowed; a whole number >= 1 (0 would draw from the run's own seed)"
        )
    seed = config.seed + seed_offset
    if task.sized_test is None and "eval_size" not in inspect.signature(task.make_data).parameters:
        raise ValueError(
            f"task {config.task!r} takes no eval_size and its spec no sized_test: its test set cannot be sized"
        )
    sized = task.sized_test(size) if task.sized_test is not None else {"eval_size": size}
    return task.make_data(test_len, seed, **{**config.task_params, **sized}).test


@torch.no_grad()
def score_split(model: torch.nn.Module, task: TaskSpec, split: Split) -> float:
    """The task's metric of `model` on `split` (last-state read-out, or per step for a per-step task)."""
    if task.output_kind not in OUTPUT_KINDS:
        raise ValueError(
            f"output_kind={task.output_kind!r} (task {task.name!r}) is not supported; one of {', '.join(OUTPUT_KINDS)}"
        )
    return float(task.score(model(split.inputs), split.targets))


def loaded_run(run_folder):
    saved = load_run(Path(run_folder))
    trained_model(saved, Path(run_folder), "score")
    return saved


def score_at(
    run_folder, test_len: int, size: int = DEFAULT_SIZE, seed_offset: int = FRESH_SEED_OFFSET
) -> tuple[float, int]:
    """(score, n): the saved run's best-dev model scored by its task's metric on a fresh test set of
    `size` sequences at length `test_len` (n: the sequences it holds; the digit sum rounds `size` down
    to a multiple of 100). Deterministic per run, length and size (on one machine and thread count)."""
    saved = loaded_run(run_folder)
    split = fresh_split(saved.config, test_len, size, seed_offset)
    return score_split(saved.model, get_task(saved.config.task), split), len(split)


def _factors_for(factors, task: str) -> tuple[int, ...]:
    if factors is None:
        return default_factors(task)
    if isinstance(factors, Mapping):
        return check_factors(factors.get(task, default_factors(task)))
    return check_factors(factors)


def extrapolation_table(
    root,
    factors: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    size: int = DEFAULT_SIZE,
    seed_offset: int = FRESH_SEED_OFFSET,
    warn: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Every successful run of the results folder `root`, scored at test length factor x its training
    length for each factor (`factors`: one list for every task, a dict task -> list, or None for
    `default_factors`), on `size` fresh sequences. One row per run and test length (`RUN_COLUMNS`):
    factor 1 is the training length on the large fresh set, beside `book_test_score`, the stored test
    score. A run and length the task's generator cannot make (ValueError) is skipped, named to `warn`."""

    size = check_size(size)
    if factors is not None and not isinstance(factors, Mapping):
        check_factors(factors)
    store = open_results(root)
    runs, _ = store.collect()
    runs = runs[runs["status"] == "ok"] if not runs.empty else runs
    if runs.empty:
        raise ValueError(f"{root} holds no successful runs: nothing to score")
    rows = []
    with one_thread():
        for row in runs.to_dict("records"):
            what = f"run {row['run_id']} ({row['task']}, {row['cell']}, L={row['seq_len']}, seed {row['seed']})"
            try:
                saved = loaded_run(store.run_folder(row["run_id"]))
                task = get_task(saved.config.task)
            except ValueError as exc:
                if warn is not None:
                    warn(f"{what} skipped: {exc}")
                continue
            for factor in _factors_for(factors, row["task"]):
                test_len = factor * int(row["seq_len"])
                try:
                    split = fresh_split(saved.config, test_len, size, seed_offset)
                    score = score_split(saved.model, task, split)
                except ValueError as exc:
                    if warn is not None:
                        warn(f"{what} at test length {test_len} skipped: {exc}")
                    continue
                rows.append(
                    dict(
                        experiment=experiment_label(row),
                        run_id=row["run_id"],
                        task=row["task"],
                        cell=row["cell"],
                        seq_len=int(row["seq_len"]),
                        seed=int(row["seed"]),
                        test_len=test_len,
                        factor=factor,
                        fresh_seed=int(row["seed"]) + seed_offset,
                        n=len(split),
                        score=score,
                        book_test_score=float(row["test_score"]),
                    )
                )
    return _ordered(pd.DataFrame(rows, columns=RUN_COLUMNS))


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a fixed order: experiment, task, cells as registered, training length, seed or test length."""
    order = {c: i for i, c in enumerate(cell_names())}
    by = [c for c in ("experiment", "task", "cell", "seq_len", "seed", "test_len") if c in frame]
    return frame.sort_values(
        by,
        key=lambda col: col.map(lambda v: order.get(v, len(order))) if col.name == "cell" else col,
        kind="stable",
        ignore_index=True,
    )


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per experiment, task, cell, training length and test length over the seeds (`SUMMARY_COLUMNS`):
    n, mean and 95% t-interval of the fresh-set score, `sequences` per run; at factor 1 also the mean
    book test score and the per-run difference fresh-set score minus book test score (its mean and
    SD over the runs; NaN at other factors)."""
    rows = []
    for key, group in table.groupby(GROUP, sort=False):
        n, mean, low, high = mean_interval(group["score"])
        entry = {
            **dict(zip(GROUP, key)),
            "n": n,
            "mean": mean,
            "ci_low": low,
            "ci_high": high,
            "sequences": int(group["n"].min()),
            "book_mean": math.nan,
            "diff_mean": math.nan,
            "diff_sd": math.nan,
        }
        if key[GROUP.index("factor")] == 1:
            diff = (group["score"] - group["book_test_score"]).to_numpy(float)
            entry.update(
                book_mean=float(group["book_test_score"].mean()),
                diff_mean=float(diff.mean()),
                diff_sd=float(diff.std(ddof=1)) if len(diff) > 1 else math.nan,
            )
        rows.append(entry)
    return _ordered(pd.DataFrame(rows, columns=SUMMARY_COLUMNS))


def book_differences(table: pd.DataFrame) -> pd.DataFrame:
    """Per experiment and task, over every run at factor 1: runs, sequences, the mean, SD (over runs) and
    largest absolute value of fresh-set score minus book test score, and their correlation."""
    rows = []
    for (experiment, task), group in table[table["factor"] == 1].groupby(["experiment", "task"], sort=False):
        diff = (group["score"] - group["book_test_score"]).to_numpy(float)
        both = group[["score", "book_test_score"]].to_numpy(float)
        corr = float(np.corrcoef(both.T)[0, 1]) if len(group) > 1 and both.std(0).min() > 0 else math.nan
        rows.append(
            dict(
                experiment=experiment,
                task=task,
                runs=len(diff),
                sequences=int(group["n"].min()),
                diff_mean=float(diff.mean()),
                diff_sd=float(diff.std(ddof=1)) if len(diff) > 1 else math.nan,
                diff_max_abs=float(np.abs(diff).max()),
                corr=corr,
            )
        )
    return pd.DataFrame(
        rows, columns=["experiment", "task", "runs", "sequences", "diff_mean", "diff_sd", "diff_max_abs", "corr"]
    )


def plot_extrapolation(table: pd.DataFrame, task: str, path, title: str) -> Path:
    """The mean fresh-set score over seeds (rows of `summary` for one task and experiment) against the test
    length, one panel per cell and one line per training length L (the cell's colour, lighter for shorter
    L, a marker per L); the point at L itself (factor 1) is ringed; the memoryless baseline is dashed.
    The seeds' intervals, too wide at three seeds to read in a figure, are in the summary table."""
    rows = table[table["task"] == task]
    if rows.empty:
        raise ValueError(f"plot_extrapolation: no rows of task {task!r}")
    if "experiment" in rows and rows["experiment"].nunique() != 1:
        raise ValueError(
            f"plot_extrapolation draws one experiment at a time; got {sorted(map(str, rows['experiment'].unique()))}"
        )
    spec = get_task(task)
    cells = [c for c in cell_names() if c in set(rows["cell"])]
    lengths = sorted(rows["seq_len"].unique())
    fig, axes = plt.subplots(
        1, len(cells), figsize=(4.6 * len(cells), 4.2), squeeze=False, sharey=True, layout="constrained"
    )
    low, high = spec.metric_range
    for ax, cell in zip(axes[0], cells):
        for index, length in enumerate(lengths):
            line = rows[(rows["cell"] == cell) & (rows["seq_len"] == length)].sort_values("test_len")
            if line.empty:
                continue
            tint = _tint(get_cell(cell).color, index, len(lengths))
            ax.plot(
                line["test_len"],
                line["mean"],
                color=tint,
                marker=MARKERS[index % len(MARKERS)],
                markersize=5,
                linewidth=1.5,
            )
            at_training = line[line["factor"] == 1]
            ax.plot(
                at_training["test_len"],
                at_training["mean"],
                marker="o",
                markersize=11,
                markerfacecolor="none",
                markeredgecolor="black",
                linestyle="none",
            )
        ax.axhline(spec.baseline, color="grey", linestyle="--", linewidth=1)
        ax.set(title=get_cell(cell).label, xlabel=f"test {spec.length_label}")
        ax.set_xticks(sorted(rows["test_len"].unique()))
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(alpha=0.3)
        if spec.metric == "accuracy":
            ax.set_ylim(0, 1.02)
    sequences = int(rows["sequences"].min())
    axes[0, 0].set_ylabel(f"{spec.metric} on {sequences} fresh sequences (mean over seeds)")
    handles = [
        Line2D(
            [],
            [],
            color=_tint("black", i, len(lengths)),
            marker=MARKERS[i % len(MARKERS)],
            label=f"trained at L = {length}",
        )
        for i, length in enumerate(lengths)
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            markersize=9,
            markerfacecolor="none",
            markeredgecolor="black",
            linestyle="none",
            label="at the training length",
        ),
        Line2D([], [], color="grey", linestyle="--", label=f"memoryless baseline ({spec.baseline:.3g})"),
    ]
    fig.legend(handles=handles, fontsize=7, loc="outside right center")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, Path(path))


def _tint(colour, index: int, count: int) -> tuple[float, ...]:
    """`colour` mixed with white: light for the first of `count` lines, the colour itself for the last."""
    shade = 0.4 + 0.6 * (index + 1) / count
    return tuple(1 - shade * (1 - np.array(to_rgb(colour))))


def write_extrapolation(
    root,
    factors: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    size: int = DEFAULT_SIZE,
    warn: Callable[[str], None] | None = None,
) -> list[Path]:
    """Score every successful run of the results folder `root` (`extrapolation_table`) and write
    tables/extrapolation.csv (one row per run and test length), tables/extrapolation_summary.csv
    (`summary`) and figures/extrapolation/<task>.png (prefixed by the experiment when the folder holds
    several of that task). Bad arguments and folders are refused before anything is written. Returns the paths written."""
    table = extrapolation_table(root, factors, size, warn=warn)
    if table.empty:
        raise ValueError(f"{root} holds no run that can be scored at other lengths")
    store = ResultsStore(root)
    store.tables_dir.mkdir(exist_ok=True)
    means = summary(table)
    written = write_csv_tables(store.tables_dir, {"extrapolation.csv": table, "extrapolation_summary.csv": means})
    figures = store.root / "figures" / "extrapolation"
    figures.mkdir(parents=True, exist_ok=True)
    for (experiment, task), group in means.groupby(["experiment", "task"], sort=True):
        slug = _slug(means, experiment, task)
        title = (
            f"Scored beyond the training length: {get_task(task).label}, {experiment} "
            f"(best-dev checkpoints, {int(group['sequences'].min())} fresh test sequences per run and length)"
        )
        written.append(plot_extrapolation(group, task, figures / f"{slug}{task}.png", title))
    return written


def _slug(means: pd.DataFrame, experiment: str, task: str) -> str:
    """A figure's file-name prefix: the experiment, when the folder holds several of this task ('' otherwise)."""
    several = means.loc[means["task"] == task, "experiment"].nunique() > 1
    return re.sub(r"[^a-z0-9]+", "-", experiment.lower()).strip("-") + "_" if several else ""


def report_section(store, runs=None) -> list[str]:
    """The report's part for a folder scored by this module ([] when tables/extrapolation_summary.csv is absent)."""

    path = store.tables_dir / "extrapolation_summary.csv"
    if not path.exists():
        return []
    means = pd.read_csv(path)
    runs_path = store.tables_dir / "extrapolation.csv"
    per_run = pd.read_csv(runs_path) if runs_path.exists() else None
    lines = [
        "## Beyond the training length",
        "",
        "Each successful run's best-dev model scored on a fresh test set drawn by its own task generator "
        f"(seed run seed + {FRESH_SEED_OFFSET:,}: not its training, dev or test data) at test length factor × its training "
        "length L (`memorybench diagnose extrapolate`; rerun it after retraining): mean [95% t-interval] over seeds "
        "(`tables/extrapolation_summary.csv`, per run in `tables/extrapolation.csv`). The factor-1 column is the "
        "training length on the larger fresh set, beside the stored test score.",
        "",
    ]
    for (experiment, task), group in means.groupby(["experiment", "task"], sort=False):
        spec = get_task(task)
        bounds, digits = spec.metric_range, spec.digits
        factors = sorted(group["factor"].unique())
        sequences = int(group["sequences"].min())
        rows = []
        for (cell, length), at in group.groupby(["cell", "seq_len"], sort=False):
            by_factor = at.set_index("factor")
            first = by_factor.loc[1] if 1 in by_factor.index else None
            book = "–" if first is None else f"{first['book_mean']:.{digits}f}"
            rows.append(
                [label_of(cell), length, book]
                + [
                    interval_text(*by_factor.loc[f, ["n", "mean", "ci_low", "ci_high"]], bounds=bounds, digits=digits)
                    if f in by_factor.index
                    else "–"
                    for f in factors
                ]
            )
        columns = ["cell", "L", "stored test (mean)"] + [
            f"{'L' if f == 1 else f'{f}L'} ({sequences} fresh)" for f in factors
        ]
        heading = f"### {spec.label}, {experiment}"
        lines += [heading, "", markdown_table(pd.DataFrame(rows, columns=columns)), ""]
        if per_run is not None:
            diffs = book_differences(per_run[(per_run["experiment"] == experiment) & (per_run["task"] == task)])
            if len(diffs):
                d = diffs.iloc[0]
                spread = (
                    f"mean {d['diff_mean']:+.{digits + 1}f}, SD {d['diff_sd']:.{digits + 1}f} over {int(d['runs'])} runs, "
                    f"largest {d['diff_max_abs']:.{digits + 1}f} (correlation of the two {d['corr']:.2f})"
                    if d["runs"] > 1
                    else f"{d['diff_mean']:+.{digits + 1}f} (one run)"
                )
                lines += [
                    f"At the training length, the fresh-set {spec.metric} minus the stored test {spec.metric}, per run: "
                    f"{spread}: how far a test score moves between the stored test set and {sequences} fresh sequences.",
                    "",
                ]
        slug = _slug(means, experiment, task)
        figure = store.root / "figures" / "extrapolation" / f"{slug}{task}.png"
        if figure.exists():
            lines += [f"![{spec.label} beyond the training length]({figure.relative_to(store.root).as_posix()})", ""]
    return lines


register_section(
    ReportSection(
        "extrapolation",
        needs=("tables/extrapolation_summary.csv", "tables/extrapolation.csv"),
        write=report_section,
        reads_checkpoints=True,
    )
)
