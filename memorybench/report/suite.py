"""The suite at a glance: one table and one figure across tasks, from several results folders.

    memorybench suite results results/adding results/copy results/delayed_recall results/digits_rows --out results/suite

Per task (one experiment of one folder) and cell, the measure that task has, with its
interval over seeds:

- a task trained at several lengths: the **memory horizon** — the longest length
  whose mean test score passes the task's threshold, with the pessimistic and
  optimistic horizons read off the 95% interval's ends (`summary.memory_horizon`);
  "≥ L" when even the longest length tested passes (the grid, not the cell, ends
  there), "< L" when the shortest fails;
- delayed recall, once profiled (`memorybench diagnose memory-capacity`):
  Jaeger's **memory capacity** MC (<= N) with its interval, at hidden size 32 when the
  folder has it (its own report has every N);
- a task trained at one length (sequential digits): the **mean test score** with
  its interval, beside the memoryless baseline.

Capacity-versus-trainability studies (several settings per cell) are left out: their
best-of-N figures are not comparable with a single setting's mean (a delayed-recall
folder over hidden sizes is shown by its memory capacity).

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame(dict(cell="lstm", seq_len=[10, 10, 20, 20], seed=[0, 1] * 2, status="ok", test_score=[0.9, 0.95, 0.3, 0.35]))
    >>> from memorybench.tasks import get_task
    >>> row = measure(runs, get_task("nndl"), None)["lstm"]
    >>> row["kind"], row["text"]
    ('horizon', '10 [10, ≥ 20]')
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from memorybench.analysis.summary import mean_interval, memory_horizon, score_table
from memorybench.cells import cell_names, get_cell
from memorybench.parser import Parser, folder_path
from memorybench.report.writer import run_writer
from memorybench.storage.store import open_results
from memorybench.sweep.settings import DEFAULT_HIDDEN

COLUMNS = ["folder", "experiment", "task", "cell", "kind", "value", "low", "high", "text", "baseline", "runs", "longest"]


def _length_text(value: float, lengths: list[int]) -> str:
    if np.isnan(value):
        return f"< {min(lengths)}"
    return f"≥ {int(value)}" if value == max(lengths) else str(int(value))


def measure(runs: pd.DataFrame, task, mc: pd.DataFrame | None) -> dict[str, dict]:
    """cell -> the task's headline measure over the successful runs of one experiment (see the module docstring)."""
    ok = runs[runs["status"] == "ok"]
    lengths = sorted(ok["seq_len"].unique())
    out = {}
    if mc is not None and len(mc):
        sizes = set(mc["hidden_size"])
        shown = DEFAULT_HIDDEN if DEFAULT_HIDDEN in sizes else max(sizes)  # one hidden size per cell; the folder's report has all
        for row in mc[mc["hidden_size"] == shown].itertuples():
            out[row.cell] = dict(kind="memory capacity", value=row.mc, low=row.mc_ci_low, high=row.mc_ci_high,
                                 text=f"MC {row.mc:.1f} [{row.mc_ci_low:.1f}, {row.mc_ci_high:.1f}] of N = {row.hidden_size}", runs=row.n,
                                 longest=np.nan)
        return out
    if len(lengths) > 1:
        table = score_table(ok, direction=task.direction)
        for row in memory_horizon(table, task.threshold, task.direction).itertuples():
            text = f"{_length_text(row.horizon, lengths)} [{_length_text(row.horizon_low, lengths)}, {_length_text(row.horizon_high, lengths)}]"
            out[row.cell] = dict(kind="horizon", value=row.horizon, low=row.horizon_low, high=row.horizon_high, text=text,
                                 runs=int((ok["cell"] == row.cell).sum()), longest=max(lengths))
        return out
    for cell, group in ok.groupby("cell", sort=False):
        n, mean, low, high = mean_interval(group["test_score"])
        digits = task.digits
        text = f"{mean:.{digits}f}" + (f" [{max(low, task.metric_range[0]):.{digits}f}, {min(high, task.metric_range[1]):.{digits}f}]" if n > 1 else "")
        out[cell] = dict(kind=f"test {task.metric}", value=mean, low=low, high=high, text=text, runs=n)
    return out


def suite_table(folders) -> pd.DataFrame:
    """One row per folder, experiment and cell with the task's measure (`measure`)."""
    from memorybench.analysis.experiments import experiment_label
    from memorybench.report.capacity import is_multi_setting
    from memorybench.sweep.settings import AXES
    from memorybench.tasks import get_task

    rows = []
    for folder in folders:
        store = open_results(folder)
        runs, _ = store.collect()
        if runs.empty:
            continue
        runs["experiment"] = [experiment_label(row, skip=AXES) for row in runs.to_dict("records")]  # one row per task: MC per N below
        mc_path = store.tables_dir / "memory_capacity.csv"
        mc_all = pd.read_csv(mc_path) if mc_path.exists() else None
        for experiment, group in runs.groupby("experiment", sort=False):
            task = get_task(group["task"].iloc[0], group["task_params"].iloc[0])
            mc = None if mc_all is None else mc_all[mc_all["task"] == task.name]
            if is_multi_setting(group) and (mc is None or mc.empty):  # a study over settings: best-of-N, not comparable here
                continue
            threshold_note = f"solved at {task.threshold:.3g}" if len(set(group["seq_len"])) > 1 else ""
            for cell, m in measure(group, task, mc).items():
                rows.append(dict(folder=str(folder), experiment=experiment, task=task.name, cell=cell, baseline=task.baseline, **m,
                                 note=threshold_note))
    return pd.DataFrame(rows, columns=[*COLUMNS, "note"])


def suite_markdown(table: pd.DataFrame) -> str:
    """Tasks as rows, cells as columns."""
    from memorybench.analysis.experiments import label_of
    from memorybench.report.markdown import markdown_table

    cells = [c for c in cell_names() if c in set(table["cell"])]
    rows = []
    for (folder, experiment, task), group in table.groupby(["folder", "experiment", "task"], sort=False):
        at = group.set_index("cell")
        measure_name = group["kind"].iloc[0] + (f" ({group['note'].iloc[0]})" if group["note"].iloc[0] else "")
        baseline = "0 (a memoryless state)" if group["kind"].iloc[0] == "memory capacity" else f"{group['baseline'].iloc[0]:.3g}"
        rows.append([f"`{task}` ({experiment}; `{folder}`)", measure_name, baseline]
                    + [at.at[c, "text"] if c in at.index else "–" for c in cells])
    return markdown_table(pd.DataFrame(rows, columns=["task", "measure", "memoryless baseline", *[label_of(c) for c in cells]]))


def plot_suite(table: pd.DataFrame, path: Path) -> Path:
    """One panel per task: each cell's measure with its interval (horizons as lengths, MC in units, scores)."""
    from memorybench.report.figures import _save, plt

    groups = list(table.groupby(["folder", "experiment", "task"], sort=False))
    columns = min(4, len(groups))
    rows = -(-len(groups) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 3.0 * rows), squeeze=False, layout="constrained")
    for ax, ((folder, experiment, task), group) in zip(axes.flat, groups):
        cells = [c for c in cell_names() if c in set(group["cell"])]
        at = group.set_index("cell")
        for i, cell in enumerate(cells):
            value, low, high = (float(at.at[cell, k]) for k in ("value", "low", "high"))
            low, high = (value if np.isnan(v) else v for v in (low, high))
            if np.isnan(value):  # no length passes (a horizon) or nothing measured
                ax.text(i, 0, "none", ha="center", va="bottom", fontsize=8)
                continue
            ax.bar(i, value, color=get_cell(cell).color, width=0.6)
            ax.errorbar(i, value, yerr=[[max(value - low, 0)], [max(high - value, 0)]], color="black", capsize=3)
        kind = group["kind"].iloc[0]
        if kind.startswith("test"):
            ax.axhline(group["baseline"].iloc[0], color="grey", linestyle="--", linewidth=1)
        if kind == "horizon":
            ax.axhline(group["longest"].iloc[0], color="grey", linestyle=":", linewidth=1)  # the grid ends here
            ax.set_ylim(0, group["longest"].iloc[0] * 1.08)
        ax.set_xticks(range(len(cells)), [get_cell(c).label for c in cells])
        ax.set_title(f"{task}\n{experiment}", fontsize=8)
        ax.set_ylabel(kind, fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    fig.suptitle("The suite at a glance: each task's measure per cell, with its 95% interval over seeds "
                 "(horizon: pessimistic to optimistic, dotted: the longest length tested; dashed: memoryless baseline)", fontsize=9)
    return _save(fig, path)


MARKERS = ("<!-- suite -->", "<!-- /suite -->")  # where a README holds the suite's table


def between_markers(text: str, table: str, where: str = "the file") -> str:
    r"""`text` with what stands between MARKERS replaced by `table`.

    >>> between_markers("a\n<!-- suite -->\nold\n<!-- /suite -->\nb", "| new |")
    'a\n<!-- suite -->\n| new |\n<!-- /suite -->\nb'
    """
    start, end = text.find(MARKERS[0]), text.find(MARKERS[1])
    if start < 0 or end < start:
        raise ValueError(f"{where} has no {MARKERS[0]} ... {MARKERS[1]} block to write the suite's table into")
    return text[: start + len(MARKERS[0])] + "\n" + table + "\n" + text[end:]


def write_suite(folders, out, readme=None) -> list[Path]:
    """suite.md, suite.csv and suite.png in `out` (an ordinary folder); with `readme`, the table
    also replaces the one between that file's MARKERS."""
    from memorybench.storage.rundir import write_atomic, write_text_atomic

    table = suite_table(folders)
    if table.empty:
        raise ValueError("the folders hold no successful runs to summarise")
    readme_text = None if readme is None else between_markers(Path(readme).read_text(), suite_markdown(table), str(readme))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "suite.csv", lambda tmp: table.to_csv(tmp, index=False))
    figure = plot_suite(table, out / "suite.png")
    text = "\n".join([
        "# The suite at a glance", "",
        "Per task and cell the measure the task has, mean over seeds with its interval: the memory horizon "
        "(longest length whose mean test score passes the task's threshold; in brackets the pessimistic and optimistic "
        "horizons read off the 95% interval; `≥` when the longest length tested passes, `<` when the shortest fails), Jaeger's memory capacity, or "
        "the test score, beside the memoryless baseline. Built by `memorybench suite` from: "
        + ", ".join(f"`{f}`" for f in folders) + ".", "",
        suite_markdown(table), "", "![the suite at a glance](suite.png)", ""])
    written = [out / "suite.md", out / "suite.csv", figure]
    if readme is not None:
        write_text_atomic(Path(readme), readme_text)
        written.append(Path(readme))
    write_text_atomic(out / "suite.md", text)
    return written


def main(argv: list[str] | None = None, prog: str = "memorybench suite") -> int:
    parser = Parser(prog=prog,
                           description="One table and one figure across tasks, built from the stored runs of several results folders.")
    parser.add_argument("folders", nargs="+", type=folder_path, help="results folders written by memorybench (run_all.py --task ...)")
    parser.add_argument("--out", type=folder_path, default="results/suite", help="folder for suite.md, suite.csv and suite.png (default: %(default)s)")
    parser.add_argument("--readme", type=folder_path, default=None, metavar="FILE",
                        help=f"also write the table into FILE, between its {MARKERS[0]} and {MARKERS[1]} lines (README.md)")
    args = parser.parse_or_exit(argv)
    return run_writer(parser, lambda warn: write_suite(args.folders, args.out, args.readme))
