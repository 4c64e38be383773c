"""Every (task, cell) pair the suite offers, through one --quick sweep each task: all train, and every run a
layout refuses to pack says why in one line."""

import re

import pytest

from memorybench.cells import cells_in, get_cell
from memorybench.cli.run import main
from memorybench.storage.store import ResultsStore
from memorybench.sweep.catalogue import offered_tasks

DATA_FREE = [name for name, spec in offered_tasks().items() if not spec.grid.reads_files]  # MNIST needs --data-dir


@pytest.mark.slow
@pytest.mark.parametrize("task", DATA_FREE)
def test_every_cell_trains_on_every_task_and_each_refusal_says_why(task, tmp_path, capsys):
    grid = offered_tasks()[task].grid
    out = tmp_path / task
    assert (
        main(
            [
                "--task",
                task,
                "--cells",
                "all",
                "--quick",
                "--seeds",
                "2",
                "--pack",
                "2",
                "--lengths",
                str(min(grid.lengths)),
                "--device",
                "cpu",
                "--workers",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    runs = ResultsStore(out).collect()[0]
    assert sorted(set(runs["cell"])) == sorted(cells_in("classic", "modern")) and (runs["status"] == "ok").all()
    for cell in cells_in("modern"):  # outside torch's layout: the stacked layout refuses them, each run saying why
        lines = [line for line in printed.splitlines() if re.match(rf"\s*{cell} L=", line)]
        reason = (
            "constrains its weights after every optimizer step, which is not applied"
            if get_cell(cell).constrain
            else "does not have torch's weight layout"
        )
        assert len(lines) == 2 and all(
            f"(trained alone: cell '{cell}' {reason} by the stacked layout)" in line for line in lines
        )
