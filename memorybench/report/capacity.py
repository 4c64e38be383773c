"""Capacity against trainability: a sweep over settings (`memorybench.sweep.settings`) read two ways.

- **Capacity** (can the cell hold it?): per cell variant and length, the setting with the
  best mean *dev* score over seeds, and that setting's mean *test* score with its
  95% interval. It is a best over N settings — an optimistic estimate, labelled as such
  and never shown as a plain mean; N is reported per variant and is the same for every
  cell when the sweep gives them the same axes (the forget-gate bias makes a variant,
  not more tries).
- **Trainability** (does training find it?): the solve rate, the share of all runs of the
  variant at that length — every setting and seed, failed runs included as unsolved —
  whose test score passes the task's threshold.

A cell with high capacity and a low solve rate can hold the information but is hard to
train (Collins, Sohl-Dickstein & Sussillo 2017).

Example:
    >>> import pandas as pd
    >>> from memorybench.tasks import get_task
    >>> runs = pd.DataFrame(dict(cell="srn", seq_len=10, seed=[0, 1, 0, 1], lr=[1e-3, 1e-3, 1e-2, 1e-2], init="book",
    ...     hidden_size=32, forget_bias=None, status="ok", best_dev_score=[0.9, 0.8, 0.6, 0.7], test_score=[0.7, 0.6, 0.9, 0.95]))
    >>> row = capacity_table(runs, get_task("nndl"), threshold=0.55).iloc[0]
    >>> row["best_setting"], int(row["settings"]), round(float(row["mean"]), 2), float(row["solve_rate"])  # chosen on dev, not on test
    ('lr=0.001, init=book, hidden=32', 2, 0.65, 1.0)
"""

from __future__ import annotations

import math

import pandas as pd

from memorybench.analysis.summary import mean_interval
from memorybench.analysis.experiments import label_of, paired_table
from memorybench.cells import cell_names
from memorybench.report.figures import plot_capacity
from memorybench.report.markdown import fmt, interval_text, markdown_table, paired_markdown
from memorybench.storage.rundir import write_atomic
from memorybench.tasks import get_task


def _bias(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def with_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """`runs` with `setting` (lr, init, hidden) and `variant` (the cell, and its forget-gate bias when set) columns."""
    settings = [
        f"lr={lr:g}, init={init}, hidden={hidden}"
        for lr, init, hidden in zip(runs["lr"], runs["init"], runs["hidden_size"])
    ]
    variants = [
        cell if _bias(b) is None else f"{cell}, forget bias {_bias(b):g}"
        for cell, b in zip(runs["cell"], runs["forget_bias"])
    ]
    return runs.assign(setting=settings, variant=variants)


def _cell_rank(cell: str) -> int:

    names = cell_names()
    return names.index(cell) if cell in names else len(names)


def is_multi_setting(runs: pd.DataFrame) -> bool:
    """True when some cell has more than one setting or variant: the runs are a capacity-vs-trainability study."""
    runs = with_settings(runs)
    return bool(
        (runs.groupby("cell")[["setting", "variant"]].nunique().max(axis=1) > 1).any()
        or (runs.groupby("cell")["variant"].nunique() > 1).any()
    )


def _passes(scores: pd.Series, task, threshold: float) -> pd.Series:
    return scores >= threshold if task.direction == "higher" else scores <= threshold


def settings_table(runs: pd.DataFrame, task, threshold: float) -> pd.DataFrame:
    """Per variant, setting and length: runs, successful runs, mean dev and test score (95% interval), solve rate."""
    runs = with_settings(runs)
    rows = []
    for (variant, setting, seq_len), group in runs.groupby(["variant", "setting", "seq_len"], sort=False):
        ok = group[group["status"] == "ok"]
        n, mean, low, high = mean_interval(ok["test_score"])
        solved = int(_passes(ok["test_score"], task, threshold).sum())
        first = group.iloc[0]
        rows.append(
            dict(
                cell=first["cell"],
                variant=variant,
                setting=setting,
                seq_len=seq_len,
                runs=len(group),
                n=n,
                dev_mean=ok["best_dev_score"].mean() if n else math.nan,
                mean=mean,
                ci_low=low,
                ci_high=high,
                solved=solved,
                solve_rate=solved / len(group),
                _order=(
                    _cell_rank(first["cell"]),
                    _bias(first["forget_bias"]) is not None,
                    _bias(first["forget_bias"]) or 0.0,
                    first["lr"],
                    first["init"],
                    first["hidden_size"],
                    seq_len,
                ),
            )
        )
    table = pd.DataFrame(rows)
    return table.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True) if rows else table


def capacity_table(runs: pd.DataFrame, task, threshold: float) -> pd.DataFrame:
    """Per variant and length: the best setting by mean dev score (ties: the first by lr, init, hidden size), its test
    mean and interval over seeds, the number of settings it was chosen from, and the solve rate over all runs."""
    table = settings_table(runs, task, threshold)
    rows = []
    for (variant, seq_len), group in table.groupby(["variant", "seq_len"], sort=False):
        candidates = group[group["n"] > 0]
        solved, total = int(group["solved"].sum()), int(group["runs"].sum())
        row = dict(
            cell=group["cell"].iloc[0],
            variant=variant,
            seq_len=seq_len,
            settings=len(group),
            solved=solved,
            runs=total,
            solve_rate=solved / total,
        )
        if len(candidates):
            best = candidates.loc[
                candidates["dev_mean"].idxmax() if task.direction == "higher" else candidates["dev_mean"].idxmin()
            ]
            row.update(
                best_setting=best["setting"],
                dev_mean=best["dev_mean"],
                n=best["n"],
                mean=best["mean"],
                ci_low=best["ci_low"],
                ci_high=best["ci_high"],
            )
        rows.append(row)
    columns = [
        "cell",
        "variant",
        "seq_len",
        "settings",
        "best_setting",
        "dev_mean",
        "n",
        "mean",
        "ci_low",
        "ci_high",
        "solved",
        "runs",
        "solve_rate",
    ]
    return pd.DataFrame(rows).reindex(columns=columns)


def best_setting_runs(runs: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The runs of each variant and length's best setting (from `capacity_table`)."""
    runs = with_settings(runs)
    best = table.dropna(subset=["best_setting"])[["variant", "seq_len", "best_setting"]]
    chosen = runs.merge(best, on=["variant", "seq_len"])
    return chosen[chosen["setting"] == chosen["best_setting"]].drop(columns="best_setting")


def capacity_section(label: str, runs: pd.DataFrame, store, slug: str, threshold: float | None) -> list[str]:
    """The report's section for a capacity-vs-trainability study (several settings or variants per cell)."""

    task = get_task(runs["task"].iloc[0], runs["task_params"].iloc[0])
    threshold = task.threshold if threshold is None else threshold
    table = capacity_table(runs, task, threshold)
    settings = settings_table(runs, task, threshold)
    figures = store.root / "figures" / slug
    figures.mkdir(parents=True, exist_ok=True)
    plot_capacity(table, task, threshold, figures / "capacity.png", f"{task.label}: {label}")

    def variant_label(variant: str) -> str:
        cell, _, rest = variant.partition(", ")
        return label_of(cell) + (f" ({rest})" if rest else "")

    variants = list(
        dict.fromkeys(table["variant"])
    )  # in settings_table's order: cells in registry order, base variant first
    low, high = task.metric_range

    def capacity_cell(r) -> str:
        if not isinstance(r["best_setting"], str):
            return f"– (no successful run of {r['settings']} settings)"
        score = interval_text(r["n"], r["mean"], r["ci_low"], r["ci_high"], (low, high), digits=task.digits)
        return f"{score} — {r['best_setting']} (best of {r['settings']})"

    capacity_rows, solve_rows = [], []
    for length in sorted(table["seq_len"].unique()):
        at = table[table["seq_len"] == length].set_index("variant")
        capacity_rows.append([length] + [capacity_cell(at.loc[v]) if v in at.index else "–" for v in variants])
        solve_rows.append(
            [length]
            + [
                f"{at.at[v, 'solve_rate']:.2f} ({at.at[v, 'solved']}/{at.at[v, 'runs']})" if v in at.index else "–"
                for v in variants
            ]
        )
    columns = ["L"] + [variant_label(v) for v in variants]
    counts = table.groupby("variant", sort=False)["settings"].max()
    same = (
        "the same for every variant"
        if counts.nunique() == 1
        else "**not the same for every variant: compare with care**"
    )
    compare = "at or above" if task.direction == "higher" else "at or below"
    best = best_setting_runs(runs, table)
    paired = paired_table(best, "variant", variants[0], variants[1:])  # against the first cell in registry order
    for name, frame in (("capacity", table), ("settings", settings), ("paired", paired)):
        frame = frame.assign(experiment=label, metric=task.metric, baseline=task.baseline, threshold=threshold)
        write_atomic(store.tables_dir / f"{name}_{slug}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False))
    settings_md = settings.assign(
        variant=settings["variant"].map(variant_label),
        test=[
            interval_text(r.n, r.mean, r.ci_low, r.ci_high, (low, high), digits=task.digits)
            for r in settings.itertuples()
        ],
        dev_mean=settings["dev_mean"].map(lambda v: fmt(v, task.digits)),
        solve_rate=settings["solve_rate"].map("{:.2f}".format),
    )
    rel = (figures / "capacity.png").relative_to(store.root).as_posix()
    return [
        f"## Capacity against trainability: {label}",
        "",
        f"Task `{task.name}` ({task.description}); {len(runs)} runs over the settings below, "
        f"{runs['seed'].nunique()} seeds each. Memoryless baseline ({task.baseline_note}): **{task.baseline:.3g}**; "
        f"solved: test {task.metric} {compare} **{threshold:.3g}** ({task.threshold_note} unless `--threshold` says otherwise).",
        "",
        f"![capacity and trainability]({rel})",
        "",
        f"**Capacity** — for each cell and length, the setting with the best mean *dev* {task.metric} over seeds, and that "
        f"setting's mean *test* {task.metric} [95% t-interval] over its seeds. A best over N settings (N per variant: "
        f"{same}): an optimistic estimate of what the cell can hold, not a mean over settings.",
        "",
        markdown_table(pd.DataFrame(capacity_rows, columns=columns)),
        "",
        "**Trainability** — solve rate: the share of all runs (every setting and seed; a failed run counts as unsolved) "
        f"whose test {task.metric} is {compare} {threshold:.3g}.",
        "",
        markdown_table(pd.DataFrame(solve_rows, columns=["L"] + columns[1:])),
        "",
        f"**Paired differences at the best settings** (same seed: same data; mean [95% t-interval] of the per-seed "
        f"differences of test {task.metric}; `tables/paired_{slug}.csv`):",
        "",
        paired_markdown(paired, variant_label, task.digits),
        "",
        f"**Every setting** (`tables/settings_{slug}.csv`; capacity rows in `tables/capacity_{slug}.csv`):",
        "",
        markdown_table(
            settings_md[["variant", "setting", "seq_len", "runs", "dev_mean", "test", "solve_rate"]].rename(
                columns={
                    "seq_len": "L",
                    "dev_mean": f"dev {task.metric} (mean)",
                    "test": f"test {task.metric} [95% CI]",
                }
            )
        ),
        "",
    ]
