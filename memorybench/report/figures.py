"""Figures of the report, one colour and one order per cell throughout (from the cell
registry: a user's cell is drawn like the built-in ones), worded from the task spec.

Every function takes plain tables (pandas) or arrays and a path, and writes one PNG.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from memorybench.cells import cell_names, get_cell  # noqa: E402
from memorybench.tasks.base import TaskSpec  # noqa: E402
from memorybench.analysis.spread import median_interval
from memorybench.analysis.summary import score_table

LOSS_LABELS = {"real": "loss (MSE)"}  # every class output: cross-entropy


def _cells_in(frame: pd.DataFrame) -> list[str]:
    present = set(frame["cell"])
    return [c for c in cell_names() if c in present]


def loss_label(task: TaskSpec) -> str:
    return LOSS_LABELS.get(task.output_kind, "loss (CE)")


def save_figure(fig, path: Path) -> Path:
    """Write `fig` as a 256-colour PNG (a third of the bytes of matplotlib's RGBA, the same to the eye),
    so the committed results stay small enough to travel to a GPU machine."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)
    return path


def plot_score_vs_length(
    runs: pd.DataFrame, table: pd.DataFrame, task: TaskSpec, threshold: float, path: Path, title: str
) -> Path:
    """Mean test score per cell with its 95% interval as a band, every seed as a dot, the
    task's memoryless baseline and the horizon threshold as lines."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ok = runs[runs["status"] == "ok"]
    low, high = task.metric_range
    cells = _cells_in(table)
    for index, cell in enumerate(cells):
        rows = table[table["cell"] == cell].sort_values("seq_len")
        spec = get_cell(cell)
        ax.plot(rows["seq_len"], rows["mean"], "-o", color=spec.color, label=f"{spec.label} mean")
        band = [
            rows[c].clip(low, high).to_numpy(float) for c in ("ci_low", "ci_high")
        ]  # arrays: numpy 1.24.0 cannot mask a Series
        ax.fill_between(rows["seq_len"].to_numpy(float), *band, color=spec.color, alpha=0.18, linewidth=0)
        seeds = ok[ok["cell"] == cell]
        offset = (index - (len(cells) - 1) / 2) * 0.25  # keep the cells' dots apart
        ax.scatter(seeds["seq_len"] + offset, seeds["test_score"], color=spec.color, s=12, alpha=0.6)
    ax.axhline(
        task.baseline, color="grey", linestyle="--", linewidth=1, label=f"memoryless baseline ({task.baseline:.3g})"
    )
    ax.axhline(threshold, color="black", linestyle=":", linewidth=1, label=f"horizon threshold ({threshold:.3g})")
    ax.set(xlabel=task.length_label, ylabel=f"test {task.metric} (best-dev checkpoint)", title=title)
    if task.metric == "accuracy":
        ax.set_ylim(0, 1.02)
    ax.set_xticks(sorted(table["seq_len"].unique()))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.text(
        0.99,
        0.01,
        "bands: 95% t-interval over seeds; dots: single seeds",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
        color="dimgrey",
    )
    return save_figure(fig, path)


def plot_curves(curves: pd.DataFrame, task: TaskSpec, path: Path, title: str) -> Path:
    """Train loss, dev loss and dev score against steps; one column per length, every seed a line; the memoryless
    baseline dashed on the score, and on the losses where the task states the memoryless loss (copy: 10 ln 8 / (T+20))."""
    lengths = sorted(curves["seq_len"].unique())
    rows = (
        ("train_loss", f"train {loss_label(task)}"),
        ("dev_loss", f"dev {loss_label(task)}"),
        ("dev_score", f"dev {task.metric}"),
    )
    fig, axes = plt.subplots(
        len(rows), len(lengths), figsize=(3.2 * len(lengths), 7.5), sharex=True, squeeze=False, layout="constrained"
    )
    for col, length in enumerate(lengths):
        at_length = curves[curves["seq_len"] == length]
        for row, (column, label) in enumerate(rows):
            ax = axes[row, col]
            for cell in _cells_in(at_length):
                for _, run in at_length[at_length["cell"] == cell].groupby("seed"):
                    ax.plot(run["step"], run[column], color=get_cell(cell).color, alpha=0.7, linewidth=0.9)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(f"L = {length}")
            if col == 0:
                ax.set_ylabel(label)
            loss_baseline = task.loss_baseline(
                int(length)
            )  # the memoryless loss at the task's default parameters, if stated
            if column != "dev_score" and loss_baseline is not None:
                ax.axhline(loss_baseline, color="grey", linestyle="--", linewidth=1)
            if row == len(rows) - 1:
                ax.set_xlabel("training step")
                ax.axhline(task.baseline, color="grey", linestyle="--", linewidth=1)
                if task.metric == "accuracy":
                    ax.set_ylim(0, 1.02)
    handles = [Line2D([], [], color=get_cell(c).color, label=get_cell(c).label) for c in _cells_in(curves)]
    handles.append(Line2D([], [], color="grey", linestyle="--", label=f"memoryless baseline ({task.baseline:.3g})"))
    axes[0, -1].legend(handles=handles, fontsize=8, loc="upper right")
    fig.suptitle(
        title + f" (each line one seed; a run that reaches a perfect dev {task.metric} stops there)", fontsize=10
    )
    return save_figure(fig, path)


def plot_gates(
    traces: dict[str, dict[str, np.ndarray]], position_labels: list[str], captions: dict[str, str], path: Path
) -> Path:
    """Heatmaps of each cell's `heatmap` panels, x = position (labelled, e.g. with its input
    digit), y = hidden unit.

    `traces[cell][name]` is an (H, T) array; sigmoid gates on a 0..1 scale, states on a
    symmetric scale around 0.
    """
    cells = [c for c in cell_names() if c in traces]
    width = max(len(get_cell(c).heatmap) for c in cells)
    fig, axes = plt.subplots(
        len(cells), width, figsize=(3.8 * width, 3.6 * len(cells)), squeeze=False, layout="constrained"
    )
    labels = [f"{t}\n{d}" for t, d in enumerate(position_labels)]
    for row, cell in enumerate(cells):
        spec = get_cell(cell)
        for col in range(width):
            ax = axes[row, col]
            if col >= len(spec.heatmap):
                ax.axis("off")
                continue
            name = spec.heatmap[col]
            values = traces[cell][name]
            if name in spec.unit_states:  # sigmoid gates: 0..1
                image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0, vmax=1)
            else:
                limit = max(float(np.abs(values).max()), 1e-6)
                image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
            ax.set_xticks(range(len(position_labels)), labels, fontsize=7)
            ax.set_title(f"{spec.label}: {spec.title(name)}", fontsize=9)
            ax.set_xlabel("position / input", fontsize=8)
            if col == 0:
                ax.set_ylabel(f"hidden unit\n{captions[cell]}", fontsize=8)
    return save_figure(fig, path)


def plot_throughput(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Model-steps per second against length, one line per cell (and device, and way of training)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    groups = table.groupby(["cell", "device", "training"], sort=False)
    for (cell, device, training), rows in groups:
        rows = rows.sort_values("seq_len")
        ax.plot(
            rows["seq_len"],
            rows["model_steps_per_s"],
            "-o" if training == "single run" else "--s",
            color=get_cell(cell).color,
            label=f"{get_cell(cell).label} ({device}, {training})",
        )
    ax.set(xlabel="sequence length L", ylabel="model-steps per second (median)", title=title)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_cell_benchmarks(rows: pd.DataFrame, path: Path, batch_size: int) -> Path:
    """µs per time step against length at one batch size: one panel per mode and device,
    solid fused, dashed transparent."""
    rows = rows[rows["batch_size"] == batch_size]
    panels = list(rows.groupby(["device", "mode"], sort=True))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4), squeeze=False, layout="constrained")
    for ax, ((device, mode), panel) in zip(axes[0], panels):
        for (cell, execution), line in panel.groupby(["cell", "execution"]):
            line = line.sort_values("seq_len")
            ax.plot(
                line["seq_len"],
                line["us_per_step"],
                "-o" if execution == "fused" else "--s",
                color=get_cell(cell).color,
                label=f"{get_cell(cell).label} {execution}",
                markersize=4,
            )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="sequence length L",
            ylabel="µs per time step (median)",
            title=f"{mode.replace('_', ' + ')}, batch {batch_size}, {device}",
        )
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=7)
    return save_figure(fig, path)


def plot_gradient_norms(
    norms: pd.DataFrame, last_step: int, path: Path, title: str, clip_value: float | None = None
) -> Path:
    """Gradient norms before clipping against step (1..last_step, log scale): one row per cell,
    one column per parameter (W, U, b), every seed a line; the clip value dashed when given."""
    norms = norms[norms["step"] <= last_step]
    cells, parameters = _cells_in(norms), ["W", "U", "b"]
    fig, axes = plt.subplots(
        len(cells), len(parameters), figsize=(10, 2.4 * len(cells)), sharex=True, squeeze=False, layout="constrained"
    )
    for row, cell in enumerate(cells):
        for col, parameter in enumerate(parameters):
            ax = axes[row, col]
            at = norms[(norms["cell"] == cell) & (norms["parameter"] == parameter)]
            for _, run in at.groupby("seed"):
                ax.plot(
                    run["step"], run["grad_norm"].clip(lower=1e-8), color=get_cell(cell).color, alpha=0.6, linewidth=0.9
                )
            if clip_value is not None:
                ax.axhline(clip_value, color="black", linestyle="--", linewidth=0.8)
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(f"‖∂L/∂{parameter}‖")
            if col == 0:
                ax.set_ylabel(get_cell(cell).label)
            if row == len(cells) - 1:
                ax.set_xlabel("training step")
    fig.suptitle(title + " (before clipping; each line one seed; values below 1e-8 drawn at 1e-8)", fontsize=10)
    return save_figure(fig, path)


def plot_clip_scores(runs: pd.DataFrame, baseline: float, path: Path, title: str) -> Path:
    """Test score per cell without and with clipping: every seed a dot, the mean a bar with its 95% interval."""

    cells = _cells_in(runs)
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(cells), 3.6), layout="constrained")
    for i, cell in enumerate(cells):
        for j, (clip, label) in enumerate((("none", "no clip"), ("per_param", "clip per parameter"))):
            at = runs[(runs["cell"] == cell) & (runs["clip"] == clip) & (runs["status"] == "ok")]
            if at.empty:
                continue
            x = i + (j - 0.5) * 0.38
            row = score_table(at).iloc[0]
            ax.bar(
                x,
                row["mean"],
                width=0.34,
                color=get_cell(cell).color,
                alpha=0.45 if clip == "none" else 0.9,
                edgecolor="black",
                linewidth=0.5,
            )
            if row["n"] > 1:
                ax.errorbar(
                    x,
                    row["mean"],
                    yerr=[[row["mean"] - max(row["ci_low"], 0)], [min(row["ci_high"], 1) - row["mean"]]],
                    color="black",
                    capsize=3,
                    linewidth=1,
                )
            ax.scatter(np.full(len(at), x), at["test_score"], color="black", s=9, zorder=3)
    ax.axhline(baseline, color="grey", linestyle="--", linewidth=1, label=f"memoryless baseline ({baseline:.3g})")
    for alpha, label in ((0.45, "left: no clipping"), (0.9, "right: each parameter clipped")):
        ax.bar(0, 0, color="grey", alpha=alpha, edgecolor="black", linewidth=0.5, label=label)
    ax.set_xticks(range(len(cells)), [get_cell(c).label for c in cells])
    ax.set_ylabel("test accuracy (best-dev checkpoint)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title(title + " (bars: mean [95% interval]; dots: seeds)", fontsize=10)
    return save_figure(fig, path)


def plot_seed_strips(
    per_seed: pd.DataFrame, quantities: dict[str, str], path: Path, title: str, log: set[str] = frozenset()
) -> Path:
    """One panel per quantity (column of `per_seed`, titled by its description): every seed a dot in its `group`
    (a column naming the x position), the median a black tick with its 95% bootstrap interval
    (`memorybench.analysis.spread.median_interval`); log-scaled y for the quantities in `log`."""

    groups = list(dict.fromkeys(per_seed["group"]))
    fig, axes = plt.subplots(
        len(quantities),
        1,
        figsize=(1.2 + 0.62 * len(groups), 2.7 * len(quantities)),
        squeeze=False,
        layout="constrained",
    )
    jitter = np.random.default_rng(0)
    for ax, (quantity, description) in zip(axes[:, 0], quantities.items()):
        for x, group in enumerate(groups):
            at = per_seed[per_seed["group"] == group]
            color = get_cell(at["cell"].iloc[0]).color if "cell" in at else "C0"
            ax.scatter(x + jitter.uniform(-0.18, 0.18, len(at)), at[quantity], s=12, color=color, alpha=0.8, zorder=3)
            median, low, high = median_interval(at[quantity])
            ax.errorbar(
                x,
                median,
                yerr=[[median - low], [high - median]],
                fmt="_",
                color="black",
                markersize=16,
                capsize=3,
                zorder=4,
            )
        if quantity in log:
            ax.set_yscale("log")
        ax.set_xticks(range(len(groups)), groups if ax is axes[-1, 0] else [""] * len(groups), fontsize=7, rotation=90)
        ax.set_ylabel(quantity, fontsize=8)
        ax.set_title(f"{description}: dots the seeds, black the median [95% bootstrap interval]", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_capacity(table: pd.DataFrame, task: TaskSpec, threshold: float, path: Path, title: str) -> Path:
    """Left: capacity — each variant's best setting (by dev) test score against length, with its 95% interval;
    right: trainability — the solve rate over all settings and seeds. A cell's colour throughout; its
    forget-gate-bias variants dashed."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    low, high = task.metric_range
    for cell in _cells_in(table):
        for k, (variant, rows) in enumerate(table[table["cell"] == cell].groupby("variant", sort=False)):
            rows = rows.sort_values("seq_len")
            label = get_cell(cell).label + variant[len(cell) :]  # 'lstm, forget bias 1' -> 'LSTM, forget bias 1'
            style = dict(
                color=get_cell(cell).color, linestyle=("-", "--", ":", "-.")[k % 4], marker="os^D"[k % 4], label=label
            )
            x, mean = rows["seq_len"].to_numpy(), rows["mean"].to_numpy(dtype=float)
            err = np.vstack(
                [
                    mean - np.maximum(rows["ci_low"].to_numpy(dtype=float), low),
                    np.minimum(rows["ci_high"].to_numpy(dtype=float), high) - mean,
                ]
            )
            left.errorbar(x, mean, yerr=np.nan_to_num(err), capsize=3, **style)
            right.plot(x, rows["solve_rate"].to_numpy(dtype=float), **style)
    for ax in (left, right):
        ax.set_xlabel(task.length_label)
        ax.grid(alpha=0.3)
    left.axhline(
        task.baseline, color="grey", linestyle="--", linewidth=1, label=f"memoryless baseline ({task.baseline:.3g})"
    )
    left.axhline(threshold, color="black", linestyle=":", linewidth=1, label=f"solved ({threshold:.3g})")
    left.set_ylabel(f"test {task.metric}, best setting by dev (best of N)")
    left.set_title("capacity: best setting's mean [95% interval]", fontsize=10)
    right.set_ylabel("solve rate (all settings and seeds)")
    right.set_ylim(-0.02, 1.02)
    right.set_title("trainability: share of runs solved", fontsize=10)
    left.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
