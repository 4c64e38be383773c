"""The phase diagram of a learning-rate sweep (issue 46): per cell, learning rate x length -> the share of seeds that
solve, and the horizon read two ways from the same grid — at the protocol's learning rate, and at the rate the dev
scores pick at each length ("best of N recipes", `memorybench.analysis.recipes.choose_recipe`, the rule of
`memorybench horizon --tune`).

Where a cell's memory ends, every rate fails; where its trainability at a rate ends, other rates still solve. A
folder whose runs of a cell differ in learning rate alone (and seed and length) gets this part after its
capacity section (`report.capacity`): `figures/<experiment>/phase.png` and `tables/phase_<experiment>.csv`.

Example:
    >>> import pandas as pd
    >>> from memorybench.tasks import get_task
    >>> runs = pd.DataFrame(dict(cell="srn", protocol="nndl", seq_len=[10] * 4 + [20] * 4, seed=[0, 1] * 4,
    ...     lr=[1e-3, 1e-3, 1e-2, 1e-2] * 2, init="book", hidden_size=32, forget_bias=None, status="ok", best_step=100,
    ...     best_dev_score=[0.9, 0.9, 0.6, 0.6, 0.3, 0.3, 0.8, 0.7], test_score=[0.9, 0.8, 0.6, 0.5, 0.2, 0.3, 0.7, 0.8]))
    >>> table = phase_table(runs, get_task("nndl"), 0.55)
    >>> table[table["chosen"]][["seq_len", "recipe", "solve_rate"]].values.tolist()
    [[10, 'lr 0.001', 1.0], [20, 'lr 0.01', 1.0]]
"""

from __future__ import annotations

import pandas as pd
from matplotlib.patches import Rectangle

from memorybench.analysis.fitted_horizon import fitted_horizon
from memorybench.analysis.recipes import choose_recipe, recipe_label, with_recipes
from memorybench.analysis.search import passes
from memorybench.cells import get_cell
from memorybench.config import protocol_config
from memorybench.report.capacity import with_settings
from memorybench.report.figures import plt, save_figure
from memorybench.report.markdown import markdown_table
from memorybench.storage.rundir import write_atomic
from memorybench.tasks import get_task


def is_rate_sweep(runs: pd.DataFrame) -> bool:
    """True when some cell's runs differ in learning rate and in nothing else but seed and length (one init, hidden
    size and forget-gate bias per cell)."""
    runs = with_settings(runs)
    by_cell = runs.groupby("cell")
    same = (by_cell[["init", "hidden_size", "variant"]].nunique() == 1).all(axis=1)
    return bool((same & (by_cell["lr"].nunique() > 1)).any())


def rate_recipes(runs: pd.DataFrame) -> pd.DataFrame:
    """A learning-rate sweep's runs with each run's recipe label (`recipe`: 'lr 0.003'); its rate is all that varies."""
    return with_recipes(runs.assign(forget_bias=None))


def _order(runs: pd.DataFrame) -> list[str]:
    """The recipes of one cell's runs in the grid's order: the protocol's learning rate first, then ascending."""
    first = runs.iloc[0]
    protocol = recipe_label(protocol_config(first["protocol"], cell=first["cell"]).lr)
    labels = [recipe_label(lr) for lr in sorted(runs["lr"].unique())]
    return [protocol, *(label for label in labels if label != protocol)] if protocol in labels else labels


def phase_table(runs: pd.DataFrame, task, threshold: float) -> pd.DataFrame:
    """Per cell, learning rate and length: runs, seeds solved, solve rate, mean best-dev and test score; `chosen`
    marks at each cell and length the rate its dev scores pick (`choose_recipe`), `protocol` the protocol's rate."""
    runs = rate_recipes(runs)
    rows = []
    for cell, mine in runs.groupby("cell", sort=False):
        order = _order(mine)
        for length, at in mine.groupby("seq_len"):
            chosen = choose_recipe(at, order, task.direction)
            for recipe, group in at.groupby("recipe"):
                ok = group[group["status"] == "ok"]
                solved = sum(passes(float(s), threshold, task.direction) for s in ok["test_score"])
                rows.append(dict(cell=cell, recipe=recipe, lr=float(group["lr"].iloc[0]), seq_len=int(length),
                                 runs=len(group), solved=solved, solve_rate=solved / len(group),
                                 dev_mean=ok["best_dev_score"].mean(), mean=ok["test_score"].mean(),
                                 chosen=recipe == chosen, protocol=recipe == order[0]))  # fmt: skip
    return pd.DataFrame(rows)


def readings(runs: pd.DataFrame, table: pd.DataFrame, task, threshold: float) -> pd.DataFrame:
    """Per cell: L50 at the protocol's rate and at the rates the dev scores pick, from the same grid's runs."""
    runs = rate_recipes(runs)
    rows = []
    for cell, mine in table.groupby("cell", sort=False):
        cell_runs = runs[runs["cell"] == cell]
        pick = lambda flag: cell_runs.merge(mine[mine[flag]][["seq_len", "recipe"]], on=["seq_len", "recipe"])
        protocol, tuned = (fitted_horizon(pick(flag), threshold, task.direction) for flag in ("protocol", "chosen"))
        picks = mine[mine["chosen"]].sort_values("seq_len")
        rows.append(dict(cell=cell, recipes=mine["recipe"].nunique(), protocol_l50=protocol.text(),
                         tuned_l50=tuned.text(), picks="; ".join(f"{r.seq_len}: {r.recipe[3:]}" for r in picks.itertuples())))  # fmt: skip
    return pd.DataFrame(rows)


def plot_phase(table: pd.DataFrame, path):
    """One panel per cell: learning rate (rows) x length (columns) -> solve rate, 'solved/runs' in each square, the
    rate the dev scores pick at each length outlined."""
    cells = list(dict.fromkeys(table["cell"]))
    cols = min(4, len(cells))
    rows = -(-len(cells) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False, layout="constrained")
    for ax, cell in zip(axes.flat, cells):
        mine = table[table["cell"] == cell]
        grid = mine.pivot(index="lr", columns="seq_len", values="solve_rate").sort_index()
        image = ax.imshow(grid.to_numpy(float), origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto")
        for r in mine.itertuples():
            y, x = list(grid.index).index(r.lr), list(grid.columns).index(r.seq_len)
            ax.text(x, y, f"{r.solved}/{r.runs}", ha="center", va="center", fontsize=7,
                    color="black" if r.solve_rate > 0.5 else "white")  # fmt: skip
            if r.chosen:
                ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
        ax.set_xticks(range(len(grid.columns)), [str(n) for n in grid.columns])
        ax.set_yticks(range(len(grid.index)), [f"{lr:g}" for lr in grid.index])
        ax.set_title(get_cell(cell).label, fontsize=10)
        ax.set_xlabel("length L")
        ax.set_ylabel("learning rate")
    for ax in list(axes.flat)[len(cells) :]:
        ax.axis("off")
    fig.colorbar(image, ax=axes, shrink=0.8, label="share of seeds that solve")
    fig.suptitle("phase diagram: solve rate per learning rate and length (red: the rate picked on dev)", fontsize=10)
    return save_figure(fig, path)


def phase_lines(runs: pd.DataFrame, store, slug: str, threshold: float | None) -> list[str]:
    """The phase-diagram part that follows a capacity section ([] unless the runs are a learning-rate sweep:
    `is_rate_sweep`); `threshold` None: the task's."""
    if not is_rate_sweep(runs):
        return []
    task = get_task(runs["task"].iloc[0], runs["task_params"].iloc[0])
    threshold = task.threshold if threshold is None else threshold
    figures = store.root / "figures" / slug
    swept = runs[runs["cell"].isin([c for c, g in runs.groupby("cell") if g["lr"].nunique() > 1])]
    table = phase_table(swept, task, threshold)
    write_atomic(store.tables_dir / f"phase_{slug}.csv", lambda tmp: table.to_csv(tmp, index=False))
    plot_phase(table, figures / "phase.png")
    read = readings(swept, table, task, threshold)
    shown = read.assign(cell=read["cell"].map(lambda c: get_cell(c).label)).rename(
        columns={"cell": "cell", "recipes": "rates", "protocol_l50": "at the protocol's rate",
                 "tuned_l50": "best of the rates (picked on dev)", "picks": "rate picked at each L"})  # fmt: skip
    rel = (figures / "phase.png").relative_to(store.root).as_posix()
    return [
        "### Phase diagram: learning rate against length",
        "",
        f"![phase diagram]({rel})",
        "",
        "Each square: the share of seeds whose test score passes, at one learning rate and length, with the same "
        "budget and init for every rate; outlined, the rate whose seeds reached the best mean dev score (ties: fewer "
        "steps, then the protocol's rate). Where every rate fails the cell's memory has ended at this budget; where "
        "some rate still solves, what ended is the trainability of the others. L50 read from the same runs, at the "
        "protocol's rate and at the picked rates (a best of N, optimistic by construction; "
        f"`tables/phase_{slug}.csv`):",
        "",
        markdown_table(shown),
        "",
    ]
