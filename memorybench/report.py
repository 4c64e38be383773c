"""The report, rebuilt from a results folder's stored files alone.

    python -m memorybench.report results/ [--threshold 0.55]

writes `report.md`, `figures/*.png` and `tables/*.csv` into the folder. Runs are
grouped into experiments (everything in the config but cell, length, seed and
device); each experiment gets its own section and figures.

Example:
    >>> import tempfile
    >>> from memorybench.store import ResultsStore
    >>> from memorybench.sweep import plan_sweep, run_sweep
    >>> store = ResultsStore.open(tempfile.mkdtemp())
    >>> _ = run_sweep(store, plan_sweep("nndl", ["srn"], [5], seeds=2, quick=True, device="cpu"), progress=False)
    >>> path = build_report(store.root)
    >>> path.name, "## Test accuracy" in path.read_text()
    ('report.md', True)
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import fields
from pathlib import Path

import pandas as pd

from .config import PROTOCOLS, RunConfig
from .benchtables import load_benchmarks, speedup_table
from .figures import CELL_LABELS, plot_accuracy_vs_length, plot_cell_benchmarks, plot_curves, plot_gates, plot_throughput
from .gates import BOOK_EXAMPLE, trace_sequence
from .provenance import git_commit, short_commit
from .rundir import write_atomic, write_text_atomic
from .store import ResultsStore, StoreError
from .summary import accuracy_table, default_threshold, memory_horizon, throughput_table
from .tasks import get_task

PER_RUN = ("cell", "seq_len", "seed", "device")  # what varies inside one experiment
EXPERIMENT_KEYS = tuple(f.name for f in fields(RunConfig) if f.name not in PER_RUN)


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def experiment_label(config: dict) -> str:
    """The protocol's name, plus every setting that differs from that protocol."""
    defaults = RunConfig(protocol=config["protocol"], **PROTOCOLS.get(config["protocol"], {})).to_dict()
    changed = [f"{k}={config[k]}" for k in EXPERIMENT_KEYS if k not in ("protocol",) and str(config[k]) != str(defaults[k])]
    return ", ".join([config["protocol"], *changed])


def _fmt(value: float, digits: int = 2) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


def _accuracy_markdown(table: pd.DataFrame) -> tuple[str, str]:
    """(mean [95% CI] per cell and length, best seed per cell and length) as markdown."""
    cells = [c for c in CELL_LABELS if c in set(table["cell"])]
    lengths = sorted(table["seq_len"].unique())
    mean_rows, best_rows = [], []
    for length in lengths:
        at = table[table["seq_len"] == length].set_index("cell")
        mean_rows.append([length] + [
            f"{_fmt(at.at[c, 'mean'])} [{_fmt(max(at.at[c, 'ci_low'], 0.0))}, {_fmt(min(at.at[c, 'ci_high'], 1.0))}] (n={at.at[c, 'n']})" if c in at.index else "–"
            for c in cells])
        best_rows.append([length] + [f"{_fmt(at.at[c, 'best'])} (seed {at.at[c, 'best_seed']})" if c in at.index else "–" for c in cells])
    columns = ["L"] + [CELL_LABELS[c] for c in cells]
    return markdown_table(pd.DataFrame(mean_rows, columns=columns)), markdown_table(pd.DataFrame(best_rows, columns=columns))


def _gate_section(runs: pd.DataFrame, store: ResultsStore, figure: Path) -> str:
    at10 = runs[(runs["seq_len"] == len(BOOK_EXAMPLE)) & (runs["status"] == "ok")]
    if at10.empty:
        return f"No runs at L={len(BOOK_EXAMPLE)}, so no gate heatmaps (the book's example sequence has length {len(BOOK_EXAMPLE)})."
    traces, captions, lines = {}, {}, []
    for cell, rows in at10.groupby("cell", sort=False):
        best = rows.sort_values(["best_dev_accuracy", "seed"], ascending=[False, True]).iloc[0]
        traces[cell], prediction = trace_sequence(store.runs_dir / best["run_id"], BOOK_EXAMPLE)
        captions[cell] = f"seed {best['seed']}, predicts {prediction}"
        lines.append(f"- {CELL_LABELS[cell]}: seed {best['seed']} (best dev accuracy {best['best_dev_accuracy']:.2f}, "
                     f"test {best['test_accuracy']:.2f}) predicts **{prediction}** for the label {sum(BOOK_EXAMPLE[:2])}.")
    plot_gates(traces, BOOK_EXAMPLE, captions, figure)
    return "\n".join([
        f"Every gate and state of each cell's best-dev seed at L=10 on the book's sequence `{BOOK_EXAMPLE}` "
        "(x: position and its input digit; y: hidden unit), computed step by step through the transparent cells "
        "from the saved weights.", "", *lines, "", f"![gate heatmaps]({figure.relative_to(store.root).as_posix()})"])


def _experiment_section(label: str, runs: pd.DataFrame, curves: pd.DataFrame, store: ResultsStore, slug: str, threshold: float | None) -> list[str]:
    first = runs.iloc[0]
    task = get_task(first["task"])
    threshold = default_threshold(task.chance) if threshold is None else threshold
    figures = store.root / "figures" / slug
    figures.mkdir(parents=True, exist_ok=True)
    ok = runs[runs["status"] == "ok"]
    out = [f"## Experiment: {label}", "",
           f"Task `{task.name}` ({task.description}); {first['optimizer']} lr {first['lr']}, batch {first['batch_size']}, "
           f"{first['steps']} steps, dev every {first['eval_interval']} steps, init `{first['init']}`, "
           f"batches {'reshuffled every epoch' if first['shuffle'] else 'in file order' if first['task'] == 'nndl' else 'fresh every step'}. "
           f"{len(runs)} runs: {len(ok)} ok, {len(runs) - len(ok)} failed.", ""]
    if ok.empty:
        return out + ["No successful runs to summarise.", ""]
    table = accuracy_table(ok)
    horizon = memory_horizon(table, threshold)
    speed = throughput_table(ok)
    tables = store.tables_dir
    for name, frame in (("accuracy", table), ("horizon", horizon), ("throughput", speed)):
        frame = frame.assign(experiment=label)
        write_atomic(tables / f"{name}_{slug}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False))
    plot_accuracy_vs_length(ok, table, task.chance, threshold, figures / "accuracy_vs_length.png", f"Digit-sum memory: {label}")
    plot_curves(curves[curves["run_id"].isin(ok["run_id"])], figures / "curves.png", label)
    plot_throughput(speed, figures / "throughput.png", f"Training throughput: {label}")
    mean_md, best_md = _accuracy_markdown(table)
    rel = lambda name: (figures / name).relative_to(store.root).as_posix()
    horizon_rows = [[CELL_LABELS[r.cell], _fmt(r.horizon, 0), _fmt(r.horizon_low, 0), _fmt(r.horizon_high, 0)] for r in horizon.itertuples()]
    speed_md = speed.assign(cell=speed["cell"].map(CELL_LABELS), steps_per_s=speed["steps_per_s"].round(0).astype(int),
                            model_steps_per_s=speed["model_steps_per_s"].round(0).astype(int), wall_time_s=speed["wall_time_s"].round(1))
    out += [
        "### Test accuracy against length", "",
        f"Test accuracy of each run's best-dev checkpoint. Chance (always answering the most common sum) is "
        f"**{task.chance:.2f}**.", "",
        f"![accuracy against length]({rel('accuracy_vs_length.png')})", "",
        "**Mean over seeds [95% t-interval, clipped to 0..1]** — the figure to cite:", "", mean_md, "",
        "**Best seed** (the maximum over seeds, not an average; shown because single seeds vary a lot):", "", best_md, "",
        "### Memory horizon", "",
        f"The longest length whose mean test accuracy is at or above **{threshold:.2f}** "
        f"(halfway from chance to perfect unless `--threshold` says otherwise). Pessimistic and optimistic read the "
        "same off the interval's lower and upper ends; – means no tested length passes.", "",
        markdown_table(pd.DataFrame(horizon_rows, columns=["cell", "horizon L", "pessimistic", "optimistic"])), "",
        "### Training curves", "", f"![training curves]({rel('curves.png')})", "",
        f"### Gate heatmaps at L={len(BOOK_EXAMPLE)}", "", _gate_section(runs, store, figures / "gates.png"), "",
        "### Training throughput", "",
        "Median over seeds of training steps per second (training loop only, evaluation excluded), of model-steps "
        "per second (steps/s times the runs packed into one model; equal to steps/s for single runs) and of wall "
        "time per run (data, training, evaluation; for a packed run, its whole pack's). `training` says how the runs "
        "were trained: alone, or packed with other seeds (stacked or block-diagonal, see benchmarks/README.md).", "",
        markdown_table(speed_md.rename(columns={"seq_len": "L", "steps_per_s": "steps/s", "model_steps_per_s": "model-steps/s",
                                                "wall_time_s": "s per run"})), "",
        f"![throughput]({rel('throughput.png')})", "",
    ]
    return out


def build_report(root, threshold: float | None = None) -> Path:
    """Write report.md, figures/ and tables/ for the results folder `root`; returns report.md's path."""
    store = ResultsStore(root)
    runs, curves = store.write_tables()
    lines = ["# memorybench report", "",
             f"Rebuilt from the {len(runs)} runs stored in this folder by `python -m memorybench.report`. "
             "Tables for pandas: `tables/runs.csv` (one row per run), `tables/curves.csv` (one row per evaluation), "
             "and a summary CSV per table below.", ""]
    if runs.empty:
        lines.append("No runs stored yet.")
    else:
        runs["experiment"] = [experiment_label(row) for row in runs.to_dict("records")]
        for label, group in sorted(runs.groupby("experiment"), key=lambda item: -len(item[1])):
            slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
            lines += _experiment_section(label, group, curves, store, slug, threshold)
        failed = runs[runs["status"] != "ok"]
        lines += ["## Failed runs", ""]
        lines += [markdown_table(failed[["experiment", "cell", "seq_len", "seed", "error"]])] if len(failed) else ["None."]
        lines += [""]
    lines += _benchmark_section(store)
    lines += _provenance(store, runs)
    write_text_atomic(store.root / "report.md", "\n".join(lines) + "\n")
    return store.root / "report.md"


def _benchmark_section(store: ResultsStore) -> list[str]:
    """The cell benchmarks found in `benchmarks/*.json` (from benchmarks/test_cell_speed.py), if any."""
    rows = load_benchmarks(store.root / "benchmarks")
    if rows.empty:
        return []
    write_atomic(store.tables_dir / "cell_benchmarks.csv", lambda tmp: rows.to_csv(tmp, index=False))
    figures = store.root / "figures"
    figures.mkdir(exist_ok=True)
    plot_cell_benchmarks(rows, figures / "cell_benchmarks.png", batch_size=8)
    speed = speedup_table(rows)
    at8 = rows[rows["batch_size"] == 8].sort_values(["device", "mode", "cell", "execution", "seq_len"])
    table = pd.DataFrame({
        "device": at8["device"], "mode": at8["mode"], "cell": at8["cell"].map(CELL_LABELS), "execution": at8["execution"],
        "L": at8["seq_len"], "median µs": at8["median_us"].round(1), "µs per step": at8["us_per_step"].round(2),
        "sequences/s": at8["sequences_per_s"].round(0).astype(int)})
    threads = ", ".join(sorted({str(t) for t in rows["threads"]}))
    return ["## Cell benchmarks", "",
            f"The recurrent layer alone (input and hidden 32), timed by pytest-benchmark (median of its rounds; "
            f"CPU with {threads} torch thread(s), CPU {rows['cpu'].iloc[0]}). Batch 8 below; every batch size in "
            "`tables/cell_benchmarks.csv`.", "", f"![cell benchmarks](figures/cell_benchmarks.png)", "",
            markdown_table(table), "",
            f"Fused over transparent, same run, side by side: median {speed['fused_speedup'].median():.1f}x "
            f"(range {speed['fused_speedup'].min():.1f}x to {speed['fused_speedup'].max():.1f}x over all cases).", ""]


def _provenance(store: ResultsStore, runs: pd.DataFrame) -> list[str]:
    lines = ["## Provenance", "", f"This report was built by memorybench commit {git_commit()}. "
             "Each sweep invoked on this folder (from `store.json`):", ""]
    rows = [[s.get("date", ""), f"`{s.get('command', '')}`", short_commit(s.get("commit", "")),
             s.get("torch", ""), s.get("cuda_device") or s.get("cpu", ""), s.get("workers", ""),
             f"{s.get('runs_trained', '')} trained, {s.get('runs_skipped', '')} skipped", f"{s.get('wall_time_s', 0):.0f}"]
            for s in store.sweeps()]
    lines.append(markdown_table(pd.DataFrame(rows, columns=["date (UTC)", "command", "commit", "torch", "device", "workers", "runs", "wall s"])) if rows else "None recorded.")
    if not runs.empty:
        lines += ["", "Runs by the commit and torch version that trained them: "
                  + "; ".join(f"{short_commit(c)} / torch {t} / {d}: {n}"
                              for (c, t, d), n in runs.groupby(["commit", "torch", "device"]).size().items()) + "."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memorybench.report", description="Rebuild report.md, figures and tables of a results folder from its stored runs.")
    parser.add_argument("folder", help="a results folder written by run_all.py / memorybench")
    parser.add_argument("--threshold", type=float, default=None, help="accuracy that defines the memory horizon (default: halfway from chance to 1)")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if not ResultsStore(folder).meta_path.is_file():
        print(f"memorybench.report: error: {folder} is not a memorybench results folder (no store.json)", file=sys.stderr)
        return 2
    try:
        ResultsStore.open(folder)
    except StoreError as exc:
        print(f"memorybench.report: error: {exc}", file=sys.stderr)
        return 2
    print(build_report(folder, args.threshold))
    return 0


if __name__ == "__main__":
    sys.exit(main())
