"""Every packing decision, in one place: which runs share a pack, in which layout, and why not.

A sweep's configs become `Job`s: a pack of runs and the layout that trains it. Runs
share a pack only when they differ in nothing but seed (and, when asked, length) and
the layout supports what they are (`Supports` of `memorybench.engine.replicas`); a
pack that is refused trains as single runs and each of its runs records why
(`Job.note`, stored as the result's `pack_note` and shown in the progress output).

Defaults: every run of a cell, all its lengths and seeds, trains in packs: on the CPU stacked
packs of at most `MAX_DEFAULT_PACK["cpu"]` runs, split evenly, longest lengths together, and
split further where that lets the workers finish sooner (`balanced`), for a cell whose
`CellSpec.cpu_min_pack` the packs reach (the LSTM's
fused oneDNN kernel matches a stacked pack of 5, so it packs from 6); on CUDA one
block-diagonal pack replayed from CUDA graphs. Jobs are handed out longest first, so that
the workers finish together. A stacked run's result does not depend on its pack mates or on
padding, bit for bit on the CPU (`engine.stacked.StackedModel.project_blocks`), so a sweep
resumed after a kill, a horizon search and `--reuse` all get the bits a full sweep gets.

Example:
    >>> from memorybench.config import protocol_config
    >>> configs = [protocol_config("nndl", cell=cell, seq_len=5, seed=s, device="cpu") for cell in ("srn", "lstm") for s in range(3)]
    >>> [(job.layout, len(job.configs)) for job in plan_jobs(configs, default_pack_sizes(["srn", "lstm"], [5], 3, "cpu"), False, "cpu")]
    [('single', 1), ('single', 1), ('single', 1), ('stacked', 3)]
    >>> refusal([protocol_config("nndl", cell="lstm", clip="global", seed=s) for s in range(2)], "block")
    "clip='global' is not supported by the block layout"
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from memorybench.config import RunConfig
from memorybench.cells import get_cell
from memorybench.engine.mapped import unmappable
from memorybench.engine.replicas import LAYOUTS
from memorybench.tasks import get_task

MAX_DEFAULT_PACK = {
    "cpu": 32,
    "cuda": 256,
}  # default packs stop growing here: memory grows with a pack, speed-ups flatten


@dataclass(frozen=True)
class Job:
    """Runs an executor trains together, and how."""

    configs: tuple[RunConfig, ...]
    layout: str  # a key of memorybench.engine.replicas.LAYOUTS
    graphs: bool = False  # replay each step from a CUDA graph
    compiled: bool = False  # train through torch.compile's forward (memorybench.engine.compiled)
    note: str = ""  # why these runs do not train in the pack planned for them ("" = as planned)


def default_layout(device_type: str, cell: str = "srn") -> str:
    """`block` on CUDA (cuDNN kernels); elsewhere `stacked` for a cell in torch's weight layout, `mapped` for the others.

    >>> default_layout("cpu", "gru"), default_layout("cpu", "lru"), default_layout("cuda", "lru")
    ('stacked', 'mapped', 'block')
    """
    if device_type == "cuda":
        return "block"
    return "stacked" if get_cell(cell).torch_layout else "mapped"


def default_pack_sizes(cells, lengths, seeds: int, device_type: str, workers: int = 1) -> dict[str, int]:
    """Runs per pack for each cell when none is asked for (see the module docstring): all of a cell's
    runs, split evenly into packs of at most MAX_DEFAULT_PACK, then on the CPU split further where that
    lets `workers` finish sooner (`balanced`).

    >>> default_pack_sizes(["srn", "lstm"], [5, 10, 15, 20, 25, 30], 3, "cpu"), default_pack_sizes(["srn", "lstm"], [5], 3, "cpu")
    ({'srn': 18, 'lstm': 18}, {'srn': 3, 'lstm': 1})
    >>> default_pack_sizes(["srn", "lstm", "gru"], [5, 10, 15, 20, 25, 30], 3, "cpu", workers=2)  # the SRN's halves fill the gaps
    {'srn': 9, 'lstm': 18, 'gru': 18}
    >>> default_pack_sizes(["srn"], [5], 100_000, "cuda")  # never a pack of 100,000 models
    {'srn': 256}
    """

    runs = seeds * len(set(lengths))
    packs = -(-runs // MAX_DEFAULT_PACK[device_type])
    size = -(-runs // packs)
    if device_type == "cuda":
        return {cell: size for cell in cells}
    sizes = {cell: size if size >= get_cell(cell).cpu_min_pack else 1 for cell in cells}
    return balanced(sizes, lengths, seeds, workers)


def balanced(sizes: dict[str, int], lengths, seeds: int, workers: int) -> dict[str, int]:
    """`sizes` with packs split further, one cell at a time, while that shortens the longest worker's share of
    the jobs' costs (`job_cost`'s estimate, handed out longest first); a cell is never split below its
    `cpu_min_pack`. One worker keeps the largest packs: a split only adds per-step work.

    >>> balanced({"srn": 18, "lstm": 18, "gru": 18}, [5, 10, 15, 20, 25, 30], 3, workers=2)
    {'srn': 9, 'lstm': 18, 'gru': 18}
    """

    order = [n for n in sorted(set(lengths), reverse=True) for _ in range(seeds)]  # a sweep's order: longest first

    def makespan(trial: dict[str, int]) -> int:
        loads = [0] * workers
        costs = [
            step_cost(cell, order[i : i + size]) for cell, size in trial.items() for i in range(0, len(order), size)
        ]
        for cost in sorted(costs, reverse=True):
            loads[loads.index(min(loads))] += cost
        return max(loads)

    best = makespan(sizes)
    while True:
        trials = []
        for cell, size in sizes.items():
            smaller = -(-len(order) // (-(-len(order) // size) + 1))  # one pack more, split evenly
            if size > 1 and smaller >= get_cell(cell).cpu_min_pack:
                trials.append({**sizes, cell: smaller})
        scored = [(makespan(trial), i) for i, trial in enumerate(trials)]
        if not scored or min(scored)[0] >= best:
            return sizes
        best, chosen = min(scored)
        sizes = trials[chosen]


def packs_span_lengths(pack: int | None, seeds: int, device_type: str) -> bool:
    """Whether packs may hold runs of several lengths: by default, or when the pack size asked for
    exceeds the seeds of one length."""
    return True if pack is None else pack > seeds


def pack_limit(size: int | dict[str, int], cell: str) -> int:
    """The pack size asked for `cell`: `size` itself, or `size[cell]` (1 if absent)."""
    return size if isinstance(size, int) else size.get(cell, 1)


def group_packs(
    configs: list[RunConfig], size: int | dict[str, int], across_lengths: bool = False
) -> list[list[RunConfig]]:
    """Group configs that differ only in seed into packs of at most `size` runs (or
    `size[cell]`), keeping the configs' order. With `across_lengths`, configs that differ
    in length too share packs: in the planned sweep's order (longest length first, then
    seed) a pack holds the seeds of one length, then the next length's.

    Without it a run's pack mates are seeds of its own length only.
    """
    varying = ("seed", "seq_len") if across_lengths else ("seed",)
    groups: dict[str, list[RunConfig]] = {}
    for config in configs:
        shared = {k: v for k, v in config.to_dict().items() if k not in varying}  # device included
        groups.setdefault(json.dumps(shared, sort_keys=True), []).append(config)
    limit = lambda group: pack_limit(size, group[0].cell)
    return [group[i : i + limit(group)] for group in groups.values() for i in range(0, len(group), limit(group))]


def refusal(configs: list[RunConfig], layout: str) -> str | None:
    """Why `layout` cannot train `configs` as one pack, or None if it can."""

    first = configs[0]
    for config in configs[1:]:
        if replace(config, seed=first.seed, seq_len=first.seq_len) != first:
            return "packed runs must differ only in seed and seq_len"
    if len({(c.seed, c.seq_len) for c in configs}) != len(configs):
        return "packed runs need distinct (seed, seq_len) pairs"
    supports, task, spec = LAYOUTS[layout].supports, get_task(first.task), get_cell(first.cell)
    several_lengths = len({c.seq_len for c in configs}) > 1
    checks = [
        (
            supports.max_size is not None and len(configs) > supports.max_size,
            f"a pack of {len(configs)} is more than it holds",
        ),
        (
            task.input_kind not in supports.input_kinds,
            f"{task.input_kind} inputs (task {task.name!r}) are not supported",
        ),
        (
            task.output_kind not in supports.output_kinds,
            f"{task.output_kind} outputs (task {task.name!r}) are not supported",
        ),
        (first.clip not in supports.clips, f"clip={first.clip!r} is not supported"),
        (
            (first.num_layers > 1 or first.bidirectional) and not supports.layered,
            "stacked layers and bidirectional cells are not supported",
        ),
        (
            several_lengths and (not supports.lengths or task.output_kind == "class_per_step"),
            "runs of several lengths are not supported",
        ),
        (
            spec.constrain is not None and not supports.constraints,
            f"cell {spec.name!r} constrains its weights after every optimizer step, which is not applied",
        ),
        (
            supports.cells == "torch_layout" and not spec.torch_layout,
            f"cell {spec.name!r} does not have torch's weight layout",
        ),
        (supports.cells == "fused" and spec.fused is None, f"cell {spec.name!r} has no fused kernel"),
        (
            supports.cells == "mappable" and unmappable(spec.name, first.execution) is not None,
            f"cell {spec.name!r} at execution={first.execution!r} does not run under torch.func.vmap"
            f" ({unmappable(spec.name, first.execution)})",
        ),
        (
            first.softmax_before_loss and layout != "single",
            "a softmax before the loss (softmax_before_loss) is not supported",
        ),
    ]
    reasons = [reason for refused, reason in checks if refused]
    return f"{reasons[0]} by the {layout} layout" if reasons else None


def check_pack(configs: list[RunConfig], layout: str) -> None:
    """Raise ValueError if `layout` cannot train `configs` as one pack."""

    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r} is not allowed; choose one of {', '.join(LAYOUTS)}")
    reason = refusal(configs, layout)
    if reason:
        raise ValueError(reason)


def plan_jobs(
    configs: list[RunConfig],
    size: int | dict[str, int],
    across_lengths: bool,
    device_type: str,
    layout: str | None = None,
) -> list[Job]:
    """The sweep's configs as jobs. A cell with a pack size above 1 trains through its packed
    layout even when only one of its runs is left (a resumed sweep), so its results do not
    depend on how the sweep was cut; a pack the layout refuses trains as single runs, each
    with the reason, except a default pack (`size` a dict, from `default_pack_sizes`) of several
    lengths the layout cannot mix (a per-step task), which packs each length's seeds instead."""

    jobs = []
    for group in group_packs(configs, size, across_lengths):
        if pack_limit(size, group[0].cell) == 1:
            jobs += [Job((config,), "single") for config in group]
            continue
        layout_of = layout or default_layout(device_type, group[0].cell)
        reason = refusal(group, layout_of)
        default = isinstance(size, dict)
        if reason and len({c.seq_len for c in group}) > 1 and default:  # a default pack: its lengths apart instead
            jobs += plan_jobs(group, {group[0].cell: max(seeds_per_length(group))}, False, device_type, layout_of)
        elif reason:
            jobs += [Job((config,), "single", note=f"trained alone: {reason}") for config in group]
        elif device_type != "cuda" and default and len(group) < get_cell(group[0].cell).cpu_min_pack:
            jobs += [Job((config,), "single") for config in group]  # too small a pack to beat one run at a time
        else:
            jobs.append(Job(tuple(group), layout_of, graphs=device_type == "cuda"))
    return sorted(jobs, key=job_cost, reverse=True)  # longest first: the workers finish together


def seeds_per_length(configs: list[RunConfig]) -> list[int]:
    lengths = [c.seq_len for c in configs]
    return [lengths.count(n) for n in set(lengths)]


def job_cost(job: Job) -> int:
    """A job's cost, what orders the jobs: its steps x the cost of one (`step_cost`)."""
    first = job.configs[0]
    return first.steps * step_cost(first.cell, [c.seq_len for c in job.configs])


def step_cost(cell: str, lengths: list[int]) -> int:
    """One training step of a pack of runs of these lengths: (8 x the longest + every run's own length) x (1 + the
    cell's gates). A pack's time step costs little more than one run's at these sizes (dispatch, not arithmetic,
    sets the pace), a stacked pack steps each run through its own length only, and a gate is a few more ops. It fits
    packs trained two at a time on 2 cores, as a sweep trains them (the GRU's default pack of 18 took 0.85 of the LSTM's
    time, 0.8 by this estimate), not packs trained alone (0.76), which would plan a slower sweep
    (docs/explanation/engine-and-packing.md)."""

    return (8 * max(lengths) + sum(lengths)) * (1 + get_cell(cell).chunks)
