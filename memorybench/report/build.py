"""The report, rebuilt from a results folder's stored files alone.

    memorybench report results/ [--threshold 0.55]

writes `report.md`, `figures/*.png` and `tables/*.csv` into the folder. Runs are
grouped into experiments (everything in the config but cell, length, seed and
device); each experiment gets its own section and figures. An experiment's tables and
figures that a rebuild no longer writes (its runs were removed, or became part of a
study over settings under another name) are deleted with it; what the diagnostics
commands wrote is theirs and left alone.

Example:
    >>> import tempfile
    >>> from memorybench.storage.store import ResultsStore
    >>> from memorybench.sweep.plan import plan_sweep, run_sweep
    >>> store = ResultsStore.open(tempfile.mkdtemp())
    >>> _ = run_sweep(store, plan_sweep("nndl", ["srn"], [5], seeds=2, quick=True, device="cpu"), progress=False)
    >>> path = build_report(store.root)
    >>> path.name, "### Test accuracy against length" in path.read_text()
    ('report.md', True)
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from memorybench.analysis.experiments import experiment_label, label_of, paired_table, study_axes, study_label
from memorybench.analysis.gates import example_sequence, trace_sequence
from memorybench.analysis.fitted_horizon import fitted_horizon
from memorybench.analysis.search import memory_horizon
from memorybench.analysis.summary import score_table, throughput_table
from memorybench.cells import cell_names, get_cell
from memorybench.report.benchtables import load_benchmarks, speedup_table
from memorybench.report.capacity import capacity_section, is_multi_setting
from memorybench.report.phase import phase_lines
from memorybench.report.figures import (
    loss_label,
    plot_cell_benchmarks,
    plot_curves,
    plot_gates,
    plot_score_vs_length,
    plot_throughput,
)
from memorybench.report.markdown import fmt, markdown_table, paired_markdown
from memorybench.report.plugins_needed import held_back, kept_sections, plugin_note
from memorybench.report.sections import report_sections
from memorybench.storage.provenance import git_commit, short_commit
from memorybench.storage.rundir import CHECKPOINT, write_atomic, write_text_atomic
from memorybench.storage.store import ResultsStore
from memorybench.tasks import TaskSpec, get_task


def _score_markdown(table: pd.DataFrame, task: TaskSpec) -> tuple[str, str]:
    """(mean [95% CI] per cell and length, best seed per cell and length) as markdown."""
    present = set(table["cell"])
    cells = [c for c in cell_names() if c in present]
    low, high = task.metric_range
    d = task.digits
    mean_rows, best_rows = [], []
    for length in sorted(table["seq_len"].unique()):
        at = table[table["seq_len"] == length].set_index("cell")
        mean_rows.append(
            [length]
            + [
                f"{fmt(at.at[c, 'mean'], d)} [{fmt(max(at.at[c, 'ci_low'], low), d)}, {fmt(min(at.at[c, 'ci_high'], high), d)}] (n={at.at[c, 'n']})"
                if c in at.index
                else "–"
                for c in cells
            ]
        )
        best_rows.append(
            [length]
            + [f"{fmt(at.at[c, 'best'], d)} (seed {at.at[c, 'best_seed']})" if c in at.index else "–" for c in cells]
        )
    columns = ["L"] + [label_of(c) for c in cells]
    return markdown_table(pd.DataFrame(mean_rows, columns=columns)), markdown_table(
        pd.DataFrame(best_rows, columns=columns)
    )


def gate_length(runs: pd.DataFrame, task: TaskSpec) -> int | None:
    """The length whose runs are traced: the task example's, when runs have it, else the shortest."""
    ok = runs[runs["status"] == "ok"]
    if ok.empty:
        return None
    lengths = set(ok["seq_len"])
    return len(task.example_input) if len(task.example_input) in lengths else min(lengths)


def gate_runs(runs: pd.DataFrame, length: int, task: TaskSpec) -> pd.DataFrame:
    """Per cell, the run traced: the best dev score at `length` (ties: the lowest seed)."""
    at = runs[(runs["seq_len"] == length) & (runs["status"] == "ok")]
    ascending = task.direction == "lower"
    ranked = at.sort_values(["best_dev_score", "seed"], ascending=[ascending, True], kind="stable")
    return ranked.groupby("cell", sort=False).head(1)


def _gate_section(runs: pd.DataFrame, store: ResultsStore, figure: Path, task: TaskSpec) -> str:
    length = gate_length(runs, task)
    if length is None:
        return "No successful runs, so no gate heatmaps."
    traces, captions, lines = {}, {}, []
    inputs = example_sequence(
        task, length, task_params=json.loads(runs["task_params"].iloc[0])
    )  # one experiment: one set of task_params
    for row in gate_runs(runs, length, task).itertuples():
        folder = store.run_folder(row.run_id)
        if not (folder / CHECKPOINT).exists():
            lines.append(
                f"- {label_of(row.cell)}: seed {row.seed} has no {CHECKPOINT} in {folder} (removed by "
                "`memorybench store prune` of a folder that holds it?), so no heatmap."
            )
            continue
        traces[row.cell], prediction = trace_sequence(folder, inputs)
        captions[row.cell] = f"seed {row.seed}, predicts {prediction}"
        lines.append(
            f"- {label_of(row.cell)}: seed {row.seed} (best dev {task.metric} {row.best_dev_score:.2f}, "
            f"test {row.test_score:.2f}) predicts **{prediction}**."
        )
    shown = inputs.tolist() if inputs.dim() == 1 else [f"x{t}" for t in range(len(inputs))]
    if not traces:
        return "\n".join(lines)
    plot_gates(traces, [str(v) for v in shown], captions, figure)
    source = "the task's example sequence" if len(task.example_input) == length else "the first test sequence of seed 0"
    return "\n".join(
        [
            f"Every gate and state of each cell's best-dev seed at L={length} on {source} `{shown}` "
            "(x: position and its input; y: hidden unit), computed step by step through the transparent cells "
            "from the saved weights.",
            "",
            *lines,
            "",
            f"![gate heatmaps]({figure.relative_to(store.root).as_posix()})",
        ]
    )


def _batches(first: pd.Series, task: TaskSpec) -> str:
    if task.fresh_batches:
        return "fresh every step"
    return "reshuffled every epoch" if first["shuffle"] else "in file order"


def _machines_note(runs: pd.DataFrame) -> list[str]:
    """A note when one experiment's runs were trained on several kinds of machine (see `provenance.machine_kind`)."""
    kinds = runs["machine"].fillna("").astype(str) if "machine" in runs else pd.Series([""] * len(runs))
    counts = kinds[kinds != ""].value_counts()
    if len(counts) < 2:
        return []
    listed = "; ".join(f"{kind} ({n} runs)" for kind, n in counts.items())
    return [
        f"Note: these runs were trained on {len(counts)} kinds of machine: {listed}. A run's numbers are "
        "reproducible bit for bit only on its own kind (CPU model, CPU capability, torch version and thread count; "
        "on CUDA the GPU and torch version); across kinds they differ by float rounding, amplified by training.",
        "",
    ]


def _model_sizes(runs: pd.DataFrame) -> str:
    """One line: each cell's parameter count and state size (the numbers its state carries from step to step,
    every layer and direction: what memory capacity is bounded by), per hidden size it was trained at."""
    parts = []
    for cell in [c for c in cell_names() if c in set(runs["cell"])]:
        for row in runs[runs["cell"] == cell].drop_duplicates("hidden_size").itertuples():
            layers = int(row.num_layers) * (2 if row.bidirectional else 1)
            state = get_cell(cell).state_size(int(row.hidden_size)) * layers
            parts.append(
                f"{label_of(cell)} (H={int(row.hidden_size)}) {int(row.num_params):,} parameters, state {state}"
            )
    return (
        "Model size: "
        + "; ".join(parts)
        + " (the state: the numbers carried from step to step, which bound memory capacity)."
    )


def _experiment_section(
    label: str, runs: pd.DataFrame, curves: pd.DataFrame, store: ResultsStore, slug: str, threshold: float | None
) -> list[str]:
    first = runs.iloc[0]
    task = get_task(first["task"], first["task_params"])
    threshold = task.threshold if threshold is None else threshold
    figures = store.root / "figures" / slug
    figures.mkdir(parents=True, exist_ok=True)
    ok = runs[runs["status"] == "ok"]
    out = [
        f"## Experiment: {label}",
        "",
        f"Task `{task.name}` ({task.description}); {first['optimizer']} lr {first['lr']}, batch {first['batch_size']}, "
        f"{first['steps']} steps, dev every {first['eval_interval']} steps, init `{first['init']}`, "
        f"batches {_batches(first, task)}. {len(runs)} runs: {len(ok)} ok, {len(runs) - len(ok)} failed.",
        "",
    ]
    out += _machines_note(runs)
    if ok.empty:
        return out + ["No successful runs to summarise.", ""]
    out += [_model_sizes(ok), ""]
    table = score_table(ok, direction=task.direction)
    horizon = memory_horizon(table[table["seq_len"] >= task.horizon_from], threshold, task.direction)  # reading rule
    speed = throughput_table(ok)
    tables = store.tables_dir
    cells = [c for c in cell_names() if c in set(ok["cell"])]
    paired = paired_table(ok, "cell", cells[0], cells[1:])
    for name, frame in (("scores", table), ("horizon", horizon), ("throughput", speed), ("paired", paired)):
        frame = frame.assign(experiment=label, metric=task.metric, baseline=task.baseline)
        write_atomic(tables / f"{name}_{slug}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False))
    metric = task.metric
    plot_score_vs_length(ok, table, task, threshold, figures / "score_vs_length.png", f"{task.label}: {label}")
    plot_curves(curves[curves["run_id"].isin(ok["run_id"])], task, figures / "curves.png", label)
    plot_throughput(speed, figures / "throughput.png", f"Training throughput: {label}")
    mean_md, best_md = _score_markdown(table, task)
    rel = lambda name: (figures / name).relative_to(store.root).as_posix()
    readable = runs[runs["seq_len"] >= task.horizon_from]
    horizon_rows = [
        [
            label_of(r.cell),
            fitted_horizon(readable[readable["cell"] == r.cell], threshold, task.direction).text(),
            fmt(r.horizon, 0),
            fmt(r.horizon_low, 0),
            fmt(r.horizon_high, 0),
            fmt(r.longest_pass, 0),
        ]
        for r in horizon.itertuples()
    ]
    speed_md = speed.assign(
        cell=speed["cell"].map(label_of),
        steps_per_s=speed["steps_per_s"].round(0).astype(int),
        model_steps_per_s=speed["model_steps_per_s"].round(0).astype(int),
        wall_time_s=speed["wall_time_s"].round(1),
    )
    low, high = task.metric_range
    best_word = "maximum" if task.direction == "higher" else "minimum"
    compare = "at or above" if task.direction == "higher" else "at or below"
    out += [
        f"### Test {metric} against length",
        "",
        f"Test {metric} of each run's best-dev checkpoint ({task.direction} is better). The memoryless baseline "
        f"({task.baseline_note}) is **{task.baseline:.3g}**.",
        "",
        f"![{metric} against length]({rel('score_vs_length.png')})",
        "",
        f"**Mean over seeds [95% t-interval, clipped to {low:g}..{high:g}]** — the figure to cite; memoryless baseline "
        f"{task.baseline:.3g}:",
        "",
        mean_md,
        "",
        f"**Best seed** (the {best_word} over seeds, not an average; shown because single seeds vary a lot):",
        "",
        best_md,
        "",
        "### Paired differences between cells",
        "",
        f"Each cell's test {metric} minus the {label_of(cells[0])}'s, seed by seed (the same seed gives both the same data): "
        "mean [95% t-interval] of the differences, tighter than comparing two means.",
        "",
        paired_markdown(paired, label_of, task.digits),
        "",
        "### Memory horizon",
        "",
        f"L50: the length at which half the seeds solve the task (a seed's test {metric} {compare} **{threshold:.3g}**, "
        f"{task.threshold_note} unless `--threshold` says otherwise), fitted from every seed at every length with its 95% "
        "bootstrap interval over seeds (`in [a, b]`: every seed solves at a and none at b, so no fit exists; `≥`, `<`: "
        "censored at the longest or shortest length tested). Horizon on means: the last length whose mean test "
        f"{metric} passes below the shortest length that fails (the horizon search's rule); the longest length tested "
        "that passes is beside it, longer where the score is not monotone. Pessimistic and optimistic apply that rule to "
        "the interval's worse and better ends; – means the shortest length tested fails. A horizon at the longest length "
        "tested is a lower bound: `memorybench horizon` searches past it."
        + (
            f" Lengths below {task.horizon_from} decide no horizon here (the task's reading rule: "
            "`memorybench.tasks`' module of the task says why) and stay in the tables above."
            if task.horizon_from > 1
            else ""
        ),
        "",
        markdown_table(
            pd.DataFrame(
                horizon_rows,
                columns=[
                    "cell",
                    "L50 (every seed)",
                    "horizon on means",
                    "pessimistic",
                    "optimistic",
                    "longest passing L",
                ],
            )
        ),
        "",
        "### Training curves",
        "",
        f"Train and dev {loss_label(task)} and dev {metric} against steps; the dashed line is the memoryless baseline.",
        "",
        f"![training curves]({rel('curves.png')})",
        "",
        "### Gate heatmaps",
        "",
        _gate_section(runs, store, figures / "gates.png", task),
        "",
        "### Training throughput",
        "",
        "Median over seeds of training steps per second (training loop only, evaluation excluded), of model-steps "
        "per second (steps/s times the runs packed into one model; equal to steps/s for single runs) and of wall "
        "time per run (data, training, evaluation; for a packed run, its whole pack's). `training` says how the runs "
        "were trained: alone, or packed with other seeds (stacked or block-diagonal, see benchmarks/README.md).",
        "",
        markdown_table(
            speed_md.rename(
                columns={
                    "seq_len": "L",
                    "steps_per_s": "steps/s",
                    "model_steps_per_s": "model-steps/s",
                    "wall_time_s": "s per run",
                }
            )
        ),
        "",
        f"![throughput]({rel('throughput.png')})",
        "",
    ]
    return out


def check_threshold(threshold: float | None, tasks) -> None:
    """A --threshold must be finite and inside the range of every task's metric it applies to."""
    if threshold is None:
        return
    if not math.isfinite(threshold):
        raise ValueError(f"--threshold {threshold} is not allowed; it must be a finite number")
    metrics = sorted({task.metric for task in tasks})
    if len(metrics) > 1:
        raise ValueError(
            f"--threshold {threshold} would apply to {' and '.join(metrics)} alike: this folder's experiments measure "
            "different metrics; leave it out (each task's own threshold) or report a folder of one metric"
        )
    for task in tasks:
        low, high = task.metric_range
        if not low <= threshold <= high:
            raise ValueError(
                f"--threshold {threshold} is outside the range of {task.metric} ({low:g} to {high:g}) of task {task.name!r}"
            )


def experiments(runs: pd.DataFrame):
    """(label, runs, multi) per report section, largest first. A study is runs differing only in cell,
    length, seed and the setting axes; one over several settings (multi) is a capacity study."""
    studies = pd.Series(
        [experiment_label(row, skip=study_axes(row)) for row in runs.to_dict("records")], index=runs.index
    )
    for study, group in sorted(runs.groupby(studies), key=lambda item: -len(item[1])):
        multi = is_multi_setting(group)
        yield (study if multi else study_label(group)), group, multi


def traced_runs(store: ResultsStore) -> list[str]:
    """The run ids whose checkpoints the report reads: each experiment's gate-heatmap runs."""
    runs = store.collect()[0]
    traced = []
    for _, group, multi in [] if runs.empty else experiments(runs):
        task = get_task(group["task"].iloc[0], group["task_params"].iloc[0])
        length = None if multi else gate_length(group, task)
        traced += [] if length is None else gate_runs(group, length, task)["run_id"].tolist()
    return traced


def build_report(root, threshold: float | None = None) -> Path:
    """Write report.md, figures/ and tables/ for the results folder `root`; returns report.md's path.
    A bad `threshold` is a ValueError raised before anything is written."""
    store = ResultsStore(root)
    runs, curves = store.collect()
    held = held_back(runs)
    check_threshold(threshold, [get_task(name) for name in runs[~held]["task"].unique()] if not runs.empty else [])
    old_report = (store.root / "report.md").read_text() if held.any() and (store.root / "report.md").is_file() else ""
    started = _clock(store.root)
    runs, curves = store.write_tables()
    damaged = store.scan()[1]
    lines = [
        "# memorybench report",
        "",
        f"Rebuilt from the {len(runs)} runs stored in this folder by `memorybench report`. "
        "Tables for pandas: `tables/runs.csv` (one row per run), a summary CSV per table below, and every run's "
        "config, result, environment and curve in `runs/<run_id>/run.json` (every curve as one DataFrame: "
        "`ResultsStore(folder).collect()[1]`).",
        "",
    ]
    if held.any():
        lines += [
            f"Not rebuilt this time: the experiments of {held.sum()} runs, since {plugin_note(store, runs)}. Their sections, "
            "tables and figures are as the last report built with that plugin left them.",
            "",
        ]
    if runs.empty:
        lines.append("No runs stored yet.")
    else:
        runs["experiment"] = ""
        rebuilt = []
        for label, group, multi in experiments(runs[~held]):
            runs.loc[group.index, "experiment"] = label
            slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
            section = (
                capacity_section(label, group, store, slug, threshold) + phase_lines(group, store, slug, threshold)
                if multi
                else _experiment_section(label, group, curves, store, slug, threshold)
            )
            rebuilt.append(section[0])
            lines += section
        lines += kept_sections(old_report, set(rebuilt))
        runs.loc[held, "experiment"] = "(its plugin not given)"
        for (
            section
        ) in report_sections():  # the diagnostics' sections (and plugins'), where the folder holds their files
            lines += section.write(store, runs)
        failed = runs[runs["status"] != "ok"]
        lines += ["## Failed runs", ""]
        lines += (
            [markdown_table(failed[["experiment", "cell", "seq_len", "seed", "error"]])] if len(failed) else ["None."]
        )
        lines += [""]
        noted = runs[runs["pack_note"].fillna("") != ""] if "pack_note" in runs else runs.iloc[:0]
        if len(noted):
            lines += [
                "## Runs not trained in the pack planned for them",
                "",
                markdown_table(noted[["experiment", "cell", "seq_len", "seed", "pack_note"]]),
                "",
            ]
    if damaged:
        lines += [
            "## Unreadable run folders",
            "",
            "Left out of everything above; the next sweep that plans them trains them again.",
            "",
            markdown_table(
                pd.DataFrame({"run folder": [f"runs/{name}" for name in damaged], "why": list(damaged.values())})
            ),
            "",
        ]
    lines += _benchmark_section(store)
    lines += _provenance(store, runs)
    write_text_atomic(store.root / "report.md", "\n".join(lines) + "\n")
    if not held.any():  # which older files are a held-back experiment's cannot be told: none is removed then
        _remove_stale(store.root, started)
    return store.root / "report.md"


# what the report writes per experiment (slug): tables/<name>_<slug>.csv and figures/<slug>/<figure>
EXPERIMENT_TABLES = ("scores", "horizon", "throughput", "paired", "capacity", "settings")
EXPERIMENT_FIGURES = ("score_vs_length.png", "curves.png", "throughput.png", "gates.png", "capacity.png")


def _clock(root: Path) -> int:
    """The filesystem's time now (ns), read from a file written and removed in `root`: the clock
    that stamps the files a build writes, which may lag time.time()."""
    fd, marker = tempfile.mkstemp(dir=root, prefix=".clock.")
    os.close(fd)
    try:
        return Path(marker).stat().st_mtime_ns
    finally:
        os.unlink(marker)


def _remove_stale(root: Path, started: int) -> list[Path]:
    """Delete the experiment tables and figures this build did not write (older than `started`),
    and the figure folders left empty; returns what was deleted."""
    candidates = [p for name in EXPERIMENT_TABLES for p in (root / "tables").glob(f"{name}_*.csv")]
    candidates += [p for name in EXPERIMENT_FIGURES for p in (root / "figures").glob(f"*/{name}")]
    stale = [p for p in candidates if p.stat().st_mtime_ns < started]
    for path in stale:
        path.unlink()
    for folder in {p.parent for p in stale if p.parent.parent.name == "figures"}:
        if not any(folder.iterdir()):
            folder.rmdir()
    return stale


def _benchmark_section(store: ResultsStore) -> list[str]:
    """The cell benchmarks found in `benchmarks/*.json` (from benchmarks/test_cell_speed.py), if any."""
    rows = load_benchmarks(store.root / "benchmarks")
    if rows.empty:
        return []
    write_atomic(store.tables_dir / "cell_benchmarks.csv", lambda tmp: rows.to_csv(tmp, index=False))
    figures = store.root / "figures"
    figures.mkdir(exist_ok=True)
    plot_cell_benchmarks(rows, figures / "cell_benchmarks.png", batch_size=8)
    speed = speedup_table(rows)
    at8 = rows[rows["batch_size"] == 8].sort_values(["device", "mode", "cell", "execution", "seq_len"])
    table = pd.DataFrame(
        {
            "device": at8["device"],
            "mode": at8["mode"],
            "cell": at8["cell"].map(label_of),
            "execution": at8["execution"],
            "L": at8["seq_len"],
            "median µs": at8["median_us"].round(1),
            "µs per step": at8["us_per_step"].round(2),
            "sequences/s": at8["sequences_per_s"].round(0).astype(int),
        }
    )
    threads = ", ".join(sorted({str(t) for t in rows["threads"]}))
    return [
        "## Cell benchmarks",
        "",
        f"The recurrent layer alone (input and hidden 32), timed by pytest-benchmark (median of its rounds; "
        f"CPU with {threads} torch thread(s), CPU {rows['cpu'].iloc[0]}). Batch 8 below; every batch size in "
        "`tables/cell_benchmarks.csv`.",
        "",
        "![cell benchmarks](figures/cell_benchmarks.png)",
        "",
        markdown_table(table),
        "",
        "Fused over transparent, same run, side by side: "
        + "; ".join(
            f"{device} median {x.median():.1f}x (range {x.min():.1f}x to {x.max():.1f}x over its cases)"
            for device, x in speed.groupby("device")["fused_speedup"]
        )
        + ".",
        "",
    ]


def _provenance(store: ResultsStore, runs: pd.DataFrame) -> list[str]:
    lines = [
        "## Provenance",
        "",
        f"This report was built by memorybench commit {git_commit()}. "
        "Each sweep invoked on this folder (from `store.json`):",
        "",
    ]
    rows = [
        [
            s.get("date", ""),
            f"`{s.get('command', '')}`",
            short_commit(s.get("commit", "")),
            s.get("torch", ""),
            s.get("cuda_device") or s.get("cpu", ""),
            s.get("workers", ""),
            f"{s.get('runs_trained', '')} trained, {s.get('runs_skipped', '')} skipped"
            + (f", {s['runs_shared']} reused" if s.get("runs_shared") else ""),
            f"{s.get('wall_time_s', 0):.0f}",
        ]
        for s in store.sweeps()
    ]
    lines.append(
        markdown_table(
            pd.DataFrame(
                rows, columns=["date (UTC)", "command", "commit", "torch", "device", "workers", "runs", "wall s"]
            )
        )
        if rows
        else "None recorded."
    )
    if not runs.empty:
        lines += [
            "",
            "Runs by the commit and torch version that trained them: "
            + "; ".join(
                f"{short_commit(c)} / torch {t} / {d}: {n}"
                for (c, t, d), n in runs.groupby(["commit", "torch", "device"]).size().items()
            )
            + ".",
        ]
        linked = pd.Series([store.run_folder(r).parent.parent for r in runs["run_id"]]).loc[lambda f: f != store.root]
        if not linked.empty:
            lines += [
                "",
                "Runs stored once, in another results folder, and linked here (`runs/<run_id>.link`): "
                + "; ".join(
                    f"{n} from `{os.path.relpath(f, store.root)}`" for f, n in linked.value_counts(sort=False).items()
                )
                + ".",
            ]
    return lines
