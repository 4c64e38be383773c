"""Jaeger's memory capacity (Jaeger 2001, "Short term memory in echo state networks") of a recurrent model.

Definition. Drive the recurrence with one long i.i.d. stream u(t) ~ U[-a, a] from a zero
state, and let h_t be the hidden state after reading u(t) (`states[:, t]` of the model's
layer: for the LSTM h_t alone, not (h_t, c_t); for a stacked model the last layer's, what
the head reads). For each delay k = 1..K fit a read-out y_k(t) = w_k . h_t + b_k to u(t - k)
by least squares, and

    MC_k = corr(y_k(t), u(t - k))^2,    MC = sum over k = 1..K of MC_k.

Delay 1 is the input one step before the latest one the state has read, as in the
delayed-recall task (output k targets u(T-1-k) from h_{T-1}). Delay 0, the current input,
is left out: an N-unit shift register h_t = (u(t), u(t-1), ..., u(t-N+1)) has MC_k = 1 for
k = 1..N-1 and 0 beyond, MC = N - 1; one that lags a step, h_t = (u(t-1), ..., u(t-N)),
has MC_k = 1 for k = 1..N and MC = N.

What MC_k is computed on: fit on one stream, score on another. Two independent streams
of `washout` + n steps, drawn as the task draws its inputs (`draw_inputs`) and seeded from
`seed` (`stream_seed`: independent of the run's training, dev and test data); the first `washout` states of each are dropped (the
transient from the zero state; washout >= K so that every u(t - k) exists). The read-outs
(float64 least squares with a constant) are fitted on the train stream's next
`train_steps` states, and MC_k is their squared correlation with u(t - k) over the test
stream's `test_steps` states. A read-out whose test output is constant scores 0.

Streams. The same model's MC moves from one pair of streams to another (by up to 1.1
over 5 pairs for a trained LSTM at N = 64, results/delayed_recall), so a trained model is
scored on `streams` (STREAMS = 5) pairs. Pair i's seeds are numpy
SeedSequence(entropy=seed) states: stream 0 with spawn_key (STREAM_KEY, part), the one
pair scored before there were several (so stream 0 reproduces those MCs bit for bit),
stream i > 0 with spawn_key (STREAM_KEY, part, i); part 0 is the train stream, 1 the test
stream. The seeds are recorded with each stream's MC
(tables/memory_capacity_streams.csv).

Two spreads, and when cells differ. A model's MC is the mean over its streams. Per cell
and N the table gives the mean and 95% t-interval over seeds of that stream-mean MC
(mc, mc_ci_low, mc_ci_high: retraining), and the stream range: per model the max minus
the min of its streams' MCs, the median over the models (stream_range; the largest:
stream_range_max) — how far one measurement of one model moves. `cell_differences`
claims a difference between two cells at the same experiment, length and N only where
their seed intervals do not overlap and the difference of their means exceeds both
cells' stream ranges; otherwise they are "not distinguishable".

The bound. For a stationary state and i.i.d. input the population MC_k summed over
k >= 0 is at most N (Jaeger 2001; Bessel's inequality: the delayed inputs are
uncorrelated), so MC <= N. The estimate obeys it only approximately: a read-out for a
delay the state knows nothing about still correlates with its target by chance (r^2 of
about 1/test_steps each, so at most about K/test_steps in all: 0.013 at the defaults),
while noise in the fit lowers the test correlation of delays the state does hold. Scoring
on the fitting data instead would add about (N+1)/train_steps for each delay the state
does not hold (up to 0.2 in all at N = 32, K = 64, 10,000 steps).

Trained models. The stream is far longer than the training sequences, so MC measures the
state's memory in its stationary regime under the task's input distribution;
`run_memory_capacity` also scores the trained head where it was trained, on the run's test
split (length T, from the zero state): its MSE per delay and the squared correlation of
its outputs with their targets (head_mc_k, summed: head_mc).

    memorybench diagnose memory-capacity results/   # tables/memory_capacity*.csv, figures/memory_capacity*.png

Example:
    >>> import torch.nn.functional as F
    >>> def register(x):  # (B, T, 1) -> (B, T, 4): unit j holds u(t - j), a 4-unit shift register
    ...     u = x[..., 0]
    ...     return torch.stack([F.pad(u, (j, 0))[:, : u.shape[1]] for j in range(4)], dim=-1)
    >>> mc_k, mc = memory_capacity(register, delays=6, seed=0, train_steps=500, test_steps=500, washout=10)
    >>> mc_k.round(1).tolist(), round(mc, 1)  # delays 1..3 held exactly, 4..6 gone (up to chance, ~1/500 each)
    ([1.0, 1.0, 1.0, 0.0, 0.0, 0.0], 3.0)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.lines import Line2D

from memorybench.analysis.summary import mean_interval
from memorybench.cells import cell_names, get_cell
from memorybench.checks import check_int
from memorybench.diagnostics.command import one_thread
from memorybench.diagnostics.defaults import STREAMS, TEST_STEPS, TRAIN_STEPS, WASHOUT
from memorybench.models import SequenceModel
from memorybench.report.figures import save_figure, plt  # pyplot on the figures' Agg backend
from memorybench.report.sections import ReportSection, register_section
from memorybench.storage.rundir import write_atomic
from memorybench.storage.store import open_results
from memorybench.tasks import TaskSpec, get_task
from memorybench.tasks.delayed_recall import DELAYS, SCALE, check_scale, draw_inputs, memoryless_mse
from memorybench.training import load_run, trained_model
from memorybench.analysis.experiments import experiment_label, label_of
from memorybench.report.markdown import interval_text, markdown_table

STREAM_KEY = 2001  # SeedSequence spawn-key slot of the MC streams; split_seed uses 0, 1, 2 (train, dev, test)
STREAM_PARTS = ("train", "test")
RUN_KEYS = ["run_id", "experiment", "task", "scale", "seq_len", "cell", "hidden_size", "seed"]
STREAM_COLUMNS = ["stream", "train_stream_seed", "test_stream_seed"]
# one row per run, stream and delay; the trained head's head_mc_k and head_mse_k are the run's (its test split, no
# stream), repeated on each stream's rows
DELAY_COLUMNS = [*RUN_KEYS, *STREAM_COLUMNS, "k", "mc_k", "head_mc_k", "head_mse_k"]
GROUP = ["experiment", "task", "scale", "seq_len", "cell", "hidden_size"]  # what a summary over seeds is per
PAIR = ["experiment", "seq_len", "hidden_size"]  # cells compared within
DIFFERENCE_COLUMNS = [
    *PAIR,
    "cell_a",
    "cell_b",
    "mc_a",
    "mc_b",
    "difference",
    "mc_a_ci_low",
    "mc_a_ci_high",
    "mc_b_ci_low",
    "mc_b_ci_high",
    "overlap",
    "stream_range_a",
    "stream_range_b",
    "verdict",
]

States = Callable[[torch.Tensor], torch.Tensor]  # (B, T, 1) inputs -> (B, T, N) hidden states


def stream_seed(seed: int, part: str, stream: int = 0) -> int:
    """A 63-bit seed of the MC train or test stream of pair `stream`, derived from the run seed (numpy SeedSequence,
    spawn_key (STREAM_KEY, part) for stream 0, (STREAM_KEY, part, stream) for the others)."""
    if part not in STREAM_PARTS:
        raise ValueError(f"part={part!r} is not allowed; choose one of {', '.join(STREAM_PARTS)}")
    check_int("stream", stream, 0)
    key = (STREAM_KEY, STREAM_PARTS.index(part)) + ((stream,) if stream else ())
    state = np.random.SeedSequence(entropy=seed, spawn_key=key).generate_state(2, np.uint64)
    return int(state[0] >> np.uint64(1))


def hidden_states(model: SequenceModel | States) -> States:
    """(B, T, 1) -> (B, T, N): a SequenceModel's last-layer states h (one real input channel, unidirectional),
    or any such callable as it is."""
    if not isinstance(model, SequenceModel):
        return model
    if not isinstance(model.embedding, torch.nn.Identity) or model.rnn.input_size != 1:
        raise ValueError(
            "memory capacity needs a model with one real input channel (input_kind 'vectors', input_size 1)"
        )
    if model.rnn.bidirectional:
        raise ValueError("bidirectional=True is not supported; memory capacity needs a causal (unidirectional) state")
    return lambda x: model.rnn(x)[0]


def _device(model) -> torch.device:
    parameter = next(model.parameters(), None) if isinstance(model, torch.nn.Module) else None
    return parameter.device if parameter is not None else torch.device("cpu")


def stream_states(model: SequenceModel | States, scale: float, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(u (steps,), h (steps, N)) float64: one stream from `seed` and the states after each input."""
    u = draw_inputs(1, steps, scale, torch.Generator().manual_seed(seed))  # (1, steps)
    with torch.no_grad():
        h = hidden_states(model)(u.unsqueeze(-1).to(_device(model)))
    if h.dim() != 3 or h.shape[:2] != (1, steps):
        raise ValueError(
            f"the hidden states have shape {tuple(h.shape)}; expected (1, {steps}, N) for inputs (1, {steps}, 1)"
        )
    return u[0].double().numpy(), h[0].detach().cpu().double().numpy()


def delayed_targets(u: np.ndarray, delays: int, start: int) -> np.ndarray:
    """(len(u) - start, K): row t - start, column k - 1 is u(t - k), for t = start..len(u)-1 (start >= K)."""
    t = np.arange(start, len(u))[:, None]
    return u[t - np.arange(1, delays + 1)[None, :]]


def squared_correlations(outputs, targets) -> np.ndarray:
    """(K,) squared Pearson correlation of each column pair of (n, K) arrays; 0 where an output is constant."""
    y, z = np.asarray(outputs, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    yc, zc = y - y.mean(0), z - z.mean(0)
    y_norm, z_norm = np.sqrt((yc**2).sum(0)), np.sqrt((zc**2).sum(0))
    constant = (y_norm <= 1e-12 * np.abs(y).max(0) * np.sqrt(len(y))) | (
        z_norm == 0
    )  # rounding noise around a constant
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (yc * zc).sum(0) / (y_norm * z_norm)
    return np.where(constant, 0.0, np.clip(r, -1.0, 1.0) ** 2)


def memory_capacity(
    model: SequenceModel | States,
    scale: float = SCALE,
    delays: int = DELAYS,
    seed: int = 0,
    train_steps: int = TRAIN_STEPS,
    test_steps: int = TEST_STEPS,
    washout: int = WASHOUT,
    stream: int = 0,
) -> tuple[np.ndarray, float]:
    """(MC_k for k = 1..K as a (K,) array, MC = their sum): read-outs fitted on the train stream, scored on the
    test stream of pair `stream` (see the module docstring). `model` is a SequenceModel or any callable (B, T, 1) -> (B, T, N)."""
    check_scale(scale)
    check_int("delays", delays, 1)
    check_int("seed", seed, 0)
    check_int("stream", stream, 0)
    check_int("train_steps", train_steps, 1)
    check_int("test_steps", test_steps, 2)
    check_int("washout", washout, delays)
    fitted = {}
    for part, steps in (("train", train_steps), ("test", test_steps)):
        u, h = stream_states(model, scale, washout + steps, stream_seed(seed, part, stream))
        fitted[part] = (
            np.hstack([h[washout:], np.ones((steps, 1))]),
            delayed_targets(u, delays, washout),
        )  # (n, N+1), (n, K)
    weights = np.linalg.lstsq(*fitted["train"], rcond=None)[0]  # (N+1, K)
    features, targets = fitted["test"]
    mc_k = squared_correlations(features @ weights, targets)
    return mc_k, float(mc_k.sum())


def task_delays(task: TaskSpec) -> int:
    """K of a delayed-recall task (`memorybench.tasks.delayed_recall`); ValueError for any other task."""
    delays = task.delays
    if delays is None:
        raise ValueError(
            f"task {task.name!r} is not a delayed-recall task; memory capacity is measured on delayed_recall runs"
        )
    return delays


def run_memory_capacity(
    run_folder,
    streams: int = STREAMS,
    train_steps: int = TRAIN_STEPS,
    test_steps: int = TEST_STEPS,
    washout: int = WASHOUT,
) -> pd.DataFrame:
    """One stored delayed-recall run at its best-dev checkpoint, one row per stream 0..streams-1 and delay k = 1..K
    (DELAY_COLUMNS): mc_k (refitted read-outs on that pair of MC streams, seeded from the run seed, at the run's scale;
    the streams' seeds in train_stream_seed and test_stream_seed) and the trained head on the run's test split, the
    same on every stream's rows: head_mc_k (squared correlation of output k and its target) and head_mse_k (their MSE;
    its mean is the test score)."""

    check_int("streams", streams, 1)
    folder = Path(run_folder)
    saved = load_run(folder)
    config = saved.config
    task = get_task(config.task)
    delays = task_delays(task)
    trained_model(saved, folder, "measure")
    scale = config.task_params.get("scale", SCALE)
    mc_k = [
        memory_capacity(saved.model, scale, delays, config.seed, train_steps, test_steps, washout, stream)[0]
        for stream in range(streams)
    ]
    test = task.make_data(config.seq_len, config.seed, **config.task_params).test
    with torch.no_grad():
        outputs = saved.model(test.inputs).double()
    targets = test.targets.double()
    label = experiment_label(
        {**config.to_dict(), "task_params": json.dumps(config.task_params, sort_keys=True)}, skip=("hidden_size",)
    )
    head_mc_k, head_mse_k = (
        squared_correlations(outputs.numpy(), targets.numpy()),
        (outputs - targets).square().mean(0).numpy(),
    )
    return pd.DataFrame(
        dict(
            run_id=folder.name,
            experiment=label,
            task=config.task,
            scale=float(scale),
            seq_len=config.seq_len,
            cell=config.cell,
            hidden_size=config.hidden_size,
            seed=config.seed,
            stream=np.repeat(np.arange(streams), delays),
            train_stream_seed=np.repeat([stream_seed(config.seed, "train", i) for i in range(streams)], delays),
            test_stream_seed=np.repeat([stream_seed(config.seed, "test", i) for i in range(streams)], delays),
            k=np.tile(np.arange(1, delays + 1), streams),
            mc_k=np.concatenate(mc_k),
            head_mc_k=np.tile(head_mc_k, streams),
            head_mse_k=np.tile(head_mse_k, streams),
        ),
        columns=DELAY_COLUMNS,
    )


def collect_memory_capacity(root, warn: Callable[[str], None] | None = None, **options) -> pd.DataFrame:
    """`run_memory_capacity` rows of every successful delayed-recall run of the results folder `root`;
    other runs (failed, another task) are skipped and named to `warn`, one line per reason (a run named
    when it is the only one). `options`: streams, train_steps, test_steps, washout."""
    store = open_results(root)
    root = store.root
    runs, _ = store.collect()
    skipped = {}  # why -> the runs skipped for it
    measured = []
    for row in runs.to_dict("records"):
        try:  # runs that are not for this diagnostic are skipped; a failure to measure one that is, is an error
            if row["status"] != "ok":
                raise ValueError(f"status {row['status']!r}")
            task_delays(get_task(row["task"]))
            measured.append(row["run_id"])
        except ValueError as exc:
            skipped.setdefault(str(exc), []).append(
                f"run {row['run_id']} ({row['task']}, {row['cell']}, T={row['seq_len']}, seed {row['seed']})"
            )
    for why, which in skipped.items() if warn is not None else ():
        warn(f"{which[0] if len(which) == 1 else f'{len(which)} runs'} skipped: {why}")
    with one_thread():
        frames = [run_memory_capacity(store.run_folder(run_id), **options) for run_id in measured]
    if not frames:
        raise ValueError(f"{root} holds no successful delayed-recall run: no memory capacity to measure")
    return pd.concat(frames, ignore_index=True)


def run_summary(per_delay: pd.DataFrame) -> pd.DataFrame:
    """One row per run and stream (tables/memory_capacity_streams.csv): the run, the stream and its seeds, delays,
    mc (sum of mc_k), head_mc (sum of head_mc_k) and head_mse (mean of head_mse_k; the same on every stream)."""
    keys = [c for c in DELAY_COLUMNS if c not in ("k", "mc_k", "head_mc_k", "head_mse_k")]
    return (
        per_delay.groupby(keys, sort=False)
        .agg(delays=("k", "size"), mc=("mc_k", "sum"), head_mc=("head_mc_k", "sum"), head_mse=("head_mse_k", "mean"))
        .reset_index()
    )


def model_summary(per_stream: pd.DataFrame) -> pd.DataFrame:
    """One row per run (model) from `run_summary`'s rows: streams (how many), mc (the mean over its streams),
    mc_stream_min, mc_stream_max, stream_range (max - min), delays, head_mc and head_mse.

    >>> per_stream = pd.DataFrame(dict(run_id="r", seed=0, stream=[0, 1, 2], delays=4, mc=[2.0, 2.5, 2.3],
    ...                                head_mc=1.5, head_mse=0.07))
    >>> row = model_summary(per_stream).iloc[0]
    >>> int(row.streams), round(float(row.mc), 3), float(row.stream_range)
    (3, 2.267, 0.5)
    """
    keys = [c for c in RUN_KEYS if c in per_stream.columns]
    table = (
        per_stream.groupby(keys, sort=False)
        .agg(
            streams=("stream", "size"),
            mc=("mc", "mean"),
            mc_stream_min=("mc", "min"),
            mc_stream_max=("mc", "max"),
            delays=("delays", "first"),
            head_mc=("head_mc", "first"),
            head_mse=("head_mse", "first"),
        )
        .reset_index()
    )
    return table.assign(stream_range=table["mc_stream_max"] - table["mc_stream_min"])


def mc_summary(per_delay: pd.DataFrame) -> pd.DataFrame:
    """Per experiment, task, scale, length, cell and hidden size N over the seeds, each model's MC being the mean over
    its streams: n (seeds), streams (per model), MC mean and 95% t-interval over the seeds, stream_range (the median
    over the models of each one's max - min over its streams) and stream_range_max (the largest), MC/N (mean and
    interval), the trained head's test MSE (mean and interval) and head_mc, and the memoryless MSE a^2/3."""
    rows = []
    for key, group in model_summary(run_summary(per_delay)).groupby(GROUP, sort=False):
        at = dict(zip(GROUP, key))
        n, mc, mc_low, mc_high = mean_interval(group["mc"])
        _, mse, mse_low, mse_high = mean_interval(group["head_mse"])
        size = at["hidden_size"]
        rows.append(
            {
                **at,
                "delays": int(group["delays"].iloc[0]),
                "n": n,
                "mc": mc,
                "mc_ci_low": mc_low,
                "mc_ci_high": mc_high,
                "streams": int(group["streams"].min()),
                "stream_range": float(group["stream_range"].median()),
                "stream_range_max": float(group["stream_range"].max()),
                "mc_per_unit": mc / size,
                "mc_per_unit_ci_low": mc_low / size,
                "mc_per_unit_ci_high": mc_high / size,
                "head_mse": mse,
                "head_mse_ci_low": mse_low,
                "head_mse_ci_high": mse_high,
                "head_mc": float(group["head_mc"].mean()),
                "memoryless_mse": memoryless_mse(at["scale"]),
            }
        )
    order = {c: i for i, c in enumerate(cell_names())}
    table = pd.DataFrame(rows)
    return table.sort_values(
        ["experiment", "seq_len", "hidden_size", "cell"],
        key=lambda c: c.map(order) if c.name == "cell" else c,
        kind="stable",
        ignore_index=True,
    )


def cell_differences(table: pd.DataFrame) -> pd.DataFrame:
    """Each pair of cells of an `mc_summary` table within the same experiment, length and hidden size N (cells in
    the table's order; DIFFERENCE_COLUMNS): their MCs, difference = mc_a - mc_b, both seed intervals, overlap
    (whether they share a point; a missing interval overlaps), both stream ranges, and the verdict: "differs" only
    where the intervals do not overlap and |difference| exceeds both stream ranges, else "not distinguishable".

    >>> table = pd.DataFrame(dict(experiment="e", seq_len=80, hidden_size=8, cell=["srn", "lstm", "gru"],
    ...                           mc=[6.0, 3.8, 4.1], mc_ci_low=[5.5, 3.0, 3.9], mc_ci_high=[6.5, 4.6, 4.3],
    ...                           stream_range=[0.2, 0.9, 0.3]))
    >>> cell_differences(table)[["cell_a", "cell_b", "overlap", "verdict"]].values.tolist()
    [['srn', 'lstm', False, 'differs'], ['srn', 'gru', False, 'differs'], ['lstm', 'gru', True, 'not distinguishable']]
    """
    rows = []
    for key, group in table.groupby(PAIR, sort=False):
        for a, b in combinations(group.itertuples(index=False), 2):
            overlap = not (a.mc_ci_high < b.mc_ci_low or b.mc_ci_high < a.mc_ci_low)  # NaN compares False: overlapping
            difference = a.mc - b.mc
            claim = not overlap and abs(difference) > a.stream_range and abs(difference) > b.stream_range
            rows.append(
                [
                    *key,
                    a.cell,
                    b.cell,
                    a.mc,
                    b.mc,
                    difference,
                    a.mc_ci_low,
                    a.mc_ci_high,
                    b.mc_ci_low,
                    b.mc_ci_high,
                    overlap,
                    a.stream_range,
                    b.stream_range,
                    "differs" if claim else "not distinguishable",
                ]
            )
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def mc_table(runs_root, **options) -> pd.DataFrame:
    """`mc_summary` of every successful delayed-recall run of a results folder (options: streams, train_steps, test_steps, washout)."""
    return mc_summary(collect_memory_capacity(runs_root, **options))


def panel_grid(frame: pd.DataFrame, max_columns: int, width: float, height: float):
    """(fig, panels): one axes per (experiment, length, hidden size N) group of `frame`, at most `max_columns` a row,
    each `width` x `height` inches, the grid's spare axes hidden; panels pairs each axes with its group."""
    groups = list(frame.groupby(["experiment", "seq_len", "hidden_size"], sort=True))
    columns = min(max_columns, len(groups))
    rows = -(-len(groups) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(width * columns, height * rows), squeeze=False, layout="constrained"
    )
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    return fig, list(zip(axes.flat, groups))


def plot_mc_curves(frame: pd.DataFrame, path, title: str) -> Path:
    """MC_k against k (rows of `run_memory_capacity`, mean over seeds and streams): one panel per experiment, length and hidden
    size N, one colour per cell; solid the refitted read-outs on the stream, dashed the trained head on the test
    split; the per-delay bound MC_k <= 1 and the line k = N."""
    fig, panels = panel_grid(frame, 3, 5.2, 3.8)
    several = frame["experiment"].nunique() > 1
    for ax, ((experiment, seq_len, size), panel) in panels:
        means = panel.groupby(["cell", "k"], sort=False)[["mc_k", "head_mc_k"]].mean().reset_index()
        seeds = panel.groupby("cell")["seed"].nunique()
        streams = panel.groupby("cell")["stream"].nunique() if "stream" in panel else pd.Series(1, index=seeds.index)
        handles = []
        for cell in [c for c in cell_names() if c in set(means["cell"])]:
            spec, curve = get_cell(cell), means[means["cell"] == cell]
            ax.plot(curve["k"], curve["mc_k"], "-", marker="o", markersize=2.5, color=spec.color, linewidth=1.5)
            ax.plot(curve["k"], curve["head_mc_k"], "--", color=spec.color, linewidth=1)
            each = f" × {streams[cell]} streams" if streams[cell] > 1 else ""
            handles.append(
                Line2D(
                    [],
                    [],
                    color=spec.color,
                    label=f"{spec.label}: MC = {curve['mc_k'].sum():.1f} ({seeds[cell]} seeds{each})",
                )
            )
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.axvline(size, color="grey", linestyle="-.", linewidth=1)
        handles += [
            Line2D([], [], color="grey", linestyle=":", label="bound MC_k ≤ 1"),
            Line2D([], [], color="grey", linestyle="-.", label=f"k = N = {size}"),
            Line2D([], [], color="black", linestyle="--", label="trained head (test split)"),
        ]
        ax.set(
            xlabel="delay k",
            ylabel="MC_k (squared correlation)",
            ylim=(-0.03, 1.05),
            title=f"N = {size}, T = {seq_len}, a = {panel['scale'].iloc[0]:g}" + (f"\n{experiment}" if several else ""),
        )
        ax.grid(alpha=0.3)
        ax.legend(handles=handles, fontsize=7, loc="upper right")
    fig.suptitle(f"{title}\nMC_k ≤ 1 per delay; MC = Σ_k MC_k ≤ N (N hidden units)", fontsize=10)
    return save_figure(fig, Path(path))


def plot_stream_spread(per_stream: pd.DataFrame, path, title: str) -> Path:
    """Each model's MC on each of its streams (rows of `run_summary`): one panel per experiment, length and hidden
    size N; per cell one column of models (seeds side by side), a dot per stream, a bar from the model's lowest to
    its highest stream and a tick at its stream mean."""
    fig, panels = panel_grid(per_stream, 4, 3.6, 3.4)
    several = per_stream["experiment"].nunique() > 1
    for ax, ((experiment, seq_len, size), panel) in panels:
        cells = [c for c in cell_names() if c in set(panel["cell"])]
        for x, cell in enumerate(cells):
            spec, at = get_cell(cell), panel[panel["cell"] == cell]
            seeds = sorted(at["seed"].unique())
            for j, seed in enumerate(seeds):
                mc = at.loc[at["seed"] == seed, "mc"].to_numpy()
                position = x + (j - (len(seeds) - 1) / 2) * 0.22
                ax.vlines(position, mc.min(), mc.max(), color=spec.color, linewidth=1.2)
                ax.plot(np.full(len(mc), position), mc, "o", color=spec.color, markersize=2.5, alpha=0.7)
                ax.plot(position, mc.mean(), "_", color="black", markersize=9)
        ax.set_xticks(range(len(cells)), [get_cell(c).label for c in cells])
        ax.set(
            ylabel="MC",
            xlim=(-0.6, len(cells) - 0.4),
            title=f"N = {size}, T = {seq_len}" + (f"\n{experiment}" if several else ""),
        )
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, Path(path))


def write_memory_capacity(root, warn: Callable[[str], None] | None = None, **options) -> list[Path]:
    """tables/memory_capacity.csv (`mc_summary`), tables/memory_capacity_streams.csv (`run_summary`: per run and
    stream, with the streams' seeds), tables/memory_capacity_differences.csv (`cell_differences`),
    figures/memory_capacity.png (`plot_mc_curves`) and figures/memory_capacity_streams.png (`plot_stream_spread`)
    of a results folder. `options`: streams, train_steps, test_steps, washout."""
    frame = collect_memory_capacity(root, warn, **options)
    root = Path(root)
    (root / "tables").mkdir(exist_ok=True)
    (root / "figures").mkdir(exist_ok=True)
    table, per_stream = mc_summary(frame), run_summary(frame)
    paths = []
    for name, written in (
        ("memory_capacity", table),
        ("memory_capacity_streams", per_stream),
        ("memory_capacity_differences", cell_differences(table)),
    ):
        paths.append(root / "tables" / f"{name}.csv")
        write_atomic(paths[-1], lambda tmp, written=written: written.to_csv(tmp, index=False))
    title = "Memory capacity per delay: read-outs refitted on h (solid, test stream) and the trained head (dashed, test split)"
    spread = (
        f"MC of each model on each of its {table['streams'].min()} streams (dots; bar: lowest to highest, tick: mean)\n"
        "models side by side per cell (one per seed)"
    )
    return [
        *paths,
        plot_mc_curves(frame, root / "figures" / "memory_capacity.png", title),
        plot_stream_spread(per_stream, root / "figures" / "memory_capacity_streams.png", spread),
    ]


def report_section(store, runs=None) -> list[str]:
    """The report's part for a folder profiled by this module ([] when tables/memory_capacity.csv is absent): the MC
    table with each cell's seed interval beside its stream range, and the cells' differences (`cell_differences`)."""

    path = store.tables_dir / "memory_capacity.csv"
    if not path.exists():
        return []
    table = pd.read_csv(path)
    has_streams = "stream_range" in table  # a table written before the streams: its one stream has no range
    rows = [
        [
            row.experiment,
            row.seq_len,
            f"{row.scale:g}",
            label_of(row.cell),
            row.hidden_size,
            interval_text(row.n, row.mc, row.mc_ci_low, row.mc_ci_high, (0, math.inf)),
            f"{row.stream_range:.2f} (max {row.stream_range_max:.2f}; {int(row.streams)} streams)"
            if has_streams
            else "–",
            interval_text(row.n, row.mc_per_unit, row.mc_per_unit_ci_low, row.mc_per_unit_ci_high, (0, math.inf)),
            interval_text(row.n, row.head_mse, row.head_mse_ci_low, row.head_mse_ci_high, (0, math.inf), digits=4),
            f"{row.memoryless_mse:.4f}",
        ]
        for row in table.itertuples()
    ]
    columns = [
        "experiment",
        "T",
        "scale a",
        "cell",
        "N",
        "MC [95% CI over seeds]",
        "stream range (median)",
        "MC / N",
        "trained head's test MSE",
        "memoryless MSE",
    ]
    lines = [
        "## Memory capacity (delayed recall)",
        "",
        "Jaeger's memory capacity of each trained model: read-outs refit by least squares on the hidden state h alone "
        "(N numbers; the LSTM's h, not (h, c)) over one fresh input stream, MC_k the squared correlation with u(t-k) on "
        "a second stream, MC = Σ_k MC_k <= N (`memorybench diagnose memory-capacity`; rerun it after "
        "retraining). Beside it, the trained read-out head's own test MSE and the memoryless MSE a²/3.",
        "",
        "Two spreads. The same model measured on another pair of streams gives another MC, so each model is scored "
        "on several independent pairs (their seeds: tables/memory_capacity_streams.csv) and its MC is their mean. "
        "**MC [95% CI over seeds]** is the mean and t-interval of that stream-mean MC over the seeds (what "
        "retraining moves); the **stream range** is, per model, its highest stream's MC minus its lowest, the "
        "median over the cell's models (max: the largest): how far one measurement of one trained model "
        "moves.",
        "",
        markdown_table(pd.DataFrame(rows, columns=columns)),
        "",
    ]
    if has_streams:
        differences = cell_differences(table)
        several = differences[["experiment", "seq_len"]].drop_duplicates().shape[0] > 1
        rows = [
            ([row.experiment, row.seq_len] if several else [])
            + [
                row.hidden_size,
                label_of(row.cell_a),
                label_of(row.cell_b),
                f"{row.difference:+.2f}",
                "yes" if row.overlap else "no",
                f"{row.stream_range_a:.2f}, {row.stream_range_b:.2f}",
                row.verdict,
            ]
            for row in differences.itertuples()
        ]
        columns = (["experiment", "T"] if several else []) + [
            "N",
            "cell A",
            "cell B",
            "difference A − B",
            "intervals overlap?",
            "stream ranges A, B",
            "verdict",
        ]
        lines += [
            "When two cells' MCs differ (tables/memory_capacity_differences.csv): a difference is claimed only where "
            "the two seed intervals do not overlap **and** the difference of the means exceeds both cells' stream "
            "ranges; otherwise the cells are not distinguishable at these seeds and streams.",
            "",
            markdown_table(pd.DataFrame(rows, columns=columns)),
            "",
        ]
    else:
        lines += [
            "This table was written before MC was scored on several streams: rerun `memorybench diagnose "
            "memory-capacity` for the stream range and the cells' differences.",
            "",
        ]
    return lines + [
        "![memory capacity per delay](figures/memory_capacity.png)",
        "",
        *(["![each model's MC on each stream](figures/memory_capacity_streams.png)", ""] if has_streams else []),
    ]


register_section(
    ReportSection(
        "memory_capacity", needs=("tables/memory_capacity.csv",), write=report_section, reads_checkpoints=True
    )
)
