"""The report's section for a horizon search (`memorybench horizon`), from tables/search_horizons.csv and
tables/search_probes.csv: each cell's searched horizon with its bracket, the pessimistic and optimistic
horizons read off the seeds' interval, every probed length's mean score and solve rate, and two figures —
every probed seed's score against length (figures/search/TASK_scores.png) and the horizon the stored dev
curves give at each earlier training budget (figures/search/TASK_budget.png)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from memorybench.analysis.experiments import label_of
from memorybench.analysis.fitted_horizon import fitted_horizon, solve_curve, solve_rates
from memorybench.analysis.outcomes import outcome_counts, outcomes_of
from memorybench.analysis.search import horizon_by_budget, search_reading
from memorybench.analysis.search_record import SETTINGS, probes_of, read_searches
from memorybench.report.markdown import markdown_table
from memorybench.report.sections import ReportSection, register_section
from memorybench.analysis.search_rule import Search
from memorybench.tasks import TASKS
from memorybench.cells import cell_names, get_cell
from memorybench.report.figures import plt, save_figure


def _given(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def horizon_text(row) -> str:
    """'17 [17, 19]', '>= 240 (cap)', '< 3 (minimum)' or '< 4 (shortest probed)' where the search did not reach its
    minimum; the longest passing length probed beside it where it is longer."""
    if row["censored"] == "above":
        return f">= {int(row['cap'])} (cap)"
    if row["censored"] == "below":
        first = int(row.get("first_probed", row["min_length"]))
        return f"< {first} ({'minimum' if first == int(row['min_length']) else 'shortest probed'})"
    text = f"{int(row['horizon'])} [{int(row['last_pass'])}, {int(row['first_fail'])}]"
    return text + (f"; passes again at {int(row['longest_pass'])}" if row["longest_pass"] > row["horizon"] else "")


def side_text(row, side: str) -> str:
    """A pessimistic ('low') or optimistic ('high') horizon: '20', '>= 60 (censored)', '< 30 (censored)', '–' without an interval."""
    censored = row.get(f"censored_{side}")
    if not _given(censored):
        return "–"
    if censored == "above":
        return f">= {int(row['last_probed'])} (censored)"
    if censored == "below":
        return f"< {int(row['first_probed'])} (censored)"
    return str(int(row[f"horizon_{side}"]))


def search_of(row) -> Search:
    """The search a row of search_horizons.csv was found with (the rule its readings follow)."""
    return Search(int(row["start"]), int(row["min_length"]), int(row["cap"]), float(row.get("growth", 2.0)))


def plot_scores(table: pd.DataFrame, probes: pd.DataFrame, path):
    """One panel per cell: every probed seed's test score against length (dots), the mean with its 95%
    interval, the threshold (dashed), the memoryless baseline (dotted) and the horizon (shaded up to it)."""

    cells = list(table["cell"])
    fig, axes = plt.subplots(
        1, len(cells), figsize=(3.6 * len(cells), 3.2), squeeze=False, sharey=True, layout="constrained"
    )
    for ax, (_, row) in zip(axes[0], table.iterrows()):
        mine = probes[probes["cell"] == row["cell"]].sort_values("seq_len")
        color = get_cell(row["cell"]).color if row["cell"] in _known_cells() else "black"
        for _, probe in mine.iterrows():
            scores = [float(s) for s in str(probe["scores"]).split()] if _given(probe["scores"]) else []
            ax.scatter(
                [probe["seq_len"]] * len(scores),
                scores,
                s=16,
                facecolors="none",
                edgecolors="black",
                linewidths=0.6,
                zorder=3,
            )
        low = (mine["mean"] - mine["ci_low"]).clip(lower=0).fillna(0)
        high = (mine["ci_high"] - mine["mean"]).clip(lower=0).fillna(0)
        ax.errorbar(
            mine["seq_len"],
            mine["mean"],
            yerr=[low, high],
            color=color,
            marker="o",
            capsize=3,
            label="mean, 95% interval",
        )
        ax.scatter([], [], s=16, facecolors="none", edgecolors="black", linewidths=0.6, label="one seed")
        ax.axhline(
            row["threshold"], color="black", linestyle="--", linewidth=1, label=f"threshold {row['threshold']:g}"
        )
        ax.axhline(
            row["baseline"],
            color="grey",
            linestyle=":",
            linewidth=1,
            label=f"memoryless baseline {row['baseline']:.3g}",
        )
        if row["censored"] != "below":
            ax.axvspan(
                mine["seq_len"].min(),
                row["horizon"] if row["censored"] == "none" else row["cap"],
                color=color,
                alpha=0.08,
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(mine["seq_len"], [str(n) for n in mine["seq_len"]], fontsize=7)
        ax.minorticks_off()
        ax.set_title(f"{label_of(row['cell'])}: horizon {horizon_text(row)}", fontsize=9)
        ax.set_xlabel("length L (probed)", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"test {table['metric'].iloc[0] if 'metric' in table else 'score'}", fontsize=8)
    axes[0][0].legend(fontsize=7, loc="best")
    first = table.iloc[0]
    fig.suptitle(
        f"Horizon search on {first['task']} ({first['protocol']}): every probed seed, {int(first['seeds'])} a length",
        fontsize=9,
    )
    return save_figure(fig, path)


def plot_budget(budget: pd.DataFrame, table: pd.DataFrame, path):
    """The horizon each cell's probes give when cut at each evaluation step (best dev score so far)."""

    fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
    for cell, mine in budget.groupby("cell", sort=False):
        color = get_cell(cell).color if cell in _known_cells() else None
        shown = mine["horizon"].where(mine["censored"] != "below", np.nan).astype(float)
        ax.step(mine["step"], shown, where="post", color=color, label=label_of(cell))
        above = mine[mine["censored"] == "above"]
        ax.scatter(above["step"], above["horizon"].astype(float), marker="^", s=14, color=color)
    first = table.iloc[0]
    ax.set_xlabel("training steps (budget)", fontsize=8)
    ax.set_ylabel("horizon from the dev score (best so far)", fontsize=8)
    ax.set_title(
        f"{first['task']}: does the horizon still grow with the budget? (▲: every probed length passes)", fontsize=9
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_solve_rates(table: pd.DataFrame, fits: dict, path):
    """One panel per cell: the share of its seeds that solve at each probed length (k/n beside each point), the
    penalised logistic fit of that share against log length with its 95% band over seed resamples
    (`memorybench.analysis.fitted_horizon.solve_curve`) and L50 with its interval shaded where L50 is a fit, the
    separation bracket hatched where the seeds separate. `fits`: `cell_fits`'s."""
    cells = list(table["cell"])
    fig, axes = plt.subplots(
        1, len(cells), figsize=(3.6 * len(cells), 3.2), squeeze=False, sharey=True, layout="constrained"
    )
    for ax, (_, row) in zip(axes[0], table.iterrows()):
        color = get_cell(row["cell"]).color if row["cell"] in _known_cells() else "black"
        ax.axhline(0.5, color="grey", linestyle="--", linewidth=0.8)
        lengths = []
        if row["cell"] in fits:
            mine, fitted = fits[row["cell"]]
            threshold, direction = row["threshold"], row["direction"]
            if fitted.reading == "fit":  # elsewhere the penalised curve is a shrunk slope, not a reading
                ax.axvspan(fitted.low, fitted.high, color=color, alpha=0.12, linewidth=0)
                ax.axvline(fitted.l50, color=color, linewidth=1)
                curve = solve_curve(mine, threshold, direction)
                ax.fill_between(curve["seq_len"], curve["low"], curve["high"], color=color, alpha=0.2, linewidth=0)
                ax.plot(curve["seq_len"], curve["p"], color=color, linewidth=1.5)
            elif fitted.reading == "separated":
                ax.axvspan(*fitted.bracket, color=color, alpha=0.12, linewidth=0, hatch="//")
            rates = solve_rates(mine, threshold, direction)
            ax.scatter(rates["seq_len"], rates["rate"], s=14 + 4 * rates["seeds"], color=color, edgecolors="black",
                       linewidths=0.5, zorder=3)  # fmt: skip
            for _, r in rates.iterrows():
                ax.annotate(f"{int(r['solved'])}/{int(r['seeds'])}", (r["seq_len"], r["rate"]), textcoords="offset points",
                            xytext=(3, 4), fontsize=6)  # fmt: skip
            ax.set_title(f"{label_of(row['cell'])}: {fitted.text()}", fontsize=9)
            lengths = sorted(rates["seq_len"])
        ax.set_xscale("log")
        ax.set_xticks(lengths, [str(n) for n in lengths], fontsize=7)  # the probed lengths
        ax.minorticks_off()
        ax.set_ylim(-0.05, 1.1)
        ax.set_xlabel("sequence length L (log scale)", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("share of seeds that solve", fontsize=8)
    return save_figure(fig, path)


def _known_cells() -> set:

    return set(cell_names())


def report_section(store, runs=None) -> list[str]:
    searches = read_searches(store.tables_dir)
    if searches is None:
        return []
    table, probes = searches
    groups = list(table.groupby([c for c in SETTINGS if c in table], sort=False, dropna=False))
    tasks = [key[0] for key, _ in groups]
    lines = ["## Horizon search", ""]
    for _, group in groups:
        first = group.iloc[0]
        mine = pd.concat([probes_of(probes, row) for _, row in group.iterrows()], ignore_index=True)
        name = (
            first["task"]
            if tasks.count(first["task"]) == 1
            else f"{first['task']}-{first['protocol']}-{int(first['seeds'])}seeds-{int(first['steps'])}steps-{first['threshold']:g}"
        )
        if len(groups) > 1:
            lines += [
                f"### `{first['task']}` ({first['protocol']}), {int(first['seeds'])} seeds, {int(first['steps'])} steps",
                "",
            ]
        lines += _search_lines(store, runs, group.reset_index(drop=True), mine, name)
    return lines


def _search_lines(store, runs, table: pd.DataFrame, probes: pd.DataFrame, name: str) -> list[str]:
    """One search's text, tables and figures (its cells share the task, protocol, seeds, budget and rule)."""
    table, probes = by_reading_rule(table, probes)
    first = table.iloc[0]
    bounds = probes.groupby("cell")["seq_len"].agg(["min", "max"])
    table = table.assign(first_probed=table["cell"].map(bounds["min"]), last_probed=table["cell"].map(bounds["max"]))
    fits = cell_fits(runs, table, probes)
    rows = [
        [
            label_of(r["cell"]),
            _l50(r, *fits.get(r["cell"], (None, None))),
            horizon_text(r),
            side_text(r, "low"),
            side_text(r, "high"),
            int(r["probes"]),
            int(r["runs"]),
            f"{r['wall_time_s']:.0f}" if _given(r.get("wall_time_s")) else "–",
        ]
        for _, r in table.iterrows()
    ]
    probes = probes.sort_values(["cell", "seq_len"])
    curves = store.collect()[1] if runs is not None and len(runs) else None
    probe_rows = [
        [
            label_of(r["cell"]),
            int(r["seq_len"]),
            f"{r['mean']:.3g}",
            _interval(r),
            f"{r['solve_rate']:.2f}",
            seeds,
            "pass" if r["passed"] else "fail",
        ]
        for (_, r), seeds in zip(probes.iterrows(), _outcomes(runs, curves, table, probes))
    ]
    figures = store.root / "figures" / "search"
    figures.mkdir(parents=True, exist_ok=True)
    lines = [
        f"Task `{first['task']}` ({first['protocol']}), {int(first['seeds'])} seeds a length. L50 is the length at which half "
        "the seeds solve (a seed's own test score passing the threshold), fitted from every probed seed with its 95% "
        "bootstrap interval over seeds (`in [a, b]`: every seed solves at a and none at b; `≥`, `<`: censored at the "
        "longest or shortest length probed); the search itself reads the horizon on means: the last length whose "
        f"mean test score passes {first['threshold']:g} ({first['direction']} is better; memoryless baseline {first['baseline']:.3g}) "
        f"below the shortest length that fails, found from {int(first['start'])} by growing x{first.get('growth', 2):g}, shrinking "
        f"and bisecting (`memorybench horizon`), capped at {int(first['cap'])}. [last pass, first fail] is the bracket; a cell whose "
        "score is not monotone in length shows the longest passing length it was probed at too. The pessimistic and optimistic "
        "horizons apply the same rule to the 95% interval's worse and better ends at the probed lengths (censored where that "
        "end passes at every probed length, or at none). Run time: each probe run's share of its pack's wall time, summed. "
        "Training: what it did to each seed, read from its dev curve — solved (the dev score passes the threshold at the "
        "last evaluation), lost (it passed at some evaluation and not at the last; the test score, from the best-dev "
        "checkpoint, may still pass) or never (it never passed)."
        + (
            f" Probes below {rule} decide no horizon (the task's reading rule; they stay in its score tables)."
            if (rule := getattr(TASKS.get(first["task"]), "horizon_from", 1)) > 1
            else ""
        ),
        "",
        markdown_table(
            pd.DataFrame(
                rows,
                columns=[
                    "cell",
                    "L50 (every seed)",
                    "horizon on means",
                    "pessimistic",
                    "optimistic",
                    "lengths probed",
                    "runs",
                    "run time (s)",
                ],  # fmt: skip
            )
        ),
        "",
        markdown_table(
            pd.DataFrame(
                probe_rows,
                columns=["cell", "L", "mean test score", "95% interval", "solve rate", "training", "threshold"],
            )
        ),
        "",
    ]
    scores_png = plot_scores(table, probes, figures / f"{name}_scores.png")
    lines += [f"![every probed seed against length]({scores_png.relative_to(store.root)})", ""]
    if fits:
        rates_png = plot_solve_rates(table, fits, figures / f"{name}_solve_rate.png")
        lines += [
            "The share of seeds that solve at each probed length (k/n), the penalised logistic fit L50 is read from "
            "(C = 1 on the slope per doubling of length) with its 95% band over seed resamples and L50 with its "
            "interval shaded, where L50 is a fit; hatched, the separation bracket (every seed solves at one end and none at the "
            "other: no fit exists without the penalty, and none is drawn):",
            "",
            f"![share of seeds that solve against length]({rates_png.relative_to(store.root)})",
            "",
        ]
    if curves is not None:
        budget = _budget(runs, curves, table, probes)
        if len(budget):
            budget_png = plot_budget(budget, table, figures / f"{name}_budget.png")
            lines += [
                "The horizon the same rule reads off the probed lengths when every run is cut at an earlier step and scored "
                "by its best dev score so far (dev, not test: the test score exists only at the end):",
                "",
                f"![horizon against training steps]({budget_png.relative_to(store.root)})",
                "",
            ]
    return lines


def _interval(row) -> str:
    return "–" if not _given(row["ci_low"]) else f"[{row['ci_low']:.3g}, {row['ci_high']:.3g}]"


def probe_runs(runs: pd.DataFrame, row, lengths, every_seed: bool = False) -> pd.DataFrame:
    """The runs of one searched cell's probes at `lengths`: its protocol, seeds below the search's count (every seed
    stored there with `every_seed`: those the seed rounds added too), its budget."""
    mine = runs[(runs["cell"] == row["cell"]) & (runs["protocol"] == row["protocol"]) & runs["seq_len"].isin(lengths)]
    mine = mine if every_seed else mine[mine["seed"] < row["seeds"]]
    return mine[mine["steps"] == row["steps"]] if _given(row.get("steps")) else mine


def by_reading_rule(table: pd.DataFrame, probes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table, probes) with the readings of a task that reads horizons from a length above its shortest probe
    (`TaskSpec.horizon_from`: associative recall's 3) read again from its probes at that length and above, as the
    suite reads them; other tasks' rows as stored. A plugin's task not registered here keeps its stored readings."""
    rows, kept = [], []
    for _, row in table.iterrows():
        start = getattr(TASKS.get(row["task"]), "horizon_from", 1)
        mine = probes[probes["cell"] == row["cell"]]
        if start > mine["seq_len"].min() and (mine["seq_len"] >= start).any():
            mine = mine[mine["seq_len"] >= start]
            floor = max(int(row["min_length"]), start)
            search = Search(int(row["start"]), floor, int(row["cap"]), float(row.get("growth", 2.0)))
            reading = search_reading(search, mine, row["threshold"], row["direction"])
            row = row.copy()
            row.update(pd.Series({k: v for k, v in reading.items() if k in row.index}, dtype=object))
            row["min_length"] = floor
        rows.append(row)
        kept.append(mine)
    return pd.DataFrame(rows).reset_index(drop=True), pd.concat(kept, ignore_index=True)


def cell_fits(runs, table: pd.DataFrame, probes: pd.DataFrame) -> dict:
    """cell -> (its runs at its probed lengths, every seed; their L50, `memorybench.analysis.fitted_horizon`), for the
    cells whose runs this process holds: read once for the table and the figure."""
    if runs is None or not len(runs):
        return {}
    fits = {}
    for _, row in table.iterrows():
        mine = probe_runs(runs, row, set(probes.loc[probes["cell"] == row["cell"], "seq_len"]), every_seed=True)
        if len(mine):
            fits[row["cell"]] = (mine, fitted_horizon(mine, row["threshold"], row["direction"]))
    return fits


def _l50(row, mine: pd.DataFrame | None, fitted) -> str:
    """The searched cell's L50 from every probed seed, with the seeds where more than the search's; '–' without its
    runs."""
    if fitted is None:
        return "–"
    most = int(mine.groupby("seq_len")["seed"].nunique().max())
    stop = f"; seeds stopped: {row['l50_stop']}" if _given(row.get("l50_stop")) else ""
    return f"{fitted.text()} ({most} seeds{stop})" if most > row["seeds"] or stop else fitted.text()


def _outcomes(runs, curves, table: pd.DataFrame, probes: pd.DataFrame) -> list[str]:
    """Each probe's seeds by what training did to them (`memorybench.analysis.outcomes`), in `probes`' order."""
    if curves is None:
        return ["–"] * len(probes)
    first = table.iloc[0]  # one search: one threshold and direction
    classes = outcomes_of(curves, first["threshold"], first["direction"])  # every run once
    searched = table.set_index("cell")
    texts = []
    for _, probe in probes.iterrows():
        row = searched.loc[probe["cell"]]
        mine = probe_runs(runs, {**row, "cell": probe["cell"]}, {probe["seq_len"]})
        texts.append(outcome_counts(classes.reindex(mine["run_id"]).dropna()))
    return texts


def _budget(runs: pd.DataFrame, curves: pd.DataFrame, table: pd.DataFrame, probes: pd.DataFrame) -> pd.DataFrame:
    """horizon_by_budget over the probes' own runs (seeds below the search's count, its protocol and budget)."""
    frames = []
    for _, row in table.iterrows():
        mine = probe_runs(runs, row, set(probes.loc[probes["cell"] == row["cell"], "seq_len"]))
        frames.append(
            horizon_by_budget(
                search_of(row), mine, curves[curves["run_id"].isin(mine["run_id"])], row["threshold"], row["direction"]
            )
        )
    return pd.concat(frames, ignore_index=True)


register_section(ReportSection("horizon_search", needs=("tables/search_horizons.csv",), write=report_section))
