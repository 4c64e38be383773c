"""Bad input and failures across the commands (issue 42, cases 4-9): one line, the right exit status (2 for bad
input, 1 for a failure, 130 for Ctrl-C), no traceback, and nothing already on disk lost. In-process through
`main(argv)`, except where the terminal's encoding is the point."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from memorybench.cli.main import main
from tests.report.test_plugins_needed import forget

ROOT = Path(__file__).resolve().parents[2]
QUICK = ["--lengths", "5", "--seeds", "1", "--steps", "20", "--workers", "1", "--device", "cpu", "--no-progress"]


def snapshot(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".lock")
    }


def one_error_line(capsys, *parts) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and all(part in err for part in parts), err
    return err


def test_a_sweep_whose_every_run_failed_exits_1_and_says_why(tmp_path, capsys):
    plugin = tmp_path / "broken_cell.py"
    plugin.write_text(
        "from dataclasses import replace\nfrom memorybench.cells import get_cell, register_cell\n\n"
        "def step(*args):\n    raise RuntimeError('this cell cannot step')\n\n"
        "register_cell(replace(get_cell('srn'), name='broken', fused=None, step=step))\n"
    )
    try:
        assert main(["run", "--plugin", str(plugin), "--cells", "broken", *QUICK, "--out", str(tmp_path / "out")]) == 1
    finally:
        forget(str(plugin))
    err = capsys.readouterr().err
    assert (
        "error: every run trained failed (1 of 1; first: broken L=5 seed 0: RuntimeError: this cell cannot step" in err
    )
    assert "RuntimeError: this cell cannot step" in (tmp_path / "out" / "report.md").read_text()  # stored, and reported


@pytest.mark.slow
@pytest.mark.parametrize("blocked", ["report.md", "tables/runs.csv"])
def test_an_unwritable_report_or_table_is_one_line_and_keeps_the_runs(quick_copy, blocked, capsys):
    target = quick_copy.root / blocked
    target.unlink(missing_ok=True)
    target.mkdir(parents=True)  # a folder where the file goes: unwritable, whoever runs the tests (root included)
    runs = snapshot(quick_copy.runs_dir)
    assert main(["report", str(quick_copy.root)]) == 1
    one_error_line(capsys, f"memorybench report: error: {target}: Is a directory", "nothing stored was lost")
    assert snapshot(quick_copy.runs_dir) == runs


def test_suite_refuses_an_out_that_is_a_file_and_a_folder_given_twice(quick_store, tmp_path, capsys):
    (tmp_path / "a_file").write_text("mine")
    assert main(["suite", str(quick_store.root), "--out", str(tmp_path / "a_file")]) == 2
    one_error_line(capsys, "--out", "a_file is a file; give a folder")
    assert main(["suite", str(quick_store.root), f"{quick_store.root}/", "--out", str(tmp_path / "s")]) == 2
    one_error_line(capsys, "is given twice (as ", "name each folder once")
    assert (tmp_path / "a_file").read_text() == "mine" and not (tmp_path / "s").exists()


def test_ctrl_c_in_any_command_is_one_line_and_130(quick_copy, monkeypatch, capsys):
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr("memorybench.storage.store.ResultsStore.compact", interrupted)
    assert main(["store", "compact", str(quick_copy.root)]) == 130
    one_error_line(capsys, "memorybench store compact: interrupted; every file is written whole")


def test_help_on_an_ascii_terminal_prints_without_a_traceback():
    env = {"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    for args in (["--help"], ["run", "--help"], ["diagnose", "through-time", "--help"], ["suite", "--help"]):
        done = subprocess.run(
            [sys.executable, "-m", "memorybench", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr and "usage:" in done.stdout, done.stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["horizon", "--seeds", "100000"],
            "this search may train 2,100,000 runs (more than 10,000); pass --yes to run it",
        ),
        (["horizon", "--max-length", "100000"], "--max-length 100000 is longer than 10,000 steps; pass --yes"),
        (
            ["explosion", "--seeds", "100000"],
            "this experiment plans 600,000 runs (more than 10,000); pass --yes to run it",
        ),
        (["horizon", "--start", "30", "--max-length", "10"], "--start 30 is above the cap 10 (--max-length)"),
        (["run", "--match-params"], "unrecognized arguments: --match-params"),  # removed in 0.3.0: --match params
        (["run", "--task", "adding", "--data-dir", "somewhere"], "--data-dir somewhere is not read by task adding"),
        (["run", "--task", "stream"], "stream is a protocol of task nndl: --task nndl --protocol stream"),
        (["horizon", "--task", "mine"], "invalid choice: 'mine' (choose from 'nndl', "),
        (["horizon", "--task", "mine"], "; a plugin's task needs its --plugin"),
        (["horizon", "--cells", "mine"], "invalid choice: 'mine' (choose from 'srn', "),
        (["horizon", "--cells", "mine"], "; a plugin's cell needs its --plugin)"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    one_error_line(capsys, message)
    assert not out.exists()


def test_an_out_that_is_a_dangling_link_is_named(tmp_path, capsys):
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    assert main(["run", "--cells", "srn", *QUICK, "--out", str(tmp_path / "link")]) == 2
    one_error_line(capsys, f"{tmp_path / 'link'} is a link to {tmp_path / 'gone'}, which does not exist")
    assert not (tmp_path / "gone").exists()


def test_one_threshold_for_experiments_of_two_metrics_is_refused(quick_copy, capsys):
    from memorybench.config import protocol_config
    from memorybench.result import RunResult

    adding = protocol_config("adding", cell="srn", seq_len=5, steps=20, device="cpu")
    quick_copy.place(adding, RunResult("ok", test_score=0.1, best_dev_score=0.1, metric="mse"), None)
    before = snapshot(quick_copy.root)
    assert main(["report", "--threshold", "0.5", str(quick_copy.root)]) == 2
    one_error_line(capsys, "--threshold 0.5 would apply to accuracy and mse alike")
    assert snapshot(quick_copy.root) == before


@pytest.mark.parametrize(
    "source, message",
    [
        ("import sys\nsys.exit(3)\n", "called sys.exit(3) while importing; a plugin only registers"),
        (
            "from dataclasses import replace\nfrom memorybench.cells import get_cell, register_cell\nregister_cell(replace(get_cell('srn'), name='gru'))\n",
            "failed while importing: cell 'gru' is already registered",
        ),
    ],
)
def test_a_plugin_that_exits_or_clashes_is_named_in_one_line(tmp_path, capsys, source, message):
    plugin = tmp_path / "plugin.py"
    plugin.write_text(source)
    assert main(["list", "cells", "--plugin", str(plugin)]) == 2
    one_error_line(capsys, f"--plugin {plugin}", message)


def test_a_plugin_folder_and_docs_outside_a_checkout_are_named(tmp_path, capsys, monkeypatch):
    assert main(["list", "cells", "--plugin", str(tmp_path)]) == 2
    one_error_line(capsys, f"--plugin {tmp_path} is a folder (allowed: a .py file, or an importable module's name)")
    monkeypatch.chdir(tmp_path)
    assert main(["docs", "--check"]) == 2
    one_error_line(
        capsys,
        "memorybench docs: error: docs: no such page or folder (run it in a memorybench checkout, or name the pages)",
    )


def test_the_command_recorded_is_the_command_as_typed(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--cells", "srn", *QUICK, "--out", str(out)]) == 0
    typed = f"memorybench run --cells srn {' '.join(QUICK)} --out {out}"
    assert json.loads((out / "store.json").read_text())["sweeps"][0]["command"] == typed
    (run,) = (out / "runs").iterdir()
    assert json.loads((run / "run.json").read_text())["environment"]["command"] == typed


@pytest.mark.slow
def test_ctrl_c_in_a_search_on_a_pool_leaves_no_leaked_semaphore_warning(tmp_path):
    import signal
    import time

    command = [
        sys.executable,
        "-m",
        "memorybench",
        "horizon",
        "--task",
        "nndl",
        "--cells",
        "srn",
        "gru",
        "--seeds",
        "2",
        "--steps",
        "3000",
        "--max-length",
        "40",
        "--workers",
        "2",
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        str(tmp_path / "out"),
    ]
    search = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    for line in search.stdout:  # the plan is printed: the pool is about to start
        if line.startswith("at most "):
            break
    time.sleep(4)  # the workers are training
    search.send_signal(signal.SIGINT)
    _, err = search.communicate(timeout=120)
    assert search.returncode == 130
    assert (
        err.strip()
        == "memorybench horizon: interrupted: every finished probe is stored; run the same command again to resume"
    ), err


def test_a_gpu_asked_for_where_there_is_none_names_what_this_command_allows(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert main(["explosion", "--device", "cuda", "--out", str(tmp_path / "out")]) == 2
    one_error_line(capsys, "this machine has no CUDA GPU (use cpu)")
    assert not (tmp_path / "out").exists()
