"""The suite at a glance: one JSON file, one table and one figure across tasks, from several results folders.

    memorybench suite results/nndl-seeds5 results/adding results/copy results/delayed_recall --out results/suite

Per task (one experiment of one folder) and cell, the measure that task has, with its
interval over seeds, as one entry of `suite.json` (schema: docs/reference/suite-json.md);
`suite.md`, `suite.png` and the README's table are rendered from that file:

- a task trained at several lengths: the **memory horizon** — the last length whose mean
  test score passes the task's threshold below the shortest length that fails, with the
  pessimistic and optimistic horizons from the 95% interval's ends (`analysis.search`).
  Where the folder holds a horizon search (`memorybench horizon`: tables/search_horizons.csv),
  its reading; otherwise the same rule applied to the folder's grid of lengths, censored
  "above" when the longest length tried passes (the grid, not the cell, ends there) and
  "below" when the shortest length tested fails;
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
    >>> runs = pd.DataFrame(dict(cell="lstm", seq_len=[10, 10, 20, 20], seed=[0, 1] * 2, status="ok", steps=100,
    ...                          test_score=[0.9, 0.95, 0.3, 0.35]))
    >>> from memorybench.tasks import get_task
    >>> entry = measure(runs, get_task("nndl"), None)["lstm"]
    >>> entry["measure"], entry["value"], entry["bracket"], mean_text(entry)
    ('horizon', 10, [10, 20], '10 [10, ≥ 20]')
    >>> entry_text({**entry, "l50_reading": "separated", "l50_bracket": [10, 20]})
    'L50 in [10, 20] (mean 10, 2 seeds)'
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from memorybench.analysis.fitted_horizon import FittedHorizon, fitted_horizon
from memorybench.analysis.search import probe_summary, search_reading
from memorybench.analysis.search_record import probes_of, read_searches
from memorybench.analysis.summary import mean_interval
from memorybench.analysis.experiments import cell_order, label_of
from memorybench.cells import CELLS
from memorybench.report.plugins_needed import plugin_note
from memorybench.storage.rundir import read_run
from memorybench.storage.store import open_results
from memorybench.analysis.search_rule import Search
from memorybench.sweep.settings import DEFAULT_HIDDEN
from memorybench.tasks.base import METRIC_DIGITS, METRIC_RANGES
from memorybench.analysis.experiments import experiment_label
from memorybench.report.capacity import is_multi_setting
from memorybench.report.phase import is_rate_sweep, phase_table, rate_recipes
from memorybench.report.figures import plt, save_figure
from memorybench.report.markdown import markdown_table
from memorybench.storage.provenance import environment
from memorybench.storage.rundir import write_text_atomic
from memorybench.config import AXES
from memorybench.tasks import TASKS, get_task

SCHEMA_VERSION = 2  # docs/reference/suite.schema.json
# one entry of suite.json (docs/reference/suite-json.md); folder, experiment and source say where it was read
ENTRY_FIELDS = [
    "task",
    "protocol",
    "cell",
    "measure",
    "metric",
    "n",
    "direction",
    "value",
    "low",
    "high",
    "bracket",
    "longest_pass",
    "longest_pass_low",
    "longest_pass_high",
    "censored",
    "low_censored",
    "high_censored",
    "cap",
    "min_length",
    "shortest_tested",
    "lengths_tested",
    "l50",
    "l50_low",
    "l50_high",
    "l50_reading",
    "l50_bracket",
    "l50_stop",
    "threshold",
    "baseline",
    "seeds",
    "steps",
    "runs",
    "steps_done",
    "reused_from",
    "provenance",
    "source",
    "recipe",
    "recipe_picks",
    "folder",
    "experiment",
]
PROTOCOL_RECIPE = "protocol"  # an entry's `recipe` when its runs trained at the protocol's recipe alone


def _number(value):
    """A JSON number or null: NaN and None -> None, numpy scalars -> Python ones, whole floats kept as they are."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def horizon_entry(reading: dict, probes: pd.DataFrame, cap: int, min_length: int) -> dict:
    """A horizon entry's numbers from a `search_reading`: value is the horizon (the cap when censored above, null
    below), low and high the pessimistic and optimistic horizons under the same convention (censored above: the
    longest length probed)."""
    longest_probed = int(probes["seq_len"].max())

    def side(horizon, censored, top):
        return None if censored in (None, "below") else top if censored == "above" else int(horizon)

    return dict(
        value=side(reading["horizon"], reading["censored"], cap),
        low=side(reading["horizon_low"], reading["censored_low"], longest_probed),
        high=side(reading["horizon_high"], reading["censored_high"], longest_probed),
        bracket=list(reading["bracket"]) if reading["bracket"] else None,
        longest_pass=reading["longest_pass"],
        longest_pass_low=reading.get("longest_pass_low"),
        longest_pass_high=reading.get("longest_pass_high"),
        censored=reading["censored"],
        low_censored=reading["censored_low"],
        high_censored=reading["censored_high"],
        cap=cap,
        min_length=min_length,
        shortest_tested=int(probes["seq_len"].min()),
    )


def measure(
    runs: pd.DataFrame,
    task,
    mc: pd.DataFrame | None,
    searched: pd.DataFrame | None = None,
    probed: pd.DataFrame | None = None,
) -> dict[str, dict]:
    """cell -> the task's headline entry over the successful runs of one experiment (see the module docstring);
    `searched`: the folder's tables/search_horizons.csv rows for this experiment, which replace the grid's reading
    (a cell searched several times: the search at the task's threshold with the most seeds, the latest of equals),
    `probed` their probes (`memorybench.analysis.search_record`)."""
    ok = runs[runs["status"] == "ok"]
    lengths = sorted(ok["seq_len"].unique())
    base = dict(
        metric=task.metric,
        direction=task.direction,
        threshold=None,
        baseline=task.baseline,
        bracket=None,
        longest_pass=None,
        censored="none",
        low_censored=None,
        high_censored=None,
        cap=None,
        min_length=None,
    )
    out = {}
    if mc is not None and len(mc):
        sizes = set(mc["hidden_size"])
        shown = (
            DEFAULT_HIDDEN if DEFAULT_HIDDEN in sizes else max(sizes)
        )  # one hidden size per cell; the folder's report has all
        for row in mc[mc["hidden_size"] == shown].itertuples():
            out[row.cell] = {
                **base,
                "measure": "memory_capacity",
                "metric": "memory_capacity",
                "n": int(row.hidden_size),
                "direction": "higher",
                "baseline": 0.0,
                "value": row.mc,
                "low": row.mc_ci_low,
                "high": row.mc_ci_high,
                "seeds": row.n,
                "runs": row.n,
                "source": "memory capacity",
            }
        return out
    if len(lengths) > 1:
        ok = ok[ok["seq_len"] >= task.horizon_from]  # the task's reading rule: shorter lengths decide no horizon
        lengths = sorted(ok["seq_len"].unique())
        for cell, group in ok.groupby("cell", sort=False):
            steps, seeds = int(group["steps"].max()), int(group.groupby("seq_len")["seed"].nunique().max())
            mine = (
                None
                if searched is None
                else searched[(searched["cell"] == cell) & (searched["threshold"] == task.threshold)]
            )
            if mine is not None and len(mine):
                row = mine.loc[mine["seeds"].iloc[::-1].idxmax()]  # the most seeds, the latest of equals
                probes = probes_of(probed, row)
                probes = probes[probes["seq_len"] >= task.horizon_from]
                floor = max(int(row["min_length"]), task.horizon_from)
                reading = search_reading(
                    Search(int(row["start"]), floor, int(row["cap"]), float(row.get("growth", 2.0))),
                    probes,
                    task.threshold,
                    task.direction,
                )
                entry = horizon_entry(reading, probes, int(row["cap"]), floor)
                # runs: every run the entry reads (its L50 reads the seed rounds' too), not only the search's probes
                entry.update(seeds=int(row["seeds"]), steps=int(row["steps"]), runs=len(group), source="search")
                entry.update(l50_stop=row.get("l50_stop"))  # why the seed rounds stopped (none: no rounds)
            else:  # the grid read with the search's rule: the last pass below the shortest failing length tried
                probes = probe_summary(group, task.threshold, task.direction)
                grid = Search(start=max(lengths), min_length=min(lengths), cap=max(lengths))
                entry = horizon_entry(
                    search_reading(grid, probes, task.threshold, task.direction), probes, max(lengths), min(lengths)
                )
                entry.update(seeds=seeds, steps=steps, runs=len(group), source="grid")
            out[cell] = {**base, "measure": "horizon", "threshold": task.threshold, **entry}
        return out
    for cell, group in ok.groupby("cell", sort=False):
        n, mean, low, high = mean_interval(group["test_score"])
        out[cell] = {
            **base,
            "threshold": task.threshold,
            "measure": "test_score",
            "value": mean,
            "low": low if n > 1 else None,
            "high": high if n > 1 else None,
            "seeds": n,
            "steps": int(group["steps"].max()),
            "runs": n,
            "source": "single length",
        }
    return out


def entry_text(entry: dict) -> str:
    """How the suite's table shows an entry: a horizon as its L50 with the mean-score horizon beside it and the seeds
    behind both, 'L50 27 [21, 30] (mean 20, 5 seeds)', '5–10 seeds' where the seed rounds added some at a few
    lengths (`l50_text`, `mean_text`); 'MC 28.8 [27.7, 29.9] of N = 32';
    '0.92 [0.87, 0.97]' (the metric's decimals, the interval clipped to its range)."""
    if entry["measure"] == "horizon":
        seeds = sorted({count for _, count in entry.get("lengths_tested") or []}) or [entry["seeds"]]
        counts = f"{seeds[0]}–{seeds[-1]}" if seeds[0] != seeds[-1] else f"{seeds[0]}"
        return f"{l50_text(entry)} (mean {_length(entry, entry['value'], entry['censored'])}, {counts} seeds)"
    if entry["measure"] == "memory_capacity":
        return f"MC {entry['value']:.1f} [{entry['low']:.1f}, {entry['high']:.1f}] of N = {entry['n']}"
    digits, (bottom, top) = METRIC_DIGITS[entry["metric"]], METRIC_RANGES[entry["metric"]]
    interval = (
        ""
        if entry["low"] is None
        else f" [{max(entry['low'], bottom):.{digits}f}, {min(entry['high'], top):.{digits}f}]"
    )
    return f"{entry['value']:.{digits}f}{interval}"


def l50_text(entry: dict) -> str:
    """A horizon entry's fitted horizon: 'L50 27 [21, 30]', 'L50 in [10, 40]' (separated), 'L50 ≥ 30', 'L50 < 5'
    (censored), 'L50 –' (none: one seed, or no fall)."""
    bracket = tuple(entry["l50_bracket"]) if entry.get("l50_bracket") else None
    fitted = FittedHorizon(
        entry.get("l50_reading"), entry.get("l50"), entry.get("l50_low"), entry.get("l50_high"), bracket, entry["seeds"]
    )
    return fitted.text()


def mean_text(entry: dict) -> str:
    """A horizon entry's reading on means: '20 [15, ≥ 30]' (horizon [pessimistic, optimistic]; '≥' censored above,
    '<' below the shortest length tested; '; passes at 30' where a longer length passed again)."""
    text = (
        f"{_length(entry, entry['value'], entry['censored'])} [{_length(entry, entry['low'], entry['low_censored'])}, "
        f"{_length(entry, entry['high'], entry['high_censored'])}]"
    )
    if entry["censored"] == "none" and entry["longest_pass"] and entry["longest_pass"] > entry["value"]:
        text += f"; passes at {int(entry['longest_pass'])}"
    return text


def _length(entry: dict, value, censored) -> str:
    """One reading of a horizon entry: '20', '≥ 30' (censored above), '< 12' (below the shortest length tested)."""
    if censored is None:  # one seed: no interval
        return "–"
    if censored == "below":
        return f"< {int(entry.get('shortest_tested') or entry['min_length'])}"
    return f"≥ {int(value)}" if censored == "above" else str(int(value))


def suite_entries(folders, warn=lambda text: None) -> tuple[list[dict], list[str]]:
    """(one entry per folder, experiment and cell with the task's measure (`measure`), its fields ENTRY_FIELDS;
    the runs' 'device / torch version' pairs). A plugin's cell not registered here keeps its stored name; the runs
    of a plugin's task not registered here cannot be measured: `warn` names the plugin that would give them."""

    entries, trained_with = [], set()
    for folder in folders:
        store = open_results(folder)
        runs, _ = store.collect()
        if not runs.empty and not runs["task"].isin(list(TASKS)).all():
            warn(f"{folder}: left out of the suite: {plugin_note(store, runs[~runs['task'].isin(list(TASKS))])}")
            runs = runs[runs["task"].isin(list(TASKS))]
        if runs.empty:
            continue
        trained_with |= {f"{device} / torch {torch}" for device, torch in zip(runs["device"], runs["torch"])}
        runs["experiment"] = [
            experiment_label(row, skip=AXES) for row in runs.to_dict("records")
        ]  # one row per task: MC per N below
        mc_path = store.tables_dir / "memory_capacity.csv"
        mc_all = pd.read_csv(mc_path) if mc_path.exists() else None
        searches, probed = read_searches(store.tables_dir) or (None, None)
        for experiment, group in runs.groupby("experiment", sort=False):
            task = get_task(group["task"].iloc[0], group["task_params"].iloc[0])
            protocol = group["protocol"].iloc[0]
            mc = None if mc_all is None else mc_all[mc_all["task"] == task.name]
            where = dict(task=task.name, protocol=protocol, folder=str(folder), experiment=experiment)
            if is_rate_sweep(group) and (mc is None or mc.empty):  # a phase grid: its best-of-N reading, labelled
                entries += [_fields(e) for e in tuned_entries(store, group, task, where)]
                continue
            if is_multi_setting(group) and (
                mc is None or mc.empty
            ):  # a study over settings: best-of-N, not comparable here
                continue
            searched = (
                None
                if searches is None
                else searches[(searches["protocol"] == protocol) & (searches["steps"] == group["steps"].max())]
            )
            for cell, m in measure(group, task, mc, searched, probed).items():
                mine = group[group["cell"] == cell]
                if mc is not None and len(mc):  # memory capacity: the runs of its hidden size
                    mine = mine[mine["hidden_size"] == m["n"]]
                entry = dict(where, cell=cell, recipe=PROTOCOL_RECIPE)
                entry.update({**m, **entry_runs(store, mine, m.get("steps"))})
                if m["measure"] == "horizon":
                    entry.update(fitted_fields(mine, task))
                entries.append(_fields(entry))
    return entries, sorted(trained_with)


def _fields(entry: dict) -> dict:
    """An entry's ENTRY_FIELDS, numbers as JSON numbers or null."""
    return {
        field: _number(entry.get(field)) if not isinstance(entry.get(field), list) else entry[field]
        for field in ENTRY_FIELDS
    }


def tuned_entries(store, runs: pd.DataFrame, task, where: dict) -> list[dict]:
    """The entries of a learning-rate sweep (`report.phase`): per swept cell, the horizon read from the runs of the
    rate picked on dev at each length (`recipe` 'best of N recipes', `recipe_picks` [[length, recipe], ...]); the
    grid's rule on their means, L50 from their seeds. Its protocol-rate reading is the protocol folder's entry."""
    table = phase_table(runs, task, task.threshold)
    labelled = rate_recipes(runs)
    out = []
    for cell, picked in table[table["chosen"]].groupby("cell", sort=False):
        if table[table["cell"] == cell]["recipe"].nunique() < 2 or len(picked) < 2:  # a horizon needs lengths
            continue
        mine = labelled.merge(picked[["cell", "seq_len", "recipe"]], on=["cell", "seq_len", "recipe"])
        entry = dict(where, **measure(mine, task, None)[cell], cell=cell)
        entry.update(entry_runs(store, mine, entry.get("steps")), **fitted_fields(mine, task))
        entry.update(
            recipe=f"best of {table[table['cell'] == cell]['recipe'].nunique()} recipes",
            recipe_picks=[[int(r.seq_len), r.recipe] for r in picked.sort_values("seq_len").itertuples()],
        )
        out.append(entry)
    return out


def fitted_fields(runs: pd.DataFrame, task) -> dict:
    """A horizon entry's L50 read from every seed at every length (`memorybench.analysis.fitted_horizon`)."""
    fitted = fitted_horizon(runs[runs["seq_len"] >= task.horizon_from], task.threshold, task.direction)
    return dict(
        l50=fitted.l50, l50_low=fitted.low, l50_high=fitted.high, l50_reading=fitted.reading,
        l50_bracket=list(fitted.bracket) if fitted.bracket else None,
    )  # fmt: skip


def entry_runs(store, runs: pd.DataFrame, steps: int | None) -> dict:
    """What an entry's runs say of themselves, so that it can be cited alone: the budget (`steps`, when the measure
    did not set it) and the steps they ran (`steps_done`: [fewest, most]; a run stops early once its dev score is
    perfect), the lengths they trained at with the seeds at each (`lengths_tested`: [[length, seeds], ...]), the
    folder that holds them where this one links them (`reused_from`), and their provenance — the commits (a `+dirty`
    one marked so), torch versions, devices, machines, CPUs and core counts, and the dates they finished."""
    held = sorted(
        {os.path.relpath(store.run_folder(r).parent.parent) for r in runs["run_id"]} - {os.path.relpath(store.root)}
    )
    done = pd.to_numeric(runs.get("steps_done", pd.Series(dtype=float)), errors="coerce").dropna()
    dates = sorted(d for d in runs["finished"].astype(str) if d)
    seeds = runs.groupby("seq_len")["seed"].nunique()
    envs = [read_run(store.run_folder(r)).environment for r in runs["run_id"]]
    return dict(
        lengths_tested=[[int(length), int(count)] for length, count in seeds.items()],
        steps=int(runs["steps"].max()) if steps is None and len(runs) else steps,
        steps_done=[int(done.min()), int(done.max())] if len(done) else None,
        reused_from=held or None,
        provenance=dict(
            commits=sorted(set(runs["commit"].astype(str))),
            torch=sorted(set(runs["torch"].astype(str))),
            devices=sorted(set(runs["device"].astype(str))),
            machines=sorted(set(runs["machine"].fillna("").astype(str)) - {""}),
            cpus=sorted({str(env["cpu"]) for env in envs if env.get("cpu")}),
            cpu_counts=sorted({int(env["cpu_count"]) for env in envs if env.get("cpu_count")}),
            finished=[dates[0], dates[-1]] if dates else None,
        ),
    )


def suite_table(folders) -> pd.DataFrame:
    """`suite_entries` as a DataFrame, with each entry's `text`."""
    entries, _ = suite_entries(folders)
    return pd.DataFrame([{**e, "text": entry_text(e)} for e in entries], columns=[*ENTRY_FIELDS, "text"])


def measure_name(group: pd.DataFrame) -> str:
    """The table's 'measure' cell for one task's entries: 'horizon: L50 [95% interval] (mean-score horizon; searched,
    cap 240; solved at 0.55)', ..."""
    first = group.iloc[0]
    if first["measure"] == "horizon":
        searched = (group["source"] == "search").all()
        where = (
            f"searched, cap {int(group['cap'].max())}"
            if searched
            else f"grid {int(first['min_length'])}–{int(first['cap'])}"
            if (group["source"] == "grid").all()
            else "searched or grid: see suite.json"
        )
        tuned = "" if first.get("recipe") in (PROTOCOL_RECIPE, None) else f"; {first['recipe']}, picked on dev"
        return f"horizon: L50 [95% interval] (mean-score horizon; {where}; solved at {first['threshold']:.3g}{tuned})"
    return "memory capacity" if first["measure"] == "memory_capacity" else f"test {first['metric']}"


def reuse_note(entry) -> str:
    """'; runs of `results`' where some of an entry's runs are another folder's, linked (`reused_from`): the same runs
    may be read in that folder's row too, with other seeds beside them.

    >>> reuse_note({"reused_from": ["results"]}), reuse_note({"reused_from": None})
    ('; runs of `results`', '')
    """
    held = entry.get("reused_from")
    return f"; runs of {', '.join(f'`{folder}`' for folder in held)}" if isinstance(held, list) and held else ""


def suite_markdown(table: pd.DataFrame) -> str:
    """Tasks as rows, cells as columns."""

    cells = cell_order(table["cell"])
    rows = []
    for (folder, experiment, task), group in table.groupby(["folder", "experiment", "task"], sort=False):
        at = group.set_index("cell")
        baseline = (
            "0 (a memoryless state)"
            if group["measure"].iloc[0] == "memory_capacity"
            else f"{group['baseline'].iloc[0]:.3g}"
        )
        rows.append(
            [f"`{task}` ({experiment}; `{folder}`)", measure_name(group), baseline]
            + [at.at[c, "text"] + reuse_note(at.loc[c]) if c in at.index else "–" for c in cells]
        )
    return markdown_table(
        pd.DataFrame(rows, columns=["task", "measure", "memoryless baseline", *[label_of(c) for c in cells]])
    )


def horizon_axis(group: pd.DataFrame) -> tuple[float, bool]:
    """(top of the y axis, whether to draw the cap) for one task's horizon panel: up to the cap where a cell is
    censored there or an interval reaches half way to it, else scaled to the intervals (the cap named in the title).

    >>> entries = lambda high, censored: pd.DataFrame(dict(cap=[320, 320], high=high, censored=censored))
    >>> horizon_axis(entries([5, 8], ["none", "none"])), horizon_axis(entries([50, None], ["above", "below"]))
    ((10.0, False), (345.6, True))
    >>> horizon_axis(entries([None, None], ["below", "below"]))  # no cell passes anywhere
    (1.0, False)
    """
    cap = float(group["cap"].max())
    reach = pd.to_numeric(group["high"], errors="coerce").max()
    if (group["censored"] == "above").any() or reach >= cap / 2:
        return cap * 1.08, True
    return (max(1.0, 1.25 * float(reach)) if reach == reach else 1.0), False


def plot_suite(table: pd.DataFrame, path: Path) -> Path:
    """One panel per task: each cell's measure with its interval (horizons as lengths, MC in units, scores)."""

    groups = list(table.groupby(["folder", "experiment", "task"], sort=False))
    columns = min(4, len(groups))
    rows = -(-len(groups) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 3.0 * rows), squeeze=False, layout="constrained")
    repeated = (
        pd.Series([(task, experiment) for _, experiment, task in (key for key, _ in groups)])
        .duplicated(keep=False)
        .tolist()
    )
    for ax, ((folder, experiment, task), group), named in zip(axes.flat, groups, repeated):
        cells = cell_order(group["cell"])
        at = group.set_index("cell")
        for i, cell in enumerate(cells):
            value, low, high = (
                np.nan if at.at[cell, k] is None else float(at.at[cell, k]) for k in ("value", "low", "high")
            )
            low, high = (value if np.isnan(v) else v for v in (low, high))
            if np.isnan(value):  # no length passes (a horizon) or nothing measured
                ax.text(i, 0, "none", ha="center", va="bottom", fontsize=8)
                continue
            ax.bar(
                i,
                value,
                color=CELLS[cell].color if cell in CELLS else "grey",
                width=0.6,
                hatch="//" if at.at[cell, "censored"] == "above" else None,
            )
            ax.errorbar(i, value, yerr=[[max(value - low, 0)], [max(high - value, 0)]], color="black", capsize=3)
        kind = group["measure"].iloc[0]
        if kind == "test_score":
            ax.axhline(group["baseline"].iloc[0], color="grey", linestyle="--", linewidth=1)
        if kind == "horizon":
            top, draw_cap = horizon_axis(group)
            if draw_cap:
                ax.axhline(
                    float(group["cap"].max()), color="grey", linestyle=":", linewidth=1
                )  # the search's cap or the grid's end
            ax.set_ylim(0, top)
        ax.set_xticks(
            range(len(cells)),
            [label_of(c) for c in cells],
            rotation=45 if len(cells) > 4 else 0,
            fontsize=7 if len(cells) > 4 else None,
        )
        ax.set_title(
            f"{task}"
            + (f" ({Path(folder).name})" if named else "")
            + f"\n{experiment}"
            + (f", cap {group['cap'].max():g}" if kind == "horizon" else ""),
            fontsize=8,
        )
        ax.set_ylabel(measure_name(group).split(" (")[0], fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    fig.suptitle(
        "The suite at a glance: each task's measure per cell, with its 95% interval over seeds (horizon: pessimistic to "
        "optimistic; hatched: censored at the cap, dotted: the cap or the grid's end; dashed: memoryless baseline)",
        fontsize=9,
    )
    return save_figure(fig, path)


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


def read_suite(path) -> dict:
    """A suite.json: {'schema_version', 'provenance', 'entries'}; refuses a schema it does not know."""
    suite = json.loads(Path(path).read_text())
    if suite.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"{path} has schema_version {suite.get('schema_version')!r}; this memorybench reads {SCHEMA_VERSION}"
        )
    return suite


def write_suite(folders, out, readme=None, warn=lambda text: None) -> list[Path]:
    """suite.json, then suite.md and suite.png rendered from it, in `out` (an ordinary folder); with `readme`, the
    table also replaces the one between that file's MARKERS."""

    entries, trained_with = suite_entries(folders, warn)
    if not entries:
        raise ValueError("the folders hold no successful runs to summarise")
    if readme is not None:
        between_markers(Path(readme).read_text(), "", str(readme))  # refused before anything is written
    env = environment()
    provenance = dict(
        commit=env["commit"],
        torch=env["torch"],
        device=", ".join(sorted({t.split(" / ")[0] for t in trained_with})),
        trained_with=trained_with,
        cpu=env["cpu"],
        date=env["date"],
        memorybench=env["memorybench"],
        folders=[str(f) for f in folders],
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    suite_json = out / "suite.json"
    write_text_atomic(
        suite_json,
        json.dumps(dict(schema_version=SCHEMA_VERSION, provenance=provenance, entries=entries), indent=1) + "\n",
    )
    (out / "suite.csv").unlink(missing_ok=True)  # replaced by suite.json
    entries = read_suite(suite_json)["entries"]  # what follows is rendered from the file: its nulls, not pandas' NaN
    table = pd.DataFrame(entries).assign(text=[entry_text(e) for e in entries])
    readme_text = (
        None if readme is None else between_markers(Path(readme).read_text(), suite_markdown(table), str(readme))
    )
    figure = plot_suite(table, out / "suite.png")
    text = "\n".join(
        [
            "# The suite at a glance",
            "",
            "Per task and cell the measure the task has, with its interval over seeds: the memory horizon as L50, the length at "
            "which half the seeds solve the task (each seed's test score passing its threshold), fitted from every seed at every "
            "length tested, with its 95% bootstrap interval over seeds (`L50 in [a, b]`: every seed solves at a and none at b, "
            "so the fit does not exist; `≥` / `<`: censored at the longest or shortest length tested); beside it the horizon on "
            "means (the last length whose mean test score passes the threshold below the shortest that fails) and the seeds "
            "behind both — suite.json holds its pessimistic and optimistic readings. Searched by `memorybench horizon` where the "
            "folder holds a search, else read off its grid; Jaeger's memory capacity; or the test score, beside the memoryless "
            "baseline (docs/explanation/horizons.md says when the two horizons disagree, and why). Rendered from `suite.json` (docs/reference/suite-json.md), built by "
            "`memorybench suite` from: " + ", ".join(f"`{f}`" for f in folders) + ".",
            "",
            suite_markdown(table),
            "",
            "![the suite at a glance](suite.png)",
            "",
        ]
    )
    written = [out / "suite.md", suite_json, figure]
    if readme is not None:
        write_text_atomic(Path(readme), readme_text)
        written.append(Path(readme))
    write_text_atomic(out / "suite.md", text)
    return written
