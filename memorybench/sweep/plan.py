"""A sweep: every cell x length x seed of one protocol, trained by an executor into a store.

The plan is a list of configs; `memorybench.engine.policy` turns it into jobs (packs),
an executor (`memorybench.sweep.executors`: in this process, or a pool of worker processes
with one torch thread each) trains them and hands every finished run back, and this
process alone writes it into the store. Runs already complete in the store are skipped.

Example:
    >>> configs = plan_sweep("nndl", cells=["srn", "lstm"], lengths=[5, 10], seeds=2, quick=True)
    >>> len(configs), configs[0].steps, sorted({c.cell for c in configs})
    (8, 200, ['lstm', 'srn'])
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from memorybench.checks import about
from memorybench.config import PROTOCOLS, QUICK, RunConfig, protocol_config
from memorybench.engine.policy import Job, plan_jobs
from memorybench.models import checkpoint_writer
from memorybench.result import RunResult
from memorybench.storage.rundir import read_run
from memorybench.storage.store import ResultsStore
from memorybench.sweep.executors import make_executor
from memorybench.sweep.settings import SweepAxes
from memorybench.engine.loop import resolve_device


def plan_sweep(
    protocol: str,
    cells,
    lengths,
    seeds: int,
    quick: bool = False,
    device: str = "auto",
    axes: SweepAxes | None = None,
    task_params: dict | None = None,
    steps: int | None = None,
    first_seed: int = 0,
) -> list[RunConfig]:
    """The sweep's configs, ordered longest length first (the slowest runs start early); `axes`
    adds settings (learning rate, init, hidden size, forget-gate bias; memorybench.sweep.settings);
    `task_params` go to the task's data; `steps` replaces the protocol's training budget; the seeds are
    first_seed .. first_seed + seeds - 1 (fresh seeds that an earlier sweep did not use: first_seed above its)."""
    budget = dict(
        QUICK if quick else {},
        **({"task_params": task_params} if task_params else {}),
        **({"steps": steps} if steps else {}),
    )
    axes = axes or SweepAxes()
    task = PROTOCOLS[protocol]["task"]
    layout = {
        k: PROTOCOLS[protocol][k] for k in ("embedding_size", "num_layers", "bidirectional") if k in PROTOCOLS[protocol]
    }
    return [
        protocol_config(protocol, cell=cell, seq_len=length, seed=seed, device=device, **budget, **override)
        for length in sorted(set(lengths), reverse=True)
        for cell in cells
        for override in axes.overrides(cell, task, **layout)
        for seed in range(first_seed, first_seed + seeds)
    ]


@dataclass
class SweepOutcome:
    done: list[tuple[RunConfig, RunResult]] = field(default_factory=list)
    skipped: int = 0
    wall_time_s: float = 0.0
    interrupted: bool = False  # Ctrl-C or SIGTERM: the runs in `done` are stored, the rest are not
    lost: list[tuple[RunConfig, RunResult]] = field(
        default_factory=list
    )  # their worker died: not stored, trained by the next sweep

    @property
    def failed(self) -> list[tuple[RunConfig, RunResult]]:
        return [(c, r) for c, r in self.done if r.status != "ok"]


@dataclass
class Plan:
    """What a sweep will do: the runs to train, as jobs, and what it found in the store."""

    todo: list[RunConfig]
    skipped: int
    jobs: list[Job]
    damaged: dict[str, str]  # run id -> why its folder does not load (it is in `todo`)
    earlier_packing: int = 0  # runs kept that memorybench before 0.2.0 trained (another CPU packing)

    def describe(self, store: ResultsStore, workers: int) -> str:
        """Runs, jobs, workers and the time estimated from the runs stored in `store`; a second line when the
        runs kept were trained by an earlier packing policy (`mixed_packings`)."""
        line = f"plan: {len(self.todo)} runs to train ({self.skipped} already complete) in {len(self.jobs)} jobs on {workers} worker(s)"
        if not self.todo:
            return line
        seconds, unknown = estimate_seconds(store, self.jobs, workers)
        if seconds is None:
            line += "; no estimate (no run stored in this folder has the same cell, length, budget and pack size)"
        else:
            rest = f", {unknown} runs without a comparable stored run not counted" if unknown else ""
            line += f"; about {about(seconds)}, from the runs stored in this folder{rest}"
        if self.earlier_packing:
            line += (
                f"\nnote: this folder mixes packings: {self.earlier_packing} of the runs kept were trained on the CPU by "
                "memorybench before 0.2.0 (packs of one length's seeds, the LSTM alone); the runs trained now pack across "
                "lengths. The same training: their bits differ by rounding (docs/explanation/engine-and-packing.md)"
            )
        return line


PACKS_SPAN_LENGTHS_SINCE = (
    0,
    2,
)  # memorybench 0.2.0: default CPU packs span lengths, each run's bits independent of its pack


def earlier_packing(folder: Path) -> bool:
    """Whether the run in `folder` was trained on the CPU by memorybench before 0.2.0 (its stored environment),
    whose default packs held one length's seeds.

    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> run = {"config.json": {"cell": "srn", "seq_len": 5, "seed": 0}, "result.json": {"status": "ok", "test_score": 0.5, "best_dev_score": 0.5},
    ...        "env.json": {"memorybench": "0.1.0", "cuda_device": ""}}
    >>> for name, value in run.items():
    ...     _ = (folder / name).write_text(json.dumps(value))
    >>> _ = (folder / "curves.csv").write_text("step\\n")
    >>> earlier_packing(folder)
    True
    """
    try:
        env = read_run(folder).environment
    except (OSError, ValueError):
        return False
    version = tuple(int(part) for part in str(env.get("memorybench", "")).split(".")[:2] if part.isdigit())
    return bool(version) and version < PACKS_SPAN_LENGTHS_SINCE and not env.get("cuda_device")


def estimate_seconds(store: ResultsStore, jobs: list[Job], workers: int) -> tuple[float | None, int]:
    """(estimated seconds, runs without an estimate): each job costs what the stored runs of the same
    cell, length, budget and way of training took (a pack's wall time is its whole pack's)."""
    runs = store.collect()[0]
    if runs.empty or not jobs:
        return None, sum(len(job.configs) for job in jobs)
    ok = runs[runs["status"] == "ok"]
    cost = ok.groupby(["cell", "seq_len", "steps", "batch_size", "pack_size"])["wall_time_s"].median().to_dict()
    total, unknown = 0.0, 0
    for job in jobs:
        c = job.configs[0]
        seconds = cost.get((c.cell, max(x.seq_len for x in job.configs), c.steps, c.batch_size, len(job.configs)))
        if seconds is None:
            unknown += len(job.configs)
        else:
            total += seconds
    known = sum(len(job.configs) for job in jobs) - unknown
    return (total / workers if known else None), unknown


def plan_work(
    store: ResultsStore,
    configs: list[RunConfig],
    force: bool = False,
    retry_failed: bool = False,
    pack_size: int | dict[str, int] = 1,
    across_lengths: bool = False,
    device_type: str | None = None,
    compiled: bool = False,
) -> Plan:
    """The runs of `configs` not complete in `store` (damaged ones included), grouped into jobs; `compiled`: every
    job trains through torch.compile's forward (`memorybench.engine.compiled`) where no CUDA graph replays it."""

    intact, damaged = store.scan()  # every run folder read once
    complete = store.complete_ids(intact, retry_failed)
    todo = [c for c in configs if force or c.run_id() not in complete]
    device_type = device_type or (resolve_device(todo[0].device).type if todo else "cpu")
    wanted = {c.run_id() for c in todo}
    kept = [c.run_id() for c in configs if c.run_id() not in wanted]
    earlier = sum(earlier_packing(store.run_folder(run_id)) for run_id in kept) if todo and device_type == "cpu" else 0
    jobs = [
        replace(job, compiled=compiled and not job.graphs)
        for job in plan_jobs(todo, pack_size, across_lengths, device_type)
    ]
    return Plan(
        todo,
        len(configs) - len(todo),
        jobs,
        {run_id: why for run_id, why in damaged.items() if run_id in wanted},
        earlier,
    )


def describe(config: RunConfig, result: RunResult) -> str:
    """One line for the progress display."""
    name = f"{config.cell:>4} L={config.seq_len:<3} seed={config.seed}"
    note = f"  ({result.pack_note})" if result.pack_note else ""
    if result.status == "lost":
        return f"{name}  LOST  {result.error}; not stored: the next sweep trains it"
    if result.status != "ok":
        return f"{name}  FAILED  {result.error}{note}"
    return (
        f"{name}  test {result.metric} {result.test_score:.3f}  best dev {result.best_dev_score:.3f} @ step {result.best_step}"
        f"  {result.wall_time_s:.1f}s  {result.steps_per_s:.0f} steps/s{note}"
    )


def run_sweep(
    store: ResultsStore,
    configs: list[RunConfig],
    workers: int = 1,
    force: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    pack_size: int | dict[str, int] = 1,
    across_lengths: bool = False,
    executor=None,
    plan: Plan | None = None,
) -> SweepOutcome:
    """Train every config not already complete in `store` (or what `plan` says); returns what was done.

    With `pack_size` > 1 (for all cells, or per cell as a dict), runs that differ only
    in seed (and, with `across_lengths`, in length) train together as packs of up to that
    many runs (see memorybench.engine.policy). `executor` defaults to the local one for
    `workers` processes. A KeyboardInterrupt (Ctrl-C, or SIGTERM through the command's
    handler) stops the executor; the runs finished by then are stored, the outcome says
    `interrupted`, and nothing is recorded for the runs that did not finish.
    """
    started = time.perf_counter()
    store.remove_leftovers()
    plan = plan or plan_work(store, configs, force, retry_failed, pack_size, across_lengths)
    outcome = SweepOutcome(skipped=plan.skipped)
    executor = executor or make_executor(workers)
    bar = tqdm(
        total=len(plan.todo), unit="run", desc="sweep", disable=not progress or not plan.todo, dynamic_ncols=True
    )
    try:
        for _, outputs in executor.run(plan.jobs):
            for output in outputs:
                if output.result.status == "lost":
                    outcome.lost.append((output.config, output.result))
                else:
                    store.place(output.config, output.result, checkpoint_writer(output.state_dict))
                    outcome.done.append((output.config, output.result))
                bar.write(describe(output.config, output.result)) if progress else None
                bar.update()
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        bar.close()
    outcome.wall_time_s = time.perf_counter() - started
    return outcome
