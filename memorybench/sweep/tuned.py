"""A tuned horizon search (`memorybench horizon --tune`, issue 46): every probed length trains each cell at every
recipe of its grid (`memorybench.analysis.recipes.recipe_grid`: the protocol's own, then the learning rates and
variants its spec declares), and the length's verdict is read at the recipe its dev scores pick
(`choose_recipe`: never the test score). The search rule, the budget and the seeds are the protocol search's; a
pack holds one recipe (runs that differ in more than seed and length never share one).

Its tables are the folder's tables/tuned_horizons.csv and tables/tuned_probes.csv, beside (not in) the protocol
search's: each probe names its chosen recipe, the grid's size and the solve rate over every recipe and seed
(`trainability`); each cell's row is labelled "best of N recipes" and carries L50 fitted from the chosen recipes'
seeds (`fitted_horizon`), so it is never read as the protocol recipe's horizon.

Example (the grids a search tries; `search_folder` trains):
    >>> from memorybench.analysis.search_rule import Search
    >>> from memorybench.sweep.horizon import SearchPlan
    >>> from memorybench.tasks import get_task
    >>> plan = SearchPlan("nndl", get_task("nndl").grid, "nndl", get_task("nndl"), Search(30, 5, 240), quick=True, steps=None, device="cpu")
    >>> prober = TunedProber(plan, ["srn", "lstm"], seeds=2)
    >>> {cell: len(grid) for cell, grid in prober.grids.items()}, len(prober.configs("lstm", 10))
    ({'srn': 4, 'lstm': 5}, 10)
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from memorybench.analysis.fitted_horizon import fitted_horizon
from memorybench.analysis.recipes import recipe_grid, tuned_probe, with_recipes
from memorybench.analysis.search_record import TUNED
from memorybench.sweep.horizon import Prober, SearchPlan

L50_COLUMNS = ("l50_reading", "l50", "l50_low", "l50_high", "l50_bracket_low", "l50_bracket_high")


class TunedProber(Prober):
    """A search's probes at every recipe of each cell's grid, each length's verdict at the recipe picked on dev."""

    tables_names = TUNED

    def __init__(self, plan: SearchPlan, cells: list[str], seeds: int):
        super().__init__(plan, cells, seeds)
        protocol = lambda cell: Prober.configs(self, cell, plan.search.start, seeds=1)[0]
        self.grids = {cell: recipe_grid(protocol(cell)) for cell in cells}  # cell -> label -> fields
        self.chosen: dict[tuple[str, int], list[str]] = {}  # (cell, length) -> the run ids of its chosen recipe

    def configs(self, cell: str, length: int, seeds: int | None = None) -> list:
        """A probe's runs: one config per seed (`seeds`, default the search's) at each recipe of the cell's grid."""
        protocol = super().configs(cell, length, seeds)
        return [replace(config, **fields) for fields in self.grids[cell].values() for config in protocol]

    def record(self, runs, cell: str, length: int) -> bool:
        """Score a probe at its chosen recipe; False when not all of its runs, at every recipe, are stored."""
        at = runs.reindex([c.run_id() for c in self.configs(cell, length)])
        if at["status"].isna().any():
            return False
        task = self.plan.task
        probe = tuned_probe(at, list(self.grids[cell]), task.threshold, task.direction)
        labelled = with_recipes(at)
        self.chosen[(cell, length)] = list(labelled.index[labelled["recipe"] == probe["recipe"]])
        self.probes[cell][length] = probe["passed"]
        self.scores[(cell, length)] = dict(
            task=self.plan.task_name, protocol=self.plan.protocol, **probe, steps=self.steps, threshold=task.threshold
        )
        return True

    def probed_runs(self) -> int:
        """The runs behind every probe recorded so far (one run per seed and recipe)."""
        return self.seeds * sum(len(self.grids[cell]) * len(lengths) for cell, lengths in self.probes.items())

    def chosen_runs(self, runs: pd.DataFrame, cell: str) -> pd.DataFrame:
        """The stored runs of `cell` at each probed length's chosen recipe (`runs` indexed by run id)."""
        return runs.loc[[run for length in self.probes[cell] for run in self.chosen[(cell, length)]]]

    def tables(self, runs: pd.DataFrame | None = None):
        """The protocol search's tables with the grid: each cell's row labelled 'best of N recipes', with L50 fitted
        from its chosen recipes' seeds (`runs`: the folder's stored runs, indexed by run id; None: no L50)."""
        horizons, probed = super().tables()
        sizes = horizons["cell"].map({cell: len(grid) for cell, grid in self.grids.items()})
        grid_time = probed.groupby("cell")["grid_wall_time_s"].sum() if len(probed) else pd.Series(dtype=float)
        horizons = horizons.assign(
            recipe=[f"best of {n} recipes" for n in sizes],
            recipes=sizes,
            runs=horizons["runs"] * sizes,  # every recipe's seeds, not only the chosen ones
            wall_time_s=horizons["cell"].map(grid_time).fillna(0.0),
        )
        if runs is not None:
            task = self.plan.task
            fits = [fitted_horizon(self.chosen_runs(runs, cell), task.threshold, task.direction) for cell in self.cells]
            horizons[list(L50_COLUMNS)] = [
                [f.reading, f.l50, f.low, f.high, *(f.bracket or (None, None))] for f in fits
            ]
        return horizons, probed
