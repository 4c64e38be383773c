"""Training recipes of a tuned horizon search (issue 46): the grid each cell is tried at, and the rule that picks
one recipe per probed length from the dev scores alone.

A recipe is the config fields it sets (`memorybench.cells.Recipe`: a learning rate, the LSTM's forget-gate bias);
the grid a cell is searched at is the protocol's own recipe first, then every recipe its spec declares that
changes the config (`recipe_grid`). At each probed length the chosen recipe is the one whose seeds reached the best
mean best-dev score — never the test score, which the verdict is then read from — with ties going to the recipe
whose seeds reached it in fewer steps, then to the protocol's, then to the grid's order (`choose_recipe`). Every
recipe trains the protocol's budget: a higher learning rate gets no more steps than a lower one.

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame(dict(recipe=["lr 0.001"] * 2 + ["lr 0.01"] * 2, seed=[0, 1] * 2, status="ok",
    ...                          best_dev_score=[0.5, 0.7, 0.9, 0.8], best_step=[100, 200, 300, 300]))
    >>> choose_recipe(runs, ["lr 0.001", "lr 0.01"], direction="higher")
    'lr 0.01'
    >>> choose_recipe(runs.assign(best_dev_score=0.6), ["lr 0.001", "lr 0.01"], "higher")  # a tie: fewer steps
    'lr 0.001'
"""

from __future__ import annotations

import math

import pandas as pd

from memorybench.analysis.search import probe_summary
from memorybench.cells import get_cell


def recipe_label(lr: float, forget_bias: float | None = None) -> str:
    """A run's recipe as text: 'lr 0.001', 'lr 0.001, forget bias 1'.

    >>> recipe_label(3e-4), recipe_label(1e-3, 1.0), recipe_label(1e-3, float("nan"))
    ('lr 0.0003', 'lr 0.001, forget bias 1', 'lr 0.001')
    """
    bias = "" if forget_bias is None or math.isnan(forget_bias) else f", forget bias {forget_bias:g}"
    return f"lr {lr:g}{bias}"


def recipe_grid(config) -> dict[str, dict]:
    """The recipes a tuned search tries for `config`'s cell (a `RunConfig` at the protocol's recipe), label -> the
    fields it sets: the protocol's own first, then each recipe the cell's spec declares (`CellSpec.recipes`) that
    changes the config, once each.

    >>> from memorybench.config import protocol_config
    >>> list(recipe_grid(protocol_config("nndl", cell="srn")))
    ['lr 0.001', 'lr 0.0003', 'lr 0.003', 'lr 0.01']
    >>> recipe_grid(protocol_config("nndl", cell="lstm"))["lr 0.001, forget bias 1"]
    {'lr': 0.001, 'forget_bias': 1.0}
    """
    grid = {recipe_label(config.lr, config.forget_bias): {"lr": config.lr, "forget_bias": config.forget_bias}}
    for recipe in get_cell(config.cell).recipes:
        fields = {"lr": config.lr, "forget_bias": config.forget_bias, **recipe.overrides()}
        grid.setdefault(recipe_label(fields["lr"], fields["forget_bias"]), fields)
    return grid


def choose_recipe(runs: pd.DataFrame, order: list[str], direction: str) -> str:
    """The recipe (a label of `order`, the grid's order: the protocol's first) picked at one probed length from
    `runs`, its seeds at every recipe (columns recipe, status, best_dev_score, best_step): the best mean best-dev score
    (a failed run counts as the worst), then the fewest mean steps to it, then the earlier in `order`."""
    worst = -math.inf if direction == "higher" else math.inf
    sign = 1 if direction == "higher" else -1

    def key(label: str):
        mine = runs[runs["recipe"] == label]
        dev = mine["best_dev_score"].where(mine["status"] == "ok", worst).fillna(worst)
        return (-sign * dev.mean(), mine["best_step"].fillna(math.inf).mean(), order.index(label))

    return min((label for label in order if (runs["recipe"] == label).any()), key=key)


def with_recipes(runs: pd.DataFrame) -> pd.DataFrame:
    """`runs` (stored runs: lr, forget_bias) with each run's recipe label as a column `recipe`."""
    return runs.assign(recipe=[recipe_label(lr, bias) for lr, bias in zip(runs["lr"], runs["forget_bias"])])


def tuned_probe(runs: pd.DataFrame, order: list[str], threshold: float, direction: str) -> dict:
    """One probed length of a tuned search from its runs at every recipe of `order` (stored runs of one cell and
    length): the chosen recipe's `probe_summary` (mean score, interval, solve rate, pass), the recipe itself, how
    many recipes were tried, the solve rate over every recipe and seed (`trainability`: how much of the grid learns
    the length at all) and the wall time of the whole grid's runs.

    >>> runs = pd.DataFrame(dict(cell="srn", seq_len=10, lr=[1e-3] * 2 + [1e-2] * 2, forget_bias=None, seed=[0, 1] * 2,
    ...     status="ok", best_dev_score=[0.5, 0.6, 0.9, 0.8], best_step=100, test_score=[0.5, 0.6, 0.92, 0.4],
    ...     pack_size=2, wall_time_s=10.0))
    >>> probe = tuned_probe(runs, ["lr 0.001", "lr 0.01"], threshold=0.55, direction="higher")
    >>> probe["recipe"], probe["passed"], probe["solve_rate"], probe["trainability"], probe["grid_wall_time_s"]
    ('lr 0.01', True, 0.5, 0.5, 20.0)
    """
    runs = with_recipes(runs)
    chosen = choose_recipe(runs, order, direction)
    summary = probe_summary(runs[runs["recipe"] == chosen], threshold, direction).iloc[0].to_dict()
    grid = probe_summary(runs.assign(cell=summary["cell"]), threshold, direction).iloc[0]
    return dict(
        summary,
        recipe=chosen,
        recipes=len(order),
        trainability=float(grid["solve_rate"]),
        grid_wall_time_s=float(grid["wall_time_s"]),
    )
