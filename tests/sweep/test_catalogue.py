"""What the commands offer comes from the specs: a registered cell joins the defaults or `--cells all` by its group,
a registered task is offered by `--task` once its spec has a grid; names are checked against the live registries."""

from dataclasses import replace

import pytest

from memorybench.cells import CELLS, get_cell, register_cell
from memorybench.sweep.catalogue import default_cells, offered_task, offered_tasks, resolve_cells
from memorybench.tasks import TASKS, TaskGrid, get_task, register_task


@pytest.fixture
def registered():
    added = []

    def add(registry, register, spec):
        register(spec)
        added.append((registry, spec.name))
        return spec

    yield add
    for registry, name in added:
        registry.pop(name)


def test_a_cells_group_decides_where_it_is_offered(registered):
    registered(CELLS, register_cell, replace(get_cell("srn"), name="new_modern", group="modern"))
    registered(CELLS, register_cell, replace(get_cell("srn"), name="mine", group="plugin"))
    assert default_cells() == ["srn", "lstm", "gru"]
    assert resolve_cells(["all"])[-1] == "new_modern" and "mine" not in resolve_cells(["all"])
    assert resolve_cells(["mine", "all", "srn"])[:2] == ["mine", "srn"]  # each name once, in the order given


def test_an_unknown_cell_names_the_choices():
    with pytest.raises(ValueError, match=r"invalid choice: 'tcn' \(choose from 'srn', .*needs its --plugin\)"):
        resolve_cells(["srn", "tcn"])


def test_a_task_is_offered_once_its_spec_has_a_grid(registered):
    bare = registered(TASKS, register_task, replace(get_task("adding"), name="bare", grid=None))
    with pytest.raises(ValueError, match=r"invalid choice: 'bare'.*; a plugin's task needs its --plugin"):
        offered_task("bare")
    grid = TaskGrid(("adding",), (3,), (9,), "results/gridded", "a copy of adding")
    registered(TASKS, register_task, replace(bare, name="gridded", grid=grid))
    assert offered_task("gridded").grid.out == "results/gridded" and "gridded" in offered_tasks()
    assert "stream" not in offered_tasks()  # trained as --task nndl --protocol stream
    with pytest.raises(ValueError, match=r"stream is a protocol of task nndl: --task nndl --protocol stream$"):
        offered_task("stream")
