"""The state-tracking and recall tasks of issue 25 through the commands: a --quick sweep of each writes
its report, the horizon search plans each, and each task's grid and protocol fit its spec."""

import pytest

from memorybench.config import PROTOCOLS, protocol_config
from memorybench.tasks import get_task

NEW_TASKS = ("parity", "selective_copying", "associative_recall", "flip_flop")


@pytest.mark.parametrize("task", NEW_TASKS)
def test_a_quick_sweep_writes_a_report(task, tmp_path):
    from memorybench.cli.run import main

    out = tmp_path / task
    length = get_task(task).min_seq_len
    assert (
        main(
            [
                "--task",
                task,
                "--cells",
                "srn",
                "--seeds",
                "1",
                "--lengths",
                str(length),
                "--quick",
                "--no-progress",
                "--device",
                "cpu",
                "--workers",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = (out / "report.md").read_text()
    spec = get_task(task)
    assert f"## Experiment: {task}, steps=200, eval_interval=50" in report and "1 runs: 1 ok, 0 failed" in report
    assert f"memoryless baseline ({spec.baseline_note}) is **" in report and "### Memory horizon" in report


@pytest.mark.parametrize("task", NEW_TASKS)
def test_the_horizon_search_plans_each_task(task, tmp_path, capsys):
    from memorybench.cli.horizon import main

    assert main(["--task", task, "--cells", "gru", "--dry-run", "--out", str(tmp_path / "h")]) == 0
    out = capsys.readouterr().out
    grid = get_task(task).grid
    assert f"task {task} (" in out and f"start {max(grid.lengths)}, x2, cap {8 * max(grid.lengths)}" in out
    assert not (tmp_path / "h").exists()


@pytest.mark.parametrize("task", NEW_TASKS)
def test_grid_and_protocol_fit_the_spec(task):
    spec = get_task(task)
    grid = spec.grid
    assert grid.protocols == (task,) and PROTOCOLS[task]["task"] == task and grid.out == f"results/{task}"
    assert min(grid.lengths + grid.literature) >= spec.min_seq_len
    config = protocol_config(task, cell="lstm", seq_len=grid.lengths[0])
    assert (config.steps, config.batch_size, config.init, config.lr) == (5000, 32, "torch", 1e-3)
    for length in (
        *grid.lengths,
        *grid.literature,
        8 * max(grid.lengths),
    ):  # every length the command trains or probes by default
        spec.make_data(length, 0, eval_size=2)
