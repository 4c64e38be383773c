"""Gradients through time: how strongly the task loss reaches back to each step's state.

For a model that reads its answer off the last hidden state, ‖∂L/∂h_t‖ against the
position t shows how far back the learning signal reaches (for a per-step task such as
copy, L is the loss on the scored steps — the recalled symbols — and distances are
counted back from the first of them): a profile that falls
exponentially going back from the end is a vanishing gradient, and its slope per step
(`decay_rates`) is the rate. L is the task loss summed over the sequences, so the
gradient with respect to sequence n's state is that sequence's own loss gradient;
a profile point is the mean over the test split of each sequence's gradient norm.

The state of step t is what the recurrence carries from step t to step t+1 (and, at
the last step, what the read-out sees): h_t, and for a cell with a cell state (the
LSTM) also c_t. Each gradient is taken with the other state of the same step held
fixed, so ∂L/∂c_t is the signal travelling along the cell state alone (the read-out
sees h only: ∂L/∂c_t = 0 at the last step). Back-propagation's δc_t, which also
counts the path c_t -> h_t = o_t tanh(c_t), is ∂L/∂c_t plus that path. A
perturbation of one state at one step (`perturb=(t, name, delta)`) moves exactly
what these gradients differentiate, so finite differences check them.

The recurrence is run here step by step with the cell's own `project_input`,
`project_hidden` and `step` on the model's parameters, so it works for a fused or a
transparent model of any cell; a single-layer, unidirectional model with a
read-out on the last state (task output 'class' or 'real') or on every state ('class_per_step')
is supported.

    memorybench diagnose through-time results/   # tables/grad_*.csv, figures/grad_through_time/

Example:
    >>> from memorybench.models import build_model
    >>> from memorybench.tasks import get_task
    >>> task = get_task("nndl")
    >>> model = build_model(task, "lstm", seed=0)
    >>> test = task.make_data(seq_len=6, seed=0).test
    >>> norms = state_gradients(model, task, test.inputs, test.targets)  # name -> (N, T)
    >>> {name: tuple(n.shape) for name, n in norms.items()}
    {'h': (100, 6), 'c': (100, 6)}
    >>> bool((norms["h"] > 0).all()), norms["c"][:, -1].abs().max().item()  # the read-out sees h only
    (True, 0.0)
    >>> rates = decay_rates(pd.DataFrame(dict(run_id="a", task="nndl", cell="srn", seq_len=4, seed=0, checkpoint="best",
    ...                                       state="h", t=range(4), distance=range(3, -1, -1), grad_norm=[0.125, 0.25, 0.5, 1.0])))
    >>> round(float(rates["rate"].iloc[0]), 4)  # ln 0.5: the norm halves every step back
    -0.6931
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.lines import Line2D

from memorybench.analysis.summary import t975
from memorybench.cells import cell_names, get_cell, layer_weights
from memorybench.checks import check_choice
from memorybench.diagnostics.command import one_thread
from memorybench.models import SequenceModel, model_for
from memorybench.report.figures import save_figure, plt  # pyplot on the figures' Agg backend
from memorybench.report.sections import ReportSection, register_section
from memorybench.storage.rundir import write_csv_tables
from memorybench.storage.store import open_results
from memorybench.tasks import TaskSpec, get_task
from memorybench.training import load_run, trained_model
from memorybench.analysis.experiments import experiment_label, label_of
from memorybench.report.markdown import interval_text, markdown_table

CHECKPOINTS = ("best", "init")  # the best-dev weights saved with the run; the weights it started from
READOUTS = ("class", "real", "class_per_step")  # last-state read-outs, and a class per step
STATE_TITLES = {"h": "hidden state: ‖∂L/∂h_t‖", "c": "cell state: ‖∂L/∂c_t‖ (h_t held fixed; 0 at the last step)"}
PROFILE_COLUMNS = ["run_id", "cell", "seq_len", "seed", "task", "checkpoint", "state", "t", "distance", "grad_norm"]
RATE_COLUMNS = ["run_id", "task", "cell", "seq_len", "seed", "checkpoint", "state", "rate", "points"]
GROUP = [
    "task",
    "cell",
    "seq_len",
    "checkpoint",
    "state",
]  # what a summary over seeds is per ('experiment' first, when present)

Perturbation = tuple[int, str, torch.Tensor]  # (step t, state name, delta (N, H)) added to that state at that step


def state_names(model: SequenceModel) -> tuple[str, ...]:
    """The states the recurrence carries: ('h',), or ('h', 'c') for a cell with a cell state."""
    return ("h", "c") if model.spec.has_cell_state else ("h",)


def check_supported(model: SequenceModel, task: TaskSpec | None = None) -> None:
    """ValueError unless the model is one unidirectional layer (read out on its last state, for `task`)."""
    if model.rnn.num_layers != 1:
        raise ValueError(
            f"num_layers={model.rnn.num_layers} is not supported; gradients through time need num_layers=1"
        )
    if model.rnn.bidirectional:
        raise ValueError("bidirectional=True is not supported; gradients through time need a unidirectional model")
    if task is not None and task.output_kind not in READOUTS:
        raise ValueError(
            f"output_kind={task.output_kind!r} (task {task.name!r}) is not supported; choose one of {', '.join(READOUTS)}"
        )


def unroll(model: SequenceModel, inputs: torch.Tensor, perturb: Perturbation | None = None):
    """Run the model step by step: (outputs (N, C), states name -> [T tensors (N, H)]).

    states["h"][t] is the h carried out of step t (after `perturb`, if it names that step);
    the read-out sees states["h"][-1]. Each carried state is its own autograd node, so a
    gradient with respect to it holds the step's other state fixed.
    """
    check_supported(model)
    spec, rnn = model.spec, model.rnn
    params = layer_weights(rnn, spec)[0]  # base name -> parameter of layer 0, forward direction
    x = model.embedding(inputs)  # (N, T) tokens or (N, T, F) vectors -> (N, T, I)
    batch, steps = x.shape[:2]
    if perturb is not None:
        t, name, _ = perturb
        check_choice("perturbed state", name, state_names(model))
        if not 0 <= t < steps:
            raise ValueError(f"perturbed step t={t} is not allowed; it must be in 0..{steps - 1}")
    x_steps = spec.project_input(params, x).unbind(
        1
    )  # T views (N, chunks*H): a backward linear in T (see cells.layers)
    h = x.new_zeros(batch, spec.state_factor * rnn.hidden_size)  # (N, S): S = H, or 2H for the LRU's [Re s; Im s]
    c = x.new_zeros(batch, rnn.hidden_size)  # (N, H); passes through a cell without a cell state
    states = {name: [] for name in state_names(model)}
    for t, x_t in enumerate(x_steps):
        h, c, _ = spec.step(x_t, spec.project_hidden(params, h), h, c)
        carried = {"h": h.clone(), "c": c.clone()}  # new nodes: c_t's gradient leaves out its use in this step's h_t
        if perturb is not None and perturb[0] == t:
            carried[perturb[1]] = carried[perturb[1]] + perturb[2]
        h, c = carried["h"], carried["c"]
        for name in states:
            states[name].append(carried[name])
    if spec.readout is not None:  # the layer's output is not its state (the LRU's GLU of Re(C s) + D x)
        read = spec.readout(params, torch.stack(states["h"], dim=1), x)  # (N, T, H)
        outputs = model.head(read if model.per_step else read[:, -1])
    else:
        outputs = model.head(
            torch.stack(states["h"], dim=1) if model.per_step else h
        )  # (N, T, C) per step, else (N, C) or (N, K)
    return (outputs.softmax(-1) if model.softmax_before_loss else outputs), states


def scored_losses(task: TaskSpec, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(N,) each sequence's loss: the task's, and for a per-step task the sum over the steps it is scored
    on (targets other than `task.unscored_class`: copy's recalled symbols, not its blanks)."""
    per_sample = task.loss(outputs, targets, reduction="none").reshape(len(outputs), -1)  # (N, 1 or K) or (N, T)
    if task.output_kind == "class_per_step" and task.unscored_class is not None:
        per_sample = per_sample * (targets != task.unscored_class)
    return per_sample.sum(1)


def first_output_step(task: TaskSpec, targets: torch.Tensor, steps: int) -> int:
    """The step distances are measured from: the last for a last-state read-out; for a per-step task the
    first step any sequence is scored on (copy: the first recalled symbol)."""
    if task.output_kind != "class_per_step":
        return steps - 1
    scored = (
        targets != task.unscored_class
        if task.unscored_class is not None
        else torch.ones_like(targets, dtype=torch.bool)
    )
    return int(scored.any(0).nonzero()[0])


def sequence_losses(
    model: SequenceModel,
    task: TaskSpec,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    perturb: Perturbation | None = None,
) -> torch.Tensor:
    """(N,) each sequence's task loss (its sum is the L of the gradients), optionally with one state perturbed."""
    check_supported(model, task)
    outputs, _ = unroll(model, inputs, perturb)
    return scored_losses(task, outputs, targets)


def state_gradients(
    model: SequenceModel,
    task: TaskSpec,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    perturb: Perturbation | None = None,
) -> dict[str, torch.Tensor]:
    """State name -> (N, T): ‖∂L/∂state_t‖ of each sequence n at each step t, L the loss summed over sequences."""
    check_supported(model, task)
    with torch.enable_grad():
        outputs, states = unroll(model, inputs, perturb)
        loss = scored_losses(task, outputs, targets).sum()
        flat = [value for name in states for value in states[name]]
        grads = torch.autograd.grad(loss, flat, allow_unused=True)  # c_{T-1} is unused: None
    steps = len(states["h"])
    norms = {}
    for index, name in enumerate(states):
        per_step = [
            g if g is not None else torch.zeros_like(v)
            for g, v in zip(grads[index * steps : (index + 1) * steps], states[name])
        ]
        norms[name] = torch.linalg.vector_norm(torch.stack(per_step, dim=1), dim=-1)  # (N, T, H) -> (N, T)
    return norms


def _profiles(run_folder, checkpoints) -> pd.DataFrame:
    """run_profile for several checkpoints of one run, loading it once."""
    for checkpoint in checkpoints:
        check_choice("checkpoint", checkpoint, CHECKPOINTS)
    folder = Path(run_folder)
    saved = load_run(folder, execution="transparent")
    config = saved.config
    trained_model(saved, folder, "profile")
    task = get_task(config.task)
    check_supported(saved.model, task)
    test = task.make_data(config.seq_len, config.seed, **config.task_params).test
    rows = []
    for checkpoint in checkpoints:
        model = saved.model if checkpoint == "best" else model_for(config, task, execution="transparent").eval()
        norms = state_gradients(model, task, test.inputs, test.targets)
        for state, values in norms.items():
            steps = values.shape[1]
            origin = first_output_step(task, test.targets, steps)
            rows.append(
                pd.DataFrame(
                    dict(
                        run_id=folder.name,
                        cell=config.cell,
                        seq_len=config.seq_len,
                        seed=config.seed,
                        task=config.task,
                        checkpoint=checkpoint,
                        state=state,
                        t=np.arange(steps),
                        distance=origin - np.arange(steps),
                        grad_norm=values.double().mean(0).numpy(),
                    )
                )
            )  # mean over the test sequences
    return pd.concat(rows, ignore_index=True)[PROFILE_COLUMNS]


def run_profile(run_folder, checkpoint: str = "best") -> pd.DataFrame:
    """One stored run's gradient profile on its test split, at its best-dev checkpoint ('best') or
    at the weights it started from ('init', rebuilt from its config: `model_for` is a pure function
    of the config). Rows: run_id, cell, seq_len, seed, task, checkpoint, state ('h'/'c'),
    t (0-based position), distance (steps back from the last step, or for a per-step task from its first
    scored output: negative after it), grad_norm (mean over the test sequences)."""
    return _profiles(run_folder, (checkpoint,))


def _keys(frame: pd.DataFrame, keys: list[str]) -> list[str]:
    return (["experiment"] if "experiment" in frame else []) + keys


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a fixed order: cells as registered, checkpoints best then init, states h then c."""
    order = {
        "cell": {c: i for i, c in enumerate(cell_names())},
        "checkpoint": {c: i for i, c in enumerate(CHECKPOINTS)},
        "state": {"h": 0, "c": 1},
    }

    def key(column: pd.Series) -> pd.Series:
        ranks = order.get(column.name)
        return column.map(lambda v: ranks.get(v, len(ranks))) if ranks else column

    by = [c for c in ("experiment", "task", "cell", "seq_len", "seed", "checkpoint", "state", "t") if c in frame]
    return frame.sort_values(by, key=key, kind="stable", ignore_index=True)


def mean_profiles(profiles: pd.DataFrame) -> pd.DataFrame:
    """Per task, cell, seq_len, checkpoint, state and t over the seeds: n, grad_norm (mean) and grad_norm_std."""
    keys = _keys(profiles, GROUP + ["t", "distance"])
    table = (
        profiles.groupby(keys, sort=False)["grad_norm"]
        .agg(n="count", grad_norm="mean", grad_norm_std="std")  # std: NaN for one seed
        .reset_index()
    )
    return _ordered(table)


def decay_rates(profiles: pd.DataFrame) -> pd.DataFrame:
    """Per run, checkpoint and state: the least-squares slope of ln(grad_norm) against the distance from
    the end, per step (negative: the gradient shrinks going back in time; exp(rate) is the factor per
    step). Positions with a zero norm (c at the last step) and, for a per-step task, positions after the first
    scored output (negative distance) are left out; `points` says how many were fitted."""
    rows = []
    for _, group in profiles.groupby(_keys(profiles, ["run_id", "checkpoint", "state"]), sort=False):
        kept = group[(group["grad_norm"] > 0) & np.isfinite(group["grad_norm"]) & (group["distance"] >= 0)]
        distance, log_norm = kept["distance"].to_numpy(float), np.log(kept["grad_norm"].to_numpy(float))
        spread = distance - distance.mean() if len(kept) else distance
        rate = float(spread @ (log_norm - log_norm.mean()) / (spread @ spread)) if len(kept) >= 2 else math.nan
        first = group.iloc[0]
        rows.append({**{k: first[k] for k in _keys(profiles, RATE_COLUMNS[:7])}, "rate": rate, "points": len(kept)})
    return _ordered(pd.DataFrame(rows, columns=_keys(profiles, RATE_COLUMNS)))


def decay_table(rates: pd.DataFrame) -> pd.DataFrame:
    """Per task, cell, seq_len, checkpoint and state over the seeds' decay rates: n, mean, std and the
    95% t-interval (ci_low, ci_high; NaN below two seeds)."""
    rows = []
    for key, group in rates.groupby(_keys(rates, GROUP), sort=False):
        values = group["rate"].dropna().to_numpy(float)
        n = len(values)
        mean = float(values.mean()) if n else math.nan
        std = float(values.std(ddof=1)) if n > 1 else math.nan
        half = t975(n - 1) * std / math.sqrt(n) if n > 1 else math.nan
        rows.append(
            {
                **dict(zip(_keys(rates, GROUP), key)),
                "n": n,
                "mean": mean,
                "std": std,
                "ci_low": mean - half,
                "ci_high": mean + half,
            }
        )
    return _ordered(pd.DataFrame(rows, columns=_keys(rates, GROUP) + ["n", "mean", "std", "ci_low", "ci_high"]))


def plot_profiles(profiles: pd.DataFrame, path, title: str) -> Path:
    """One task and length (rows of `run_profile`, any cells and seeds): the mean over seeds of the
    norm against position t on a log scale, one colour per cell, solid at the best-dev checkpoint,
    dashed at initialisation; a second panel for the cell state when a cell has one."""
    for column in ("task", "seq_len") + (("experiment",) if "experiment" in profiles else ()):
        if profiles[column].nunique() != 1:
            raise ValueError(
                f"plot_profiles draws one {column} at a time; got {sorted(map(str, profiles[column].unique()))}"
            )
    mean = mean_profiles(profiles)
    panels = [s for s in ("h", "c") if s in set(mean["state"])]
    steps = int(mean["seq_len"].iloc[0])
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.3), squeeze=False, layout="constrained")
    cells = [c for c in cell_names() if c in set(mean["cell"])]
    for ax, state in zip(axes[0], panels):
        for cell in cells:
            spec = get_cell(cell)
            for checkpoint, style in (("best", "-"), ("init", "--")):
                rows = mean[(mean["cell"] == cell) & (mean["checkpoint"] == checkpoint) & (mean["state"] == state)]
                if len(rows):
                    values = rows["grad_norm"].where(rows["grad_norm"] > 0)  # a zero has no place on a log scale
                    ax.plot(rows["t"], values, style, marker="o", markersize=3, color=spec.color, linewidth=1.5)
        ax.set_yscale("log")
        ax.set_xticks(range(0, steps, max(1, steps // 10)))
        ax.set(xlabel=f"position t (the read-out sees h at t = {steps - 1})", title=STATE_TITLES[state])
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].set_ylabel("mean over test sequences and seeds")
    handles = [Line2D([], [], color=get_cell(c).color, label=get_cell(c).label) for c in cells]
    handles += [
        Line2D([], [], color="black", linestyle="-", label="best-dev checkpoint"),
        Line2D([], [], color="black", linestyle="--", label="initialisation"),
    ]
    axes[0, 0].legend(handles=handles, fontsize=8, loc="best")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, Path(path))


def write_through_time(root, warn: Callable[[str], None] | None = None) -> list[Path]:
    """For every successful run of the results folder `root`, both checkpoints on the test split:
    tables/grad_through_time.csv (mean profiles over seeds), tables/grad_decay.csv (`decay_table`)
    and figures/grad_through_time/<task>_L<seq_len>.png (prefixed by the experiment when the folder
    holds several). Runs the model cannot be profiled for are skipped, each named to `warn`.
    Returns the paths written; the CSVs are the same bytes for the same runs."""

    store = open_results(root)
    root = store.root
    runs, _ = store.collect()
    runs = runs[runs["status"] == "ok"] if not runs.empty else runs
    if runs.empty:
        raise ValueError(f"{root} holds no successful runs: nothing to profile")
    with one_thread():
        profiles = []
        for row in runs.to_dict("records"):
            try:
                profile = _profiles(store.run_folder(row["run_id"]), CHECKPOINTS)
            except ValueError as exc:
                if warn is not None:
                    warn(f"run {row['run_id']} ({row['cell']}, L={row['seq_len']}, seed {row['seed']}) skipped: {exc}")
                continue
            profile.insert(0, "experiment", experiment_label(row))
            profiles.append(profile)
    if not profiles:
        raise ValueError(f"{root} holds no run whose gradients through time can be profiled")
    profiles = pd.concat(profiles, ignore_index=True)
    store.tables_dir.mkdir(exist_ok=True)
    written = write_csv_tables(
        store.tables_dir,
        {"grad_through_time.csv": mean_profiles(profiles), "grad_decay.csv": decay_table(decay_rates(profiles))},
    )
    figures = store.root / "figures" / "grad_through_time"
    figures.mkdir(parents=True, exist_ok=True)
    several = profiles["experiment"].nunique() > 1
    for (experiment, task, seq_len), group in profiles.groupby(["experiment", "task", "seq_len"], sort=True):
        slug = re.sub(r"[^a-z0-9]+", "-", experiment.lower()).strip("-") + "_" if several else ""
        title = f"Gradient of the loss through time: {get_task(task).label}, L = {seq_len}, {experiment} (test split, mean over seeds)"
        written.append(plot_profiles(group, figures / f"{slug}{task}_L{seq_len}.png", title))
    return written


def report_section(store, runs=None) -> list[str]:
    """The report's part for a folder profiled by this module ([] when tables/grad_decay.csv is absent)."""

    path = store.tables_dir / "grad_decay.csv"
    if not path.exists():
        return []
    decay = pd.read_csv(path)
    order = {name: i for i, name in enumerate(cell_names())}
    decay = decay.sort_values(
        ["experiment", "checkpoint", "state", "cell"],
        kind="stable",
        key=lambda col: {
            "checkpoint": col.map({"init": 0, "best": 1}),
            "state": col.map({"h": 0, "c": 1}),
            "cell": col.map(order),
        }.get(col.name, col),
    )
    lengths = sorted(decay["seq_len"].unique())
    rows = []
    for (experiment, checkpoint, state, cell), group in decay.groupby(
        ["experiment", "checkpoint", "state", "cell"], sort=False
    ):
        at = group.set_index("seq_len")
        rows.append(
            [experiment, label_of(cell), {"best": "best-dev", "init": "initialisation"}[checkpoint], state]
            + [
                interval_text(*at.loc[n, ["n", "mean", "ci_low", "ci_high"]], sign="+") if n in at.index else "–"
                for n in lengths
            ]
        )
    table = pd.DataFrame(rows, columns=["experiment", "cell", "checkpoint", "state", *[f"L={n}" for n in lengths]])
    if table["experiment"].nunique() == 1:
        table = table.drop(columns="experiment")
    figures = sorted(
        (store.root / "figures" / "grad_through_time").glob("*.png"), key=lambda f: int(re.findall(r"\d+", f.stem)[-1])
    )
    shown = [f"![gradients through time, {f.stem}]({f.relative_to(store.root).as_posix()})" for f in figures[-1:]]
    others = ", ".join(f"[{f.stem}]({f.relative_to(store.root).as_posix()})" for f in figures[:-1])
    return [
        "## Gradients through time",
        "",
        "‖∂L/∂h_t‖ against position t (L summed over the test split; each point the mean over sequences of each "
        "sequence's own gradient norm, then over seeds), at initialisation and at the best-dev checkpoint, from the saved "
        "runs (`memorybench diagnose through-time`; rerun it after retraining). For the LSTM also ‖∂L/∂c_t‖ "
        "along the cell state with h_t held fixed.",
        "",
        *shown,
        "",
        f"Every length: {others}." if others else "",
        "",
        "**Decay rate per step back in time**: the least-squares slope of ln‖∂L/∂state_t‖ against the distance from the "
        "last step, mean [95% t-interval] over seeds; negative: the gradient shrinks going back (vanishes), positive: it "
        "grows toward the start (`tables/grad_decay.csv`, profiles in `tables/grad_through_time.csv`).",
        "",
        markdown_table(table),
        "",
    ]


register_section(
    ReportSection(
        "through_time",
        needs=("tables/grad_decay.csv", "tables/grad_through_time.csv"),
        write=report_section,
        reads_checkpoints=True,
    )
)
