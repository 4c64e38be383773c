import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from memorybench.cli.run import main, make_parser, parse_sweep, resolve_task

ROOT = Path(__file__).resolve().parents[2]
QUICK = ["--quick", "--no-progress", "--device", "cpu", "--workers", "1"]


def run_cli(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, str(ROOT / "run_all.py"), *args], capture_output=True, text=True, env=env, **kwargs
    )


def test_defaults_are_the_books_sweep():
    args = parse_sweep([], "memorybench run")  # the defaults resolved against the registries
    assert (args.task, args.lengths, args.task_params) == ("nndl", [5, 10, 15, 20, 25, 30], {})
    assert (args.cells, args.seeds, args.protocol, args.device, args.out) == (
        ["srn", "lstm", "gru"],
        3,
        "nndl",
        "auto",
        "results",
    )


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--task", "adding"], ("adding", [25, 50, 100], "results/adding")),
        (["--task", "copy", "--grid", "literature"], ("copy", [100, 200, 500, 1000], "results/copy")),
        (["--task", "nndl", "--protocol", "stream", "--lengths", "7"], ("stream", [7], "results")),
        (["--task", "digits_pixels", "--out", "x"], ("digits_pixels", [64], "x")),
    ],
)
def test_each_task_brings_its_protocol_lengths_and_folder(argv, expected):
    args = make_parser().parse_args(argv)
    resolve_task(args)
    assert (args.protocol, args.lengths, args.out) == expected


def test_every_flag_has_help():
    for action in make_parser()._actions:
        assert action.help, action.dest


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cells", "tcn"], "argument --cells: invalid choice: 'tcn'"),
        (["--lengths", "2"], "length 2 is too small for task nndl (allowed: integers >= 3)"),
        (
            ["--task", "delayed_recall", "--lengths", "64"],
            "length 64 is too small for task delayed_recall (allowed: integers >= 65)",
        ),
        (["--task", "tcn"], "argument --task: invalid choice: 'tcn'"),
        (
            ["--task", "adding", "--protocol", "nndl"],
            "--protocol nndl does not train task adding (task nndl); adding has adding",
        ),
        (
            ["--task", "adding", "--task-param", "markers=middle"],
            "markers='middle' is not allowed; choose one of halves, anywhere",
        ),
        (
            ["--task", "adding", "--task-param", "colour=3"],
            "--task-param colour is not a parameter of task adding (allowed: ",
        ),
        (
            ["--task-param", "foo=1"],
            "--task-param foo is not a parameter of task nndl (allowed: train_copies, eval_copies)",
        ),
        (
            ["--protocol", "stream", "--task-param", "p=0.1", "--task-param", "p=0.2"],
            "--task-param p is given twice (0.1 and 0.2)",
        ),
        (["--task", "mnist_rows"], "--task mnist_rows needs --data-dir DIR"),
        (
            ["--forget-bias", "1", "--cells", "srn"],
            "--forget-bias sets the LSTM's forget gate, and --cells srn has no LSTM",
        ),
        (["--lengths", "0"], "length 0 is too small for task nndl (allowed: integers >= 3)"),
        (["--lengths", "-4"], "length -4 is too small for task nndl (allowed: integers >= 3)"),
        (["--quick", "--steps", "5"], "--quick (200 steps) and --steps 5 contradict each other"),
        (["--steps", "0"], "step count 0 is too small (allowed: integers >= 1)"),
        (["--reuse", ""], "argument --reuse: '' is empty (allowed: a folder's path)"),
        (["--data-dir", " ", "--task", "mnist_rows"], "argument --data-dir: ' ' is empty"),
        (["--task", "adding", "--task-param", "markers"], "--task-param 'markers' is not NAME=VALUE"),
        (["--task", "copy", "--task-param", "alphabet=1"], "alphabet=1 is not allowed"),
        (["--task", "delayed_recall", "--task-param", "scale=0"], "scale=0 is not allowed"),
        (["--task", "mnist_rows", "--data-dir", "/nonexistent/mnist"], "/nonexistent/mnist"),
        (["--lengths", "5", "x"], "length 'x' is not an integer"),
        (["--lengths", "7.5"], "length '7.5' is not an integer"),
        (["--seeds", "0"], "seed count 0 is too small (allowed: integers >= 1)"),
        (["--workers", "0"], "worker count 0 is too small"),
        (["--protocol", "book"], "invalid choice: 'book'"),
        (["--colour"], "unrecognized arguments: --colour"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, capsys):
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("memorybench: error:")
    assert not (tmp_path / "out").exists()


def test_cuda_without_a_gpu(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["--device", "cuda", "--out", str(tmp_path / "out")]) == 2
    assert "device='cuda' is not available" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_out_that_is_a_file_or_foreign_is_refused_untouched(tmp_path, capsys):
    target = tmp_path / "results.csv"
    target.write_text("precious")
    assert main(["--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err and target.read_text() == "precious"
    old = tmp_path / "old"
    old.mkdir()
    (old / "store.json").write_text(json.dumps({"format": 0, "sweeps": []}))
    assert main(["--out", str(old)]) == 2
    assert "format 0" in capsys.readouterr().err and sorted(p.name for p in old.iterdir()) == ["store.json"]


def test_unwritable_out(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("os.access", lambda *a: False)
    assert main(["--out", str(tmp_path / "out")]) == 2
    assert "not writable" in capsys.readouterr().err


def test_a_real_process_prints_no_traceback():
    done = run_cli("--lengths", "1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        == "memorybench: error: argument --lengths: length 1 is too small for task nndl (allowed: integers >= 3)"
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sweep_then_a_no_op_rerun_changes_no_byte(tmp_path):
    out = tmp_path / "results"
    args = ["--lengths", "5", "--cells", "srn", "lstm", "--seeds", "2", "--out", str(out), *QUICK]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert (
        "plan: 4 runs to train (0 already complete) in 3 jobs" in first.stdout
        and "4 runs trained, 0 already complete" in first.stdout
    )
    runs = pd.read_csv(out / "tables" / "runs.csv").set_index("cell")  # the CPU default: SRN seeds stacked, LSTM alone
    assert runs.loc["srn", "pack_size"].tolist() == [2, 2] and runs.loc["srn", "packing"].tolist() == ["stacked"] * 2
    assert runs.loc["lstm", "pack_size"].tolist() == [1, 1]
    before = snapshot(out)
    second = run_cli(*args)
    assert second.returncode == 0 and "nothing to train: all 4 runs are complete" in second.stdout
    assert snapshot(out) == before  # no provenance row, no report rewrite, no lock left behind
    sweeps = json.loads((out / "store.json").read_text())["sweeps"]
    assert [s["runs_trained"] for s in sweeps] == [4] and all(s["commit"] and s["torch"] for s in sweeps)


@pytest.mark.slow
def test_the_plan_estimates_time_from_the_runs_stored_here(tmp_path):
    out = tmp_path / "results"
    assert run_cli("--lengths", "5", "--cells", "lstm", "--seeds", "1", "--out", str(out), *QUICK).returncode == 0
    more = run_cli("--lengths", "5", "--cells", "lstm", "--seeds", "3", "--out", str(out), *QUICK)
    assert more.returncode == 0 and re.search(
        r"plan: 2 runs to train \(1 already complete\) in 2 jobs on 1 worker\(s\); about \d+ s,", more.stdout
    )
    fresh = run_cli("--lengths", "6", "--cells", "lstm", "--seeds", "1", "--out", str(tmp_path / "other"), *QUICK)
    assert "no estimate (no run stored in this folder has the same cell, length, budget and pack size)" in fresh.stdout


def test_duplicate_cells_and_lengths_are_trained_once_with_a_note(tmp_path):
    out = tmp_path / "results"
    done = run_cli("--lengths", "5", "5", "--cells", "srn", "srn", "--seeds", "1", "--out", str(out), *QUICK)
    assert done.returncode == 0 and "1 runs trained" in done.stdout
    assert (
        "note: --cells srn given more than once" in done.stderr
        and "note: --lengths 5 given more than once" in done.stderr
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--seeds", "100000", "--cells", "srn", "--lengths", "5"],
            "this sweep plans 100,000 runs (more than 10,000); pass --yes",
        ),
        (
            ["--lengths", "100000", "--cells", "srn", "--seeds", "1"],
            "--lengths 100000 is longer than 10,000 steps; pass --yes",
        ),
    ],
)
def test_a_plan_beyond_the_sane_bounds_asks_for_yes_and_touches_nothing(args, message, tmp_path, capsys):
    assert main([*args, "--out", str(tmp_path / "out"), "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "out").exists()


def test_an_unrelated_folder_is_refused_untouched(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "report.md").write_text("my own report")
    assert main(["--out", str(folder), "--quick"]) == 2
    assert "is not empty and was not made by memorybench" in capsys.readouterr().err
    assert snapshot(folder) == {"report.md": b"my own report"}


@pytest.mark.slow
def test_kill_9_mid_sweep_loses_no_completed_run_and_the_resumed_sweep_gives_the_same_bits(tmp_path):
    """The default packing (packs span lengths; no --pack), killed with SIGKILL and resumed: every run's curves and
    scores are byte for byte an uninterrupted sweep's, whatever packs the resumed sweep forms from what is left."""
    out = tmp_path / "results"
    args = ["--lengths", "5", "8", "--cells", "srn", "lstm", "gru", "--seeds", "2", "--out", str(out), *QUICK]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run_all.py"), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    runs = out / "runs"
    deadline = time.time() + 120
    while time.time() < deadline and len([p for p in runs.glob("[!.]*")] if runs.exists() else []) < 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    survived = {p.name: (p / "run.json").read_text() for p in runs.glob("[!.]*")}
    assert 2 <= len(survived) < 12 and all(survived.values())
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{12 - len(survived)} runs trained, {len(survived)} already complete" in resumed.stdout
    assert all((runs / name / "run.json").read_text() == text for name, text in survived.items())
    assert not list(runs.glob(".*"))
    uninterrupted = tmp_path / "clean"
    assert run_cli(*[a if a != str(out) else str(uninterrupted) for a in args]).returncode == 0
    scores = ("test_score", "test_loss", "best_dev_score", "best_step", "steps_done", "status")
    names = sorted(p.name for p in (uninterrupted / "runs").iterdir())
    assert sorted(p.name for p in runs.iterdir()) == names and len(names) == 12
    for name in names:
        mine, clean = (json.loads((folder / "runs" / name / "run.json").read_text()) for folder in (out, uninterrupted))
        assert json.dumps(mine["curves"]) == json.dumps(clean["curves"]) and mine["config"] == clean["config"], name
        assert [mine["result"][k] for k in scores] == [clean["result"][k] for k in scores], name


def test_a_pack_larger_than_the_seeds_spans_lengths(tmp_path):
    out = tmp_path / "results"
    assert (
        main(["--lengths", "5", "6", "--cells", "srn", "--seeds", "2", "--pack", "4", "--out", str(out), *QUICK]) == 0
    )
    runs = pd.read_csv(out / "tables" / "runs.csv")
    assert runs["pack_size"].tolist() == [4] * 4 and sorted(runs["seq_len"].tolist()) == [5, 5, 6, 6]


def test_help_answers_without_importing_torch():
    code = "import sys; from memorybench.cli.run import main; main(['--help'])"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0 and "--lengths L" in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "memorybench.cli.run" in imported and not {"torch", "pandas", "numpy", "matplotlib"} & imported


def test_the_ray_executor_without_ray_is_one_line_and_touches_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed: `import ray` raises ImportError
    assert main(["--executor", "ray", "--out", str(tmp_path / "out"), "--quick"]) == 2
    err = capsys.readouterr().err
    assert err == 'memorybench: error: --executor ray needs Ray, which is not installed: pip install -e ".[ray]"\n'
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("out", ["", "   "])
def test_an_empty_out_is_refused_and_the_default_folder_untouched(out, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # where the default folder, results/, would be written
    assert main(["--out", out, *QUICK]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"argument --out: {out!r} is empty (allowed: a folder's path)" in err
    assert list(tmp_path.iterdir()) == []


TINY = ["--lengths", "5", "--cells", "srn", "--seeds", "1", "--no-progress", "--device", "cpu", "--workers", "1"]


def test_steps_sets_the_budget_and_the_report_names_it(tmp_path):
    out = tmp_path / "out"
    assert main([*TINY, "--steps", "30", "--out", str(out)]) == 0
    runs = pd.read_csv(out / "tables" / "runs.csv")
    assert runs["steps"].tolist() == [30] and runs["steps_done"].tolist() == [30]
    assert "## Experiment: nndl, steps=30" in (out / "report.md").read_text()


def test_a_reuse_folder_without_the_plans_runs_says_what_it_holds(quick_store, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "--task",
                "adding",
                "--lengths",
                "25",
                "--cells",
                "srn",
                "--seeds",
                "1",
                "--steps",
                "20",
                "--no-progress",
                "--device",
                "cpu",
                "--workers",
                "1",
                "--reuse",
                str(quick_store.root),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "reused 0 runs" in captured.out
    assert f"{quick_store.root} holds none of this plan's runs (runs of protocol nndl at lengths 5, 10)" in captured.err


def test_ctrl_c_while_the_report_is_written_says_the_runs_are_stored(tmp_path, monkeypatch, capsys):
    def interrupted_report(root):
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, caught by the command's handler
        time.sleep(10)

    monkeypatch.setattr("memorybench.report.build.build_report", interrupted_report)
    out = tmp_path / "out"
    assert main([*TINY, "--steps", "20", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"interrupted while writing the report; every run is stored in {out} (1 trained now)" in err
    assert f"memorybench report {out}" in err
    assert len(list((out / "runs").iterdir())) == 1


def test_a_full_disk_mid_sweep_is_one_line_and_keeps_the_stored_runs(tmp_path, monkeypatch, capsys):
    import errno

    from memorybench.storage import store as store_module

    real, calls = store_module.save_run, []

    def save_run_until_full(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(store_module, "save_run", save_run_until_full)
    out = tmp_path / "out"
    args = [
        "--lengths",
        "5",
        "--cells",
        "srn",
        "--seeds",
        "2",
        "--pack",
        "1",
        "--steps",
        "20",
        "--no-progress",
        "--device",
        "cpu",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"writing to {out} failed (No space left on device); the runs stored before it are kept" in err
    monkeypatch.setattr(store_module, "save_run", real)
    assert main(args) == 0  # the rerun trains the one run that was not stored
    assert "1 runs trained, 1 already complete" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize(
    "args", [["--out", ""], ["--forget-bias", "1", "--cells", "srn"], ["--task-param", "foo=1"], ["--lengths", "0"]]
)
def test_odd_input_in_a_real_process_touches_no_byte(args, tmp_path):
    """As a new user would see it: one line, exit 2, and the folder it runs in (where results/ would be) unchanged."""
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "report.md").write_text("precious")
    done = run_cli(*args, "--quick", "--no-progress", cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and done.stderr.startswith("memorybench: error:")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["report.md", "results"]
    assert (tmp_path / "results" / "report.md").read_text() == "precious"
