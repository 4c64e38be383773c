"""Every (task, cell) pair the suite offers, through one --quick sweep each task: all train, each in its packed
layout (the classic cells stacked, the modern ones mapped), none refused."""

import pytest

from memorybench.cells import cells_in
from memorybench.cli.run import main
from memorybench.storage.store import ResultsStore
from memorybench.sweep.catalogue import offered_tasks

DATA_FREE = [name for name, spec in offered_tasks().items() if not spec.grid.reads_files]  # MNIST needs --data-dir


@pytest.mark.slow
@pytest.mark.parametrize("task", DATA_FREE)
def test_every_cell_trains_on_every_task_each_in_its_packed_layout(task, tmp_path, capsys):
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
    packing = runs.groupby("cell")["packing"].agg(set)
    for cell in cells_in("modern"):  # outside torch's layout: packed through vmap (engine.mapped), none refused
        assert packing[cell] == {"mapped"}, cell
    assert all(packing[cell] == {"stacked"} for cell in cells_in("classic"))
    assert "trained alone" not in printed and not runs["pack_note"].fillna("").any()
