"""The horizon search's driver, below the command line: each round trains the next probes of every cell still
searching (`memorybench.analysis.search_rule.Search` decides them), packed as a sweep packs them, and scores them from
the stored runs; then the seed rounds (`memorybench.analysis.seed_rounds`) where a seed rule asks for them; then the
search's tables beside the folder's other searches (`memorybench.analysis.search_record`). `memorybench horizon`
parses its flags and calls `search_folder`.

Every probe is an ordinary stored run, so a sweep's runs count, nothing is trained twice, and a stopped search
resumes from its folder.

Example (a search's plan, what the folder holds, and a round's width; `search_folder` trains):
    >>> from memorybench.analysis.search_rule import Search
    >>> from memorybench.tasks import get_task
    >>> task = get_task("parity")
    >>> plan = SearchPlan("parity", task.grid, "parity", task, Search(10, 2, 80), quick=True, steps=None, device="cpu")
    >>> prober = Prober(plan, ["srn"], seeds=2)
    >>> prober.steps, len(prober.configs("srn", 10)), prober.read(None).empty
    (200, 2, True)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pandas as pd

from memorybench.analysis.search import probe_summary, search_reading
from memorybench.analysis.search_record import HORIZONS, PROBES, write_searches
from memorybench.analysis.seed_rounds import SeedRule, next_seeds
from memorybench.engine.policy import default_pack_sizes
from memorybench.sweep.plan import plan_sweep, run_sweep
from memorybench.sweep.session import session


def lengths_per_cell(workers: int, cells: int, seeds: int) -> int:
    """How many lengths each searching cell probes in one round: 1 while its runs fill the workers; more where
    workers would idle (a cluster, or one cell searched), taken breadth first from the search's next outcomes
    (`Search.next_lengths`): more runs for fewer rounds, which pays when a round's wall time, not its runs, is
    the cost.

    >>> lengths_per_cell(2, 3, 3), lengths_per_cell(16, 1, 3), lengths_per_cell(64, 3, 3)
    (1, 5, 7)
    """
    return max(1, workers // (cells * seeds))


@dataclass(frozen=True)
class SearchPlan:
    """What one search probes: the task (its grid and spec), the protocol, the budget, and the search's rule."""

    task_name: str
    grid: object
    protocol: str
    task: object
    search: object
    quick: bool
    steps: int | None
    device: str


class Prober:
    """A search's probes: each cell's probed lengths and whether they passed, scored from the stored runs (a sweep's
    runs and a stopped search's count), and the rounds that train the next ones."""

    tables_names = (HORIZONS, PROBES)  # the folder's tables it writes (`search_record`)

    def __init__(self, plan: SearchPlan, cells: list[str], seeds: int):
        self.plan, self.cells, self.seeds = plan, cells, seeds
        self.probes = {cell: {} for cell in cells}
        self.scores: dict[tuple[str, int], dict] = {}
        self.steps = Prober.configs(self, cells[0], plan.search.start, seeds=1)[
            0
        ].steps  # the budget: one seed's config at the protocol's recipe says it

    def configs(self, cell: str, length: int, seeds: int | None = None) -> list:
        """A probe's runs: one config per seed (`seeds`, default the search's)."""

        p = self.plan
        return plan_sweep(p.protocol, [cell], [length], seeds or self.seeds, p.quick, p.device, steps=p.steps)

    def record(self, runs, cell: str, length: int) -> bool:
        """Score a probe from its stored runs; False when not all of its seeds are stored."""

        at = runs.reindex([c.run_id() for c in self.configs(cell, length)])
        if at["status"].isna().any():
            return False
        task = self.plan.task
        summary = probe_summary(at, task.threshold, task.direction).iloc[0].to_dict()
        self.probes[cell][length] = summary["passed"]
        self.scores[(cell, length)] = dict(
            task=self.plan.task_name, protocol=self.plan.protocol, **summary, steps=self.steps, threshold=task.threshold
        )
        return True

    def read(self, store):
        """Record every probe the folder already holds; returns its runs (an empty frame for a new folder)."""

        stored = store.collect()[0] if store else pd.DataFrame()
        if stored.empty:  # a new folder (or none yet, with --dry-run)
            stored = pd.DataFrame(
                columns=["run_id", "cell", "protocol", "seq_len", "status", "steps", "wall_time_s", "pack_size"]
            )
        runs, search = stored.set_index("run_id"), self.plan.search
        for cell in self.cells:
            mine = stored[(stored["cell"] == cell) & (stored["protocol"] == self.plan.protocol)]
            for length in sorted(set(mine["seq_len"])):
                if search.min_length <= length <= search.cap:
                    self.record(runs, cell, int(length))
        return stored

    def search(self, store, machine, record, progress: bool) -> None:
        """Train round after round until every cell's search is done; `record`'s entry counts the runs trained."""
        search = self.plan.search
        most = math.ceil(math.log(search.cap / search.start, search.growth))
        most += (
            math.ceil(math.log(search.start / search.min_length, search.growth)) + math.ceil(math.log2(search.cap)) + 1
        )
        for round_number in range(1, most + 2):
            active = [cell for cell in self.cells if search.next_length(self.probes[cell]) is not None]
            if not active:
                break
            k = lengths_per_cell(machine.workers, len(active), self.seeds)
            wanted = {cell: search.next_lengths(self.probes[cell], k) for cell in active}
            tick, done = time.perf_counter(), self.train_round(store, machine, wanted, progress)
            record.entry["runs_trained"] += done
            record.entry["runs_skipped"] = self.probed_runs() - record.entry["runs_trained"]  # a stopped search's too
            elapsed = time.perf_counter() - tick
            print(f"round {round_number}: {self.round_line(wanted)}; {done} runs trained, {elapsed:.0f} s", flush=True)
        record.entry["runs_skipped"] = self.probed_runs() - record.entry["runs_trained"]  # when no round was needed

    def add_seeds(self, store, machine, record, rule, progress: bool) -> dict[str, str]:
        """Seed rounds after the search (`memorybench.analysis.seed_rounds`): more seeds at each cell's lengths nearest its
        L50 until its rule stops it; cell -> why it stopped. `record`'s entry counts the runs trained."""
        p, task, stops = self.plan, self.plan.task, {}
        while len(stops) < len(self.cells):
            runs, wanted, new = store.collect()[0], [], []
            for cell in (c for c in self.cells if c not in stops):
                mine = runs[(runs["cell"] == cell) & (runs["protocol"] == p.protocol) & (runs["steps"] == self.steps)]
                mine = mine[mine["seq_len"].isin(list(self.probes[cell]))]
                stop, more = next_seeds(mine, task.threshold, task.direction, rule)
                if stop:
                    stops[cell] = stop
                for length, first, count in more:
                    wanted += plan_sweep(p.protocol, [cell], [length], count, p.quick, p.device, steps=p.steps,
                                         first_seed=first)  # fmt: skip
                    new += [(cell, length)] if length not in self.probes[cell] else []
            if wanted:
                outcome = run_sweep(store, wanted, machine.workers, progress=progress, executor=machine.executor)
                if outcome.interrupted:
                    raise KeyboardInterrupt
                if not (outcome.done or outcome.failed):  # nothing new stored: the next round would ask again
                    return {cell: stops.get(cell, "seed cap") for cell in self.cells}
                record.entry["runs_trained"] += len(outcome.done)
                stored = store.collect()[0].set_index("run_id")
                for cell, length in new:  # a length probed further out for a censored L50: a probe of the search's own
                    self.record(stored, cell, length)
                print(f"seeds: {len(wanted)} runs at {sorted({(c.cell, c.seq_len) for c in wanted})}", flush=True)
        return stops

    def train_round(self, store, machine, wanted: dict[str, list[int]], progress: bool) -> int:
        """Train one round's probes (packed as a sweep packs them) and score them; the runs trained."""
        pairs = [(cell, length) for cell, lengths in wanted.items() for length in lengths]
        configs = [c for cell, length in pairs for c in self.configs(cell, length)]
        lengths = sorted({length for _, length in pairs})
        sizes = default_pack_sizes(list(wanted), lengths, self.seeds, machine.device.type, machine.workers)
        outcome = run_sweep(
            store, configs, machine.workers, pack_size=sizes, across_lengths=True, progress=progress,
            executor=machine.executor,
        )  # fmt: skip
        if outcome.interrupted:
            raise KeyboardInterrupt
        runs = store.collect()[0].set_index("run_id")
        for cell, length in pairs:
            if not self.record(runs, cell, length):
                raise ValueError(
                    f"{cell} at L={length}: a probe's runs were not all stored (see the sweep's lines above)"
                )
        return len(outcome.done)

    def probed_runs(self) -> int:
        """The runs behind every probe recorded so far (each probe is one run per seed)."""
        return self.seeds * sum(map(len, self.probes.values()))

    def round_line(self, wanted: dict[str, list[int]]) -> str:
        def probe(cell, n):
            return f"L={n} {self.scores[(cell, n)]['mean']:.3g} {'pass' if self.probes[cell][n] else 'fail'}"

        def bracket(cell):
            return ", ".join("?" if n is None else str(n) for n in self.plan.search.bracket(self.probes[cell]))

        return "; ".join(
            f"{cell} {', '.join(probe(cell, n) for n in lengths)} (bracket [{bracket(cell)}])"
            for cell, lengths in wanted.items()
        )

    def tables(self, runs: pd.DataFrame | None = None):
        """(search_horizons rows, search_probes rows) of this search: each cell's reading, and every probe (`runs`, the
        folder's stored runs, is for a tuned search's L50; the report fits the protocol search's)."""

        plan, task = self.plan, self.plan.task
        probed = pd.DataFrame([self.scores[key] for key in sorted(self.scores)])
        rows = []
        for cell in self.cells:
            mine = probed[probed["cell"] == cell]
            reading = search_reading(plan.search, mine, task.threshold, task.direction)
            rows.append(
                dict(
                    task=plan.task_name, protocol=plan.protocol, cell=cell,
                    **{key: reading[key] for key in READING},
                    cap=plan.search.cap, min_length=plan.search.min_length, start=plan.search.start, growth=plan.search.growth,
                    threshold=task.threshold, direction=task.direction, metric=task.metric, baseline=task.baseline,
                    seeds=self.seeds, steps=self.steps, probes=len(mine), runs=int(mine["seeds"].sum()),
                    wall_time_s=float(mine["wall_time_s"].sum()),
                )
            )  # fmt: skip
        return pd.DataFrame(rows), probed


READING = (
    "horizon",
    "last_pass",
    "first_fail",
    "longest_pass",
    "censored",
    "horizon_low",
    "censored_low",
    "horizon_high",
    "censored_high",
    "longest_pass_low",
    "longest_pass_high",
)  # fmt: skip  (search_reading's fields, in the table's column order)


def search_folder(prober: Prober, store, machine, command: list[str], rule: SeedRule | None = None,
                  progress: bool = True):  # fmt: skip
    """One search as one session on `store`: the probe rounds, then the seed rounds `rule` asks for (None: none),
    then the search's tables written beside the folder's other searches. Returns (the search_horizons rows, the
    session's record)."""
    with session(store, machine, command) as record:
        prober.search(store, machine, record, progress)
        stops = prober.add_seeds(store, machine, record, rule, progress) if rule else {}
        for cell, stop in stops.items():
            print(f"{cell}: seeds stopped ({stop})")
        record.write()  # before the report, which lists it
    horizons, probed = prober.tables(store.collect()[0].set_index("run_id"))
    if stops:
        horizons = horizons.assign(l50_stop=horizons["cell"].map(stops), max_seeds=rule.max_seeds)
    write_searches(store.tables_dir, horizons, probed, prober.tables_names)
    return horizons, record
