"""The book's section 6.2: an SRN's gradients explode, then vanish; clipping each parameter keeps them alive.

    memorybench explosion --seeds 5 --out results/explosion

Faithful to the book: the digit sum at L=20 with the book's data, SGD lr 0.2, batch 64,
the cross-entropy summed over the batch, 50 epochs (250 steps; protocol `nndl-6.2`),
trained twice per seed: without clipping, and with each parameter's gradient clipped
to norm 5.0 on its own (the book's `ClipGradByNorm`; torch's `clip_grad_norm_` would
clip the global norm). The L2 norm of every recurrent parameter's gradient is logged
at every step *before* clipping (`GradientNorms`, a per-step hook of the engine). The
book's SRN has one bias b; torch's has two with identical gradients, so the faithful
cell is `srn_book` (W, U, b). The LSTM and GRU, which the book does not show, run
beside it with torch's parameters (W = weight_ih, U = weight_hh, b = bias_ih; the
LSTM's bias_hh has bias_ih's gradient, the GRU's differs in its candidate chunk).

Every run is stored like a sweep's (`runs/<id>/`, with its per-step norms in
`grad_norms.csv`); the report (`memorybench.report.build`) adds the figures: the norms over
the first 40 steps without clipping, over the first 100 with clipping, and both runs'
test accuracy per cell, each seed its own line and the mean with its interval.

Example:
    >>> configs = explosion_configs(["srn_book"], seeds=1)
    >>> [(c.cell, c.seq_len, c.optimizer, c.lr, c.batch_size, c.loss_reduction, c.clip, c.steps) for c in configs]
    [('srn_book', 20, 'sgd', 0.2, 64, 'sum', 'none', 250), ('srn_book', 20, 'sgd', 0.2, 64, 'sum', 'per_param', 250)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memorybench.diagnostics.defaults import EXPLOSION_CELLS
from memorybench.report.sections import ReportSection, register_section
from memorybench.analysis.experiments import label_of
from memorybench.analysis.spread import bimodal, median_interval
from memorybench.analysis.summary import mean_interval, paired_differences
from memorybench.cells import cell_names, get_cell
from memorybench.config import protocol_config
from memorybench.diagnostics.grad_norms import GradientNorms
from memorybench.engine.loop import train_pack
from memorybench.models import checkpoint_writer
from memorybench.report.figures import plot_clip_scores, plot_gradient_norms, plot_seed_strips
from memorybench.report.markdown import interval_text, markdown_table
from memorybench.storage.rundir import write_atomic
from memorybench.tasks import get_task

if TYPE_CHECKING:
    import pandas as pd

CELLS = EXPLOSION_CELLS
CLIPS = ("none", "per_param")
SEQ_LEN = 20
CLIP_VALUE = 5.0
LOG_FILE = "grad_norms.csv"  # in each run folder: step, parameter, grad_norm


def explosion_configs(cells=CELLS, seeds: int = 5, device: str = "cpu", steps: int | None = None) -> list:
    """Every cell x seed x clipping of the experiment, as run configs of protocol `nndl-6.2`."""

    budget = {} if steps is None else {"steps": steps}
    return [
        protocol_config(
            "nndl-6.2", cell=cell, seq_len=SEQ_LEN, seed=seed, clip=clip, clip_value=CLIP_VALUE, device=device, **budget
        )
        for cell in cells
        for seed in range(seeds)
        for clip in CLIPS
    ]


def role_of(parameter: str, cell: str = "srn") -> str | None:
    """'rnn.weight_hh_l0' -> 'U' (the cell's `CellSpec.roles`); None for parameters outside the recurrent layer's first layer."""

    if not parameter.startswith("rnn.") or not parameter.endswith("_l0"):
        return None
    return get_cell(cell).role(parameter[len("rnn.") : -len("_l0")])


def train_logged(config):
    """(RunOutput, grad-norm table) of one run: step, parameter (W, U, b), grad_norm before clipping."""

    log = GradientNorms()
    output = train_pack([config], hooks=[log])[0]
    table = log.table()
    table = table.assign(parameter=table["parameter"].map(lambda name: role_of(name, config.cell))).dropna(
        subset=["parameter"]
    )
    return output, table[["step", "parameter", "grad_norm"]].reset_index(drop=True)


def run_explosion(store, configs, force: bool = False, progress=print) -> int:
    """Train and store every config not yet stored with its norms; returns the number trained."""

    trained = 0
    for config in configs:
        folder = store.folder(config)
        if not force and store.is_complete(config) and (folder / LOG_FILE).exists():
            continue
        output, table = train_logged(config)
        store.place(output.config, output.result, checkpoint_writer(output.state_dict), extras={LOG_FILE: table})
        trained += 1
        progress(
            f"{config.cell} seed {config.seed} clip={config.clip}: test accuracy {output.result.test_score:.2f} "
            f"({output.result.status}), peak grad norm {table['grad_norm'].max():.3g}"
        )
    return trained


def load_norms(store, runs) -> pd.DataFrame:
    """Every stored run's logged norms beside its cell, seed and clipping (empty when none has them)."""
    import pandas as pd

    frames = []
    for row in runs.itertuples():
        path = store.run_folder(row.run_id) / LOG_FILE
        if path.exists():
            frames.append(pd.read_csv(path).assign(run_id=row.run_id, cell=row.cell, seed=row.seed, clip=row.clip))
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["step", "parameter", "grad_norm", "run_id", "cell", "seed", "clip"])
    )


QUANTITIES = {  # per-seed quantity -> what it is, as the report names it
    "peak_first_40": "peak norm over the first 40 steps",
    "peak_step": "step of that peak",
    "mean_last_50": "mean norm over the last 50 steps",
}


def per_seed_norms(norms) -> pd.DataFrame:
    """One row per cell, clipping, parameter and seed: its peak norm over the first 40 steps, the step of that
    peak, and its mean norm over the last 50 steps (near 0: the gradient vanished)."""
    import pandas as pd

    rows = []
    for (cell, clip, parameter, seed), run in norms.groupby(["cell", "clip", "parameter", "seed"], sort=False):
        early = run[run["step"] <= 40]
        late = run[run["step"] > run["step"].max() - 50]
        rows.append(
            dict(
                cell=cell,
                clip=clip,
                parameter=parameter,
                seed=int(seed),
                peak_first_40=float(early["grad_norm"].max()),
                peak_step=int(early.loc[early["grad_norm"].idxmax(), "step"]),
                mean_last_50=float(late["grad_norm"].mean()),
            )
        )
    return pd.DataFrame(rows, columns=["cell", "clip", "parameter", "seed", *QUANTITIES])


def norm_summary(per_seed) -> pd.DataFrame:
    """Per cell, clipping and parameter over the seeds of `per_seed_norms`: each quantity's median with its 95%
    bootstrap interval (`_low`, `_high`) and whether its seeds fall into two groups (`_bimodal`,
    `memorybench.analysis.spread`), and the range of the peak's step over the seeds.

    >>> import pandas as pd
    >>> per_seed = pd.DataFrame(dict(cell="srn", clip="none", parameter="W", seed=range(4), peak_first_40=[10.0, 12, 11, 9],
    ...                              peak_step=[3, 4, 12, 2], mean_last_50=[1.0, 2.0, 40.0, 90.0]))
    >>> row = norm_summary(per_seed).to_dict("records")[0]
    >>> row["seeds"], row["peak_step"], (row["peak_step_min"], row["peak_step_max"]), row["mean_last_50_bimodal"]
    (4, 3.5, (2, 12), True)
    """
    import pandas as pd

    rows = []
    for (cell, clip, parameter), group in per_seed.groupby(["cell", "clip", "parameter"], sort=False):
        row = dict(cell=cell, clip=clip, parameter=parameter, seeds=len(group))
        for quantity in QUANTITIES:
            median, low, high = median_interval(group[quantity])
            row.update(
                {
                    quantity: median,
                    f"{quantity}_low": low,
                    f"{quantity}_high": high,
                    f"{quantity}_bimodal": bimodal(group[quantity]),
                }
            )
        row.update(peak_step_min=int(group["peak_step"].min()), peak_step_max=int(group["peak_step"].max()))
        rows.append(row)
    return pd.DataFrame(rows)


def _order(column):
    """Sort key: cells in registry order, no clipping before clipping."""

    order = {name: i for i, name in enumerate(cell_names() if column.name == "cell" else CLIPS)}
    return column.map(order)


def norm_rows(summary) -> pd.DataFrame:
    """The report's table of `norm_summary`: median [bootstrap interval] of each quantity, the peak step's range,
    and which quantities fall into two groups."""
    import pandas as pd

    text = lambda row, q: f"{row[q]:.3g} [{row[q + '_low']:.3g}, {row[q + '_high']:.3g}]"
    rows = [
        [
            label_of(row["cell"]),
            row["clip"],
            row["parameter"],
            row["seeds"],
            text(row, "peak_first_40"),
            f"{row['peak_step']:g} ({row['peak_step_min']}–{row['peak_step_max']})",
            text(row, "mean_last_50"),
            ", ".join(
                name
                for name, q in (("peak", "peak_first_40"), ("step", "peak_step"), ("last 50", "mean_last_50"))
                if row[q + "_bimodal"]
            )
            or "–",
        ]
        for row in summary.to_dict("records")
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "cell",
            "clip",
            "parameter",
            "seeds",
            "peak, first 40 steps",
            "peak step (range)",
            "mean, last 50 steps",
            "two groups",
        ],
    )


def report_section(store, runs) -> list[str]:
    """The report's section 6.2 part for the runs of `runs` that carry logged norms ([] when none do)."""
    import pandas as pd

    norms = load_norms(store, runs)
    if norms.empty:
        return []
    logged = runs[runs["run_id"].isin(set(norms["run_id"]))]
    figures = store.root / "figures" / "explosion"
    figures.mkdir(parents=True, exist_ok=True)
    first = logged.iloc[0]
    baseline = get_task(first["task"]).baseline
    plot_gradient_norms(
        norms[norms["clip"] == "none"], 40, figures / "norms_no_clip.png", "Gradient norms, no clipping, first 40 steps"
    )
    plot_gradient_norms(
        norms[norms["clip"] == "per_param"],
        100,
        figures / "norms_clipped.png",
        f"Gradient norms, each parameter clipped to {first['clip_value']:g}, first 100 steps",
        clip_value=first["clip_value"],
    )
    plot_clip_scores(
        logged, baseline, figures / "accuracy.png", f"Test accuracy at L={first['seq_len']}, without and with clipping"
    )
    per_seed = per_seed_norms(norms.sort_values(["cell", "clip"], key=_order, kind="stable"))
    summary = norm_summary(per_seed)
    write_atomic(store.tables_dir / "explosion_norms.csv", lambda tmp: summary.to_csv(tmp, index=False))
    write_atomic(store.tables_dir / "explosion_norms_per_seed.csv", lambda tmp: per_seed.to_csv(tmp, index=False))
    plot_seed_strips(
        per_seed.assign(
            group=[
                f"{label_of(c)}\n{'clipped' if k == 'per_param' else 'no clip'} {p}"
                for c, k, p in zip(per_seed["cell"], per_seed["clip"], per_seed["parameter"])
            ]
        ),
        QUANTITIES,
        figures / "per_seed.png",
        "Section 6.2 gradient norms, seed by seed",
        log={"peak_first_40", "mean_last_50"},
    )
    ok = logged[logged["status"] == "ok"]
    rows = []
    for cell in [c for c in cell_names() if c in set(logged["cell"])]:
        scores = [
            interval_text(*mean_interval(ok[(ok["cell"] == cell) & (ok["clip"] == clip)]["test_score"]), bounds=(0, 1))
            for clip in CLIPS
        ]
        paired = paired_differences(ok[ok["cell"] == cell], "clip", "per_param", "none", within=())
        diff = interval_text(*paired.iloc[0][["pairs", "mean", "ci_low", "ci_high"]], sign="+") if len(paired) else "–"
        failed = int((logged[logged["cell"] == cell]["status"] != "ok").sum())
        rows.append([label_of(cell), *scores, diff, failed])
    scores_md = markdown_table(
        pd.DataFrame(
            rows, columns=["cell", "no clip", "clip per parameter", "clip − no clip (paired by seed)", "failed runs"]
        )
    )
    norm_md = markdown_table(norm_rows(summary))
    rel = lambda name: (figures / name).relative_to(store.root).as_posix()
    return [
        "## Gradient explosion (book section 6.2)",
        "",
        f"{first['optimizer'].upper()} lr {first['lr']}, batch {first['batch_size']}, loss summed over the batch, "
        f"{first['steps']} steps at L={first['seq_len']}, {logged['seed'].nunique()} seeds per cell; each seed trained without "
        f"clipping and with every parameter's gradient clipped to norm {first['clip_value']:g} on its own (the book's "
        "ClipGradByNorm). Norms are logged at every step before clipping. `SRN (one bias)` is the book's cell (W, U, b); "
        "for the LSTM and GRU, W, U and b are torch's weight_ih, weight_hh and bias_ih.",
        "",
        f"![gradient norms without clipping]({rel('norms_no_clip.png')})",
        "",
        f"![gradient norms with clipping]({rel('norms_clipped.png')})",
        "",
        "**Gradient norms**, seed by seed summarised: each seed's peak norm over the first 40 steps, the step of that "
        "peak, and its mean norm over the last 50 steps; per cell, clipping and parameter the median over seeds with a 95% "
        "percentile bootstrap interval of the median (10,000 resamples, fixed seed), and for the step the range over seeds. "
        "**two groups** marks a quantity whose sorted seed values jump by more than 5x with at least 2 seeds on each side: "
        "its median lands in one group or the other by chance, and a retrain that only rounds differently can move it "
        "across (read the seeds, not the median). `tables/explosion_norms.csv`; every seed's values in "
        "`tables/explosion_norms_per_seed.csv`.",
        "",
        norm_md,
        "",
        f"![every seed's values]({rel('per_seed.png')})",
        "",
        f"**Test accuracy** of the best-dev checkpoint, mean [95% t-interval]; the memoryless baseline is {baseline:.3g}. "
        "The paired difference compares the two runs of each seed (same data, same initial weights).",
        "",
        scores_md,
        "",
        f"![test accuracy]({rel('accuracy.png')})",
        "",
    ]


register_section(ReportSection("explosion", needs=("runs/*/grad_norms.csv",), write=report_section))
