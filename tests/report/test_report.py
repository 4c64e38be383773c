import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from memorybench.cli.report import main
from memorybench.report.build import build_report, experiment_label, markdown_table
from tests.conftest import train_into
from tests.runfiles import edit_run

ROOT = Path(__file__).resolve().parents[2]
SLUG = "nndl-steps-200-eval-interval-50"


def test_report_from_a_quick_sweep(quick_copy):
    text = build_report(quick_copy.root).read_text()
    for heading in (
        "## Experiment: nndl, steps=200, eval_interval=50",
        "### Test accuracy against length",
        "### Memory horizon",
        "### Training curves",
        "### Gate heatmaps",
        "### Training throughput",
        "## Failed runs",
        "## Provenance",
    ):
        assert heading in text
    assert (
        "memoryless baseline (always answering the most common sum) is **0.1**" in text
        and "at or above **0.55**" in text
    )
    assert "| L | SRN | LSTM | GRU |" in text and "(n=2)" in text and "(seed " in text
    assert "at L=10 on the task's example sequence `[6, 7, 0, 0, 1, 0, 0, 0, 0, 0]`" in text
    for name in ("score_vs_length", "curves", "gates", "throughput"):
        figure = quick_copy.root / "figures" / SLUG / f"{name}.png"
        assert figure.stat().st_size > 10_000 and f"figures/{SLUG}/{name}.png" in text
    accuracy = pd.read_csv(quick_copy.tables_dir / f"scores_{SLUG}.csv")
    assert set(accuracy["metric"]) == {"accuracy"} and set(accuracy["baseline"]) == {0.1}
    runs = pd.read_csv(quick_copy.tables_dir / "runs.csv")
    expected = runs.groupby(["cell", "seq_len"])["test_score"].mean()
    for row in accuracy.itertuples():
        assert abs(row.mean - expected[(row.cell, row.seq_len)]) < 1e-12


@pytest.mark.slow
def test_report_is_rebuilt_from_stored_files_alone(quick_copy):
    first = build_report(quick_copy.root).read_text()
    (
        shutil.rmtree(quick_copy.root / "figures"),
        shutil.rmtree(quick_copy.tables_dir),
        (quick_copy.root / "report.md").unlink(),
    )
    done = subprocess.run(
        [sys.executable, "-m", "memorybench", "report", str(quick_copy.root)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert (quick_copy.root / "report.md").read_text() == first
    assert (quick_copy.root / "figures" / SLUG / "gates.png").exists()


def test_threshold_changes_the_horizon(quick_copy):
    def srn_horizon(threshold):
        text = build_report(quick_copy.root, threshold=threshold).read_text()
        assert f"at or above **{threshold}**" in text
        section = text.split("### Memory horizon")[1].split("###")[0]
        return [line.split("|")[2:4] for line in section.splitlines() if line.startswith("| SRN |")]

    # the quick sweep trained L = 5 and 10: both pass 0.05 (SRN's horizon 10; every seed solves at 10: L50 beyond it),
    # neither passes 0.99 (no seed solves at 5: L50 below it)
    assert srn_horizon(0.05) == [[" L50 ≥ 10 ", " 10 "]] and srn_horizon(0.99) == [[" L50 < 5 ", " – "]]


def test_failed_runs_are_listed(quick_copy):
    from memorybench.config import protocol_config

    bad = protocol_config(
        "nndl", cell="srn", seq_len=5, steps=200, eval_interval=50, optimizer="sgd", lr=1e38, device="cpu"
    )
    train_into(quick_copy, bad)
    text = build_report(quick_copy.root).read_text()
    assert "FloatingPointError: training loss became nan" in text.split("## Failed runs")[1]
    assert "## Experiment: nndl, optimizer=sgd, lr=1e+38, steps=200, eval_interval=50" in text


def test_gate_heatmaps_without_the_examples_length_trace_a_test_sequence(tmp_path):
    from memorybench.storage.store import ResultsStore
    from memorybench.sweep.plan import plan_sweep, run_sweep

    store = ResultsStore.open(tmp_path)
    run_sweep(store, plan_sweep("nndl", ["lstm"], [5], seeds=1, quick=True, device="cpu"), progress=False)
    text = build_report(store.root).read_text()
    assert "at L=5 on the first test sequence of seed 0" in text and "- LSTM: seed 0" in text


def test_gate_heatmaps_trace_each_cells_best_dev_seed(quick_copy):

    runs = quick_copy.collect()[0]
    at10 = runs[(runs["seq_len"] == 10) & (runs["cell"] == "gru")].set_index("seed")
    worse, better = sorted(at10.index, key=lambda seed: at10.at[seed, "best_dev_score"])
    folder = quick_copy.runs_dir / at10.at[worse, "run_id"]  # make the other seed the best by dev
    edit_run(folder, result={"best_dev_score": at10.at[better, "best_dev_score"] + 0.5})
    text = build_report(quick_copy.root).read_text()
    assert f"- GRU: seed {worse} (best dev accuracy" in text


def test_not_a_results_folder(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "is not a memorybench results folder" in capsys.readouterr().err


def test_labels_and_tables():
    config = dict(
        protocol="stream",
        task="stream",
        task_params={},
        embedding_size=32,
        hidden_size=32,
        init="book",  # a run stored before num_layers
        forget_bias=None,
        optimizer="adam",
        lr=0.001,
        batch_size=8,
        steps=19000,
        eval_interval=100,
        shuffle=False,
        clip="none",
        clip_value=5.0,
        stop_on_perfect_dev=True,
        execution="fused",
    )
    assert experiment_label(config) == "stream"
    assert experiment_label(dict(config, batch_size=32)) == "stream, batch_size=32"
    assert markdown_table(pd.DataFrame({"a": [1], "b": ["x"]})) == "| a | b |\n|---|---|\n| 1 | x |"


def test_cell_benchmarks_section(quick_copy):
    import json

    def entry(cell, execution, median, device="cpu"):
        return {
            "stats": {"median": median, "iqr": median / 10, "rounds": 9},
            "extra_info": dict(
                cell=cell, execution=execution, seq_len=30, batch_size=8, mode="forward", device=device, threads=1
            ),
        }

    (quick_copy.root / "benchmarks").mkdir()
    for name, device, ratio in (("cpu", "cpu", 4), ("cuda", "Test GPU", 20)):
        document = {
            "machine_info": {"cpu": {"brand_raw": "Test CPU"}},
            "benchmarks": [
                entry("lstm", "fused", 0.0003, device),
                entry("lstm", "transparent", 0.0003 * ratio, device),
            ],
        }
        (quick_copy.root / "benchmarks" / f"cells-{name}.json").write_text(json.dumps(document))
    text = build_report(quick_copy.root).read_text()
    section = text.split("## Cell benchmarks")[1]
    assert "| cpu | forward | LSTM | fused | 30 | 300.0 | 10.0 | 26667 |" in section
    assert "cpu median 4.0x" in section and "Test GPU median 20.0x" in section and "Test CPU" in section
    assert (quick_copy.root / "figures" / "cell_benchmarks.png").exists()
    assert len(pd.read_csv(quick_copy.tables_dir / "cell_benchmarks.csv")) == 4


def test_other_json_beside_the_cell_benchmarks_is_ignored(tmp_path):
    from memorybench.report.benchtables import load_benchmarks

    (tmp_path / "training-cpu.json").write_text('{"rows": []}')
    assert load_benchmarks(tmp_path).empty


def test_a_damaged_run_is_listed_as_unreadable_and_the_rest_reported(quick_copy, capsys):
    folder = next(p for p in quick_copy.runs_dir.iterdir())
    (folder / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated")
    assert main([str(quick_copy.root)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"run folder {folder} is damaged (checkpoint.pt does not load" in err
    text = (quick_copy.root / "report.md").read_text()
    assert "## Unreadable run folders" in text and f"runs/{folder.name}" in text and "11 runs stored" in text


@pytest.mark.parametrize(
    "threshold, message",
    [
        ("nan", "must be a finite number"),
        ("1.5", "outside the range of accuracy (0 to 1)"),
        ("-1", "outside the range of accuracy"),
        ("abc", "invalid float value: 'abc'"),
    ],
)
def test_a_bad_threshold_is_one_line_and_writes_nothing(quick_copy, capsys, threshold, message):
    before = sorted(p.name for p in quick_copy.root.iterdir())
    try:
        code = main([str(quick_copy.root), "--threshold", threshold])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "--out" not in err
    assert sorted(p.name for p in quick_copy.root.iterdir()) == before


def test_a_rebuild_deletes_the_experiment_outputs_it_no_longer_writes_and_nothing_else(quick_copy):
    import os

    root = quick_copy.root
    build_report(root)
    old = {
        "tables/scores_gone.csv": "stale",
        "tables/paired_gone.csv": "stale",
        "figures/gone/curves.png": "stale",
        "figures/kept/gates.png": "stale",
        "figures/kept/notes.txt": "a user's",
        "tables/extrapolation.csv": "a diagnostic's",
        "figures/extrapolation/gone.png": "a diagnostic's",
        f"figures/{SLUG}/gates.png": None,
    }  # None: rewritten by the rebuild
    for name, text in old.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is not None:
            path.write_text(text)
        os.utime(path, ns=(1, 1))  # written long ago
    build_report(root)
    gone = sorted(name for name in old if not (root / name).exists())
    assert gone == [
        "figures/gone/curves.png",
        "figures/kept/gates.png",
        "tables/paired_gone.csv",
        "tables/scores_gone.csv",
    ]
    assert (
        not (root / "figures" / "gone").exists() and (root / "figures" / "kept" / "notes.txt").read_text() == "a user's"
    )
    assert (root / "figures" / SLUG / "gates.png").stat().st_mtime_ns > 1 and (
        root / "tables" / f"scores_{SLUG}.csv"
    ).exists()
    assert not list(root.glob(".clock.*"))


def test_a_run_whose_config_has_a_wrong_typed_value_is_listed_as_unreadable_and_the_rest_reported(quick_copy, capsys):
    folder = next(p for p in quick_copy.runs_dir.iterdir())
    edit_run(folder, config={"hidden_size": "32"})
    assert main([str(quick_copy.root)]) == 0
    out, err = capsys.readouterr()
    why = "its config is not a valid run config (hidden_size='32' is not allowed; it must be an integer >= 1)"
    assert err == f"memorybench report: warning: run folder {folder} is damaged ({why}); left out of the report\n"
    assert out.strip() == str(quick_copy.root / "report.md")
    text = (quick_copy.root / "report.md").read_text()
    assert (
        "## Unreadable run folders" in text and f"| runs/{folder.name} | {why} |" in text and "11 runs stored" in text
    )
    runs = pd.read_csv(quick_copy.root / "tables" / "runs.csv")
    assert len(runs) == 11 and folder.name not in set(runs["run_id"])


def test_an_experiment_trained_on_several_kinds_of_machine_says_so(quick_copy):
    assert "kinds of machine" not in build_report(quick_copy.root).read_text()  # one machine trained the quick sweep
    folder = sorted(quick_copy.runs_dir.iterdir())[0]
    edit_run(folder, result={"machine": "Other CPU | AVX2 | torch 2.13.0+cpu | 1 thread"})
    text = build_report(quick_copy.root).read_text()
    assert "Note: these runs were trained on 2 kinds of machine: " in text
    assert (
        "Other CPU | AVX2 | torch 2.13.0+cpu | 1 thread (1 runs)" in text
        and "reproducible bit for bit only on its own kind" in text
    )
