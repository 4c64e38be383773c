"""Saved models scored on data drawn with other task parameters than they were trained on.

The flip-flop paper (Liu et al. 2023) trains at p(ignore) = 0.8 and scores the same models on
sparse sequences (p(ignore) = 0.98: few writes, long gaps a bit must be held across) and dense
ones (0.1: many writes, the memory overwritten all the time). A task names such shifts in its
spec (`TaskSpec.shifts`: name -> task parameters); `shift_table` scores each successful run's
best-dev model on a fresh test set of its own length drawn with each shift's parameters, beside
a fresh set drawn with its own ("as trained"), from the seed the extrapolation diagnostic uses
(run seed + `FRESH_SEED_OFFSET`: never the run's own data).

    memorybench diagnose shift results/flip_flop [--size 1000]
    # tables/shift.csv, tables/shift_summary.csv, figures/shift/<task>.png

Example:
    >>> [name for name, _ in get_task("flip_flop").shifts], task_defaults("flip_flop")
    (['sparse', 'dense'], {'p_ignore': 0.8})
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from memorybench.analysis.summary import mean_interval
from memorybench.cells import cell_names, get_cell
from memorybench.diagnostics.command import one_thread
from memorybench.diagnostics.defaults import DEFAULT_SIZE
from memorybench.diagnostics.extrapolate import FRESH_SEED_OFFSET, check_size, fresh_split, loaded_run, score_split
from memorybench.report.figures import plt, save_figure
from memorybench.report.sections import ReportSection, register_section
from memorybench.storage.rundir import write_csv_tables
from memorybench.storage.store import ResultsStore, open_results
from memorybench.tasks import get_task
from memorybench.analysis.experiments import experiment_label, label_of
from memorybench.report.markdown import interval_text, markdown_table
from memorybench.tasks import TASKS

AS_TRAINED = "as trained"
RUN_COLUMNS = [
    "experiment",
    "run_id",
    "task",
    "cell",
    "seq_len",
    "seed",
    "shift",
    "params",
    "fresh_seed",
    "n",
    "score",
    "book_test_score",
    "reference_score",  # the task's reference rule on the same fresh set (TaskSpec.reference); empty without one
]
GROUP = ["experiment", "task", "cell", "seq_len", "shift"]
SUMMARY_COLUMNS = GROUP + ["params", "n", "mean", "ci_low", "ci_high", "sequences", "reference"]


def shift_table(root, size: int = DEFAULT_SIZE, warn: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per successful run of a task with shifts and per shift (`RUN_COLUMNS`), "as trained" first:
    the run's best-dev model scored by its task's metric on `size` fresh sequences at its own length."""

    size = check_size(size)
    store = open_results(root)
    runs, _ = store.collect()
    runs = (
        runs[(runs["status"] == "ok") & runs["task"].map(lambda t: bool(get_task(t).shifts))]
        if not runs.empty
        else runs
    )
    if runs.empty:
        raise ValueError(
            f"{root} holds no successful run of a task with shifts "
            f"(tasks with shifts: {', '.join(task_names_with_shifts())})"
        )
    rows = []
    with one_thread():
        for row in runs.to_dict("records"):
            try:
                saved = loaded_run(store.run_folder(row["run_id"]))
            except ValueError as exc:
                if warn is not None:
                    warn(
                        f"run {row['run_id']} ({row['task']}, {row['cell']}, L={row['seq_len']}, seed {row['seed']}) skipped: {exc}"
                    )
                continue
            task = get_task(saved.config.task)
            for name, params in ((AS_TRAINED, {}), *task.shifts):
                config = replace(saved.config, task_params={**saved.config.task_params, **params})
                split = fresh_split(config, config.seq_len, size)
                shown = {**task_defaults(task.name), **config.task_params}
                rows.append(
                    dict(
                        experiment=experiment_label(row),
                        run_id=row["run_id"],
                        task=row["task"],
                        cell=row["cell"],
                        seq_len=int(row["seq_len"]),
                        seed=int(row["seed"]),
                        shift=name,
                        params=json.dumps(shown, sort_keys=True),
                        fresh_seed=int(row["seed"]) + FRESH_SEED_OFFSET,
                        n=len(split),
                        score=score_split(saved.model, task, split),
                        book_test_score=float(row["test_score"]),
                        reference_score=(
                            float(task.score(task.reference[1](split.inputs), split.targets))
                            if task.reference
                            else float("nan")
                        ),
                    )
                )
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def task_names_with_shifts() -> list[str]:

    return [name for name, spec in TASKS.items() if spec.shifts]


def task_defaults(task: str) -> dict:
    """The task generator's keyword defaults that its shifts change (so "as trained" names its value too)."""
    import inspect

    spec = get_task(task)
    names = {name for _, params in spec.shifts for name in params}
    signature = inspect.signature(spec.make_data).parameters
    return {name: signature[name].default for name in sorted(names) if name in signature}


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean [95% t-interval] over seeds per experiment, task, cell, length and shift (`SUMMARY_COLUMNS`)."""
    order = {c: i for i, c in enumerate(cell_names())}
    rows = []
    for key, group in table.groupby(GROUP, sort=False):
        n, mean, low, high = mean_interval(group["score"])
        rows.append(
            dict(
                zip(GROUP, key),
                params=group["params"].iloc[0],
                n=n,
                mean=mean,
                ci_low=low,
                ci_high=high,
                sequences=int(group["n"].min()),
                reference=group["reference_score"].mean(),  # the same fresh sets for every cell: one value a length
            )
        )
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return frame.sort_values(
        ["experiment", "task", "cell", "seq_len"],
        key=lambda col: col.map(order) if col.name == "cell" else col,
        kind="stable",
        ignore_index=True,
    )


def plot_shift(group: pd.DataFrame, task: str, path: Path, title: str) -> Path:
    """One panel per shift: the mean score against length per cell, its interval as error bars, threshold and baseline drawn."""
    spec = get_task(task)
    shifts = list(dict.fromkeys(group["shift"]))
    fig, axes = plt.subplots(1, len(shifts), figsize=(4.2 * len(shifts), 3.6), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], shifts):
        at = group[group["shift"] == name]
        for cell, line in at.groupby("cell", sort=False):
            ax.errorbar(
                line["seq_len"],
                line["mean"],
                yerr=[line["mean"] - line["ci_low"], line["ci_high"] - line["mean"]],
                color=get_cell(cell).color,
                marker="o",
                capsize=3,
                label=get_cell(cell).label,
            )
        ax.axhline(spec.threshold, color="black", linestyle="--", linewidth=1, label=f"solved ({spec.threshold:g})")
        ax.axhline(spec.baseline, color="grey", linestyle=":", linewidth=1, label=f"memoryless ({spec.baseline:g})")
        params = ", ".join(f"{k} {v:g}" for k, v in json.loads(at["params"].iloc[0]).items())
        ax.set_title(f"{name} ({params})", fontsize=10)
        ax.set_xlabel(spec.length_label)
    axes[0][0].set_ylabel(f"test {spec.metric} (fresh sequences)")
    axes[0][-1].legend(fontsize=8, loc="best")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def write_shift(root, size: int = DEFAULT_SIZE, warn: Callable[[str], None] | None = None) -> list[Path]:
    """Score the folder's runs (`shift_table`) and write tables/shift.csv, tables/shift_summary.csv and
    figures/shift/<task>.png; bad arguments and folders are refused before anything is written."""
    table = shift_table(root, size, warn=warn)
    if table.empty:
        raise ValueError(f"{root} holds no run that could be scored")
    store = ResultsStore(root)
    store.tables_dir.mkdir(exist_ok=True)
    means = summary(table)
    written = write_csv_tables(store.tables_dir, {"shift.csv": table, "shift_summary.csv": means})
    figures = store.root / "figures" / "shift"
    figures.mkdir(parents=True, exist_ok=True)
    for (experiment, task), group in means.groupby(["experiment", "task"], sort=True):
        title = f"{get_task(task).label}, {experiment}: trained as stored, scored on other distributions ({int(group['sequences'].min())} fresh sequences per run)"
        written.append(plot_shift(group, task, figures / f"{task}.png", title))
    return written


def report_section(store, runs=None) -> list[str]:
    """The report's part for a folder scored by this module ([] when tables/shift_summary.csv is absent)."""

    path = store.tables_dir / "shift_summary.csv"
    if not path.exists():
        return []
    means = pd.read_csv(path)
    lines = [
        "## Other distributions than trained",
        "",
        "Each successful run's best-dev model, trained as stored, scored at its own length on fresh test sets drawn with "
        f"other task parameters (seed run seed + {FRESH_SEED_OFFSET:,}; `memorybench diagnose shift`): mean [95% t-interval] "
        "over seeds (`tables/shift_summary.csv`, per run in `tables/shift.csv`). `as trained` is the run's own distribution "
        "on the fresh set.",
        "",
    ]
    for (experiment, task), group in means.groupby(["experiment", "task"], sort=False):
        spec = get_task(task)
        shifts = list(dict.fromkeys(group["shift"]))
        params = {name: json.loads(group.loc[group["shift"] == name, "params"].iloc[0]) for name in shifts}
        rows = _reference_rows(group, spec, shifts)
        for (cell, length), at in group.groupby(["cell", "seq_len"], sort=False):
            by_shift = at.set_index("shift")
            rows.append(
                [label_of(cell), length]
                + [
                    interval_text(
                        *by_shift.loc[name, ["n", "mean", "ci_low", "ci_high"]],
                        bounds=spec.metric_range,
                        digits=spec.digits,
                    )
                    if name in by_shift.index
                    else "–"
                    for name in shifts
                ]
            )
        columns = ["cell", "L"] + [
            f"{name} ({', '.join(f'{k} {v:g}' for k, v in params[name].items())})" for name in shifts
        ]
        reference = (
            f"; *{spec.reference[0]}* (the rows in italics): a rule with no memory beyond one token, on the same fresh "
            "sets"
            if rows
            else ""
        )
        lines += [
            f"### {spec.label}, {experiment}",
            "",
            f"Solved: {spec.threshold:g}; memoryless: {spec.baseline:g}{reference}.",
            "",
            markdown_table(pd.DataFrame(rows, columns=columns)),
            "",
        ]
        figure = store.root / "figures" / "shift" / f"{task}.png"
        if figure.exists():
            lines += [f"![{spec.label} on other distributions]({figure.relative_to(store.root).as_posix()})", ""]
    return lines


def _reference_rows(group: pd.DataFrame, spec, shifts: list[str]) -> list[list]:
    """One row per length with the task's reference rule's mean score at each shift (none without a reference, or
    in a table written before the reference was scored)."""
    if spec.reference is None or "reference" not in group or group["reference"].isna().all():
        return []
    rows = []
    for length, at in group.groupby("seq_len", sort=True):
        by_shift = at.groupby("shift")["reference"].first()
        rows.append(
            [f"*{spec.reference[0]}*", length]
            + [f"*{by_shift[name]:.{spec.digits}f}*" if name in by_shift.index else "–" for name in shifts]
        )
    return rows


register_section(
    ReportSection(
        "shift", needs=("tables/shift_summary.csv", "tables/shift.csv"), write=report_section, reads_checkpoints=True
    )
)
