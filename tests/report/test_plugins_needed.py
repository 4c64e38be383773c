"""A folder holding a plugin's runs, touched by commands given without `--plugin` (issue 42, case 1): commands that
read stored numbers go on and name the plugin; commands that build models refuse in one line and change nothing;
nothing derived from the plugin's runs is deleted or rewritten. Both a plugin cell and a plugin task."""

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from memorybench.cells import CELLS
from memorybench.cli.main import main
from memorybench.config import PROTOCOLS
from memorybench.plugins import LOADED, PROVIDES, SOURCES
from memorybench.storage.store import ResultsStore
from memorybench.tasks import TASKS
from tests.test_extending import PLUGIN, TASK_PLUGIN

QUICK = ["--seeds", "2", "--steps", "30", "--workers", "1", "--device", "cpu", "--no-progress"]


def forget(plugin: str) -> None:
    """What a new process without `--plugin` has: none of the plugin's names registered."""
    registries = {"cell": CELLS, "task": TASKS, "protocol": PROTOCOLS}
    for kind, name in PROVIDES.pop(plugin, []):
        registries.get(kind, {}).pop(name, None)
    LOADED.remove(plugin)
    SOURCES.pop(plugin, None)
    sys.modules.pop(f"memorybench_plugin_{Path(plugin).stem}", None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two folders trained with plugins, then the plugins forgotten: a plugin cell beside the GRU on the digit
    sum, and the GRU on a plugin task; both reported while the plugins were loaded."""
    root = tmp_path_factory.mktemp("plugins")
    cells, task = root / "my_cells.py", root / "my_task.py"
    cells.write_text(PLUGIN)
    task.write_text(TASK_PLUGIN)
    assert (
        main(
            [
                "run",
                "--plugin",
                str(cells),
                "--cells",
                "my_indrnn",
                "gru",
                "--lengths",
                "5",
                "6",
                *QUICK,
                "--out",
                str(root / "cell"),
            ]
        )
        == 0
    )
    forget(str(cells))
    assert (
        main(
            [
                "run",
                "--plugin",
                str(task),
                "--task",
                "first_token",
                "--cells",
                "gru",
                "--lengths",
                "4",
                "8",
                *QUICK,
                "--out",
                str(root / "task"),
            ]
        )
        == 0
    )
    forget(str(task))
    return root


@pytest.fixture
def folders(trained, tmp_path):
    for name in ("cell", "task"):
        shutil.copytree(trained / name, tmp_path / name)
    (tmp_path / "my_cells.py").write_text(PLUGIN)
    return tmp_path


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".lock")
    }


def test_the_folder_records_its_plugins_and_the_command_as_typed(trained):
    sweep = ResultsStore(trained / "cell").sweeps()[0]
    assert sweep["command"].startswith("memorybench run --plugin ") and "--cells my_indrnn gru" in sweep["command"]
    (plugin,) = sweep["plugins"]
    assert plugin["path"] == str(trained / "my_cells.py") and plugin["provides"] == {"cell": ["my_indrnn"]}
    assert plugin["sha256"] == hashlib.sha256(PLUGIN.encode()).hexdigest()
    assert ResultsStore(trained / "task").sweeps()[0]["plugins"][0]["provides"] == {
        "task": ["first_token"],
        "protocol": ["first_token"],
    }
    assert "my IndRNN" in (trained / "cell" / "report.md").read_text()  # built while the plugin was there


@pytest.mark.parametrize("folder", ["cell", "task"])
@pytest.mark.parametrize(
    "command",
    [["store", "prune"], ["store", "prune", "--dry-run"], ["diagnose", "through-time"], ["diagnose", "extrapolate"]],
)
def test_a_command_that_builds_models_refuses_naming_the_plugin_and_changes_nothing(folders, folder, command, capsys):
    before = digest(folders / folder)
    assert main([*command, str(folders / folder)]) == 2
    err = capsys.readouterr().err.strip()
    plugin = "my_cells.py" if folder == "cell" else "my_task.py"
    assert len(err.splitlines()) == 1 and "need their plugin, not given: --plugin " in err and plugin in err, err
    assert digest(folders / folder) == before


def test_the_hash_says_whether_the_plugin_file_changed(folders, capsys):
    (folders / "my_cells.py").write_text(PLUGIN + "\n# edited\n")  # the copy's record names the fixture's file
    assert main(["diagnose", "through-time", str(folders / "cell")]) == 2
    assert "(unchanged since)" in capsys.readouterr().err  # the recorded file is the one trained with
    recorded = Path(ResultsStore(folders / "cell").sweeps()[0]["plugins"][0]["path"])
    original = recorded.read_text()
    try:
        recorded.write_text(original + "\n# edited\n")
        assert main(["diagnose", "through-time", str(folders / "cell")]) == 2
        assert "its file has changed since the runs were trained" in capsys.readouterr().err
    finally:
        recorded.write_text(original)


@pytest.mark.parametrize("folder", ["cell", "task"])
def test_report_without_the_plugin_keeps_its_experiments_as_they_were(folders, folder, capsys):
    root = folders / folder
    before = digest(root)
    old_report = (root / "report.md").read_text()
    assert main(["report", str(root)]) == 0
    err = capsys.readouterr().err
    assert "left as they were: runs of " in err and "--plugin " in err
    after = digest(root)
    kept = {
        path: md5
        for path, md5 in before.items()
        if path.startswith(("figures/", "tables/")) and path != "tables/runs.csv"
    }
    assert kept and all(after.get(path) == md5 for path, md5 in kept.items())  # no table or figure deleted or rewritten
    assert [p for p in before if p.startswith("runs/")] == [p for p in after if p.startswith("runs/")]
    report = (root / "report.md").read_text()
    section = old_report[old_report.index("## Experiment: ") : old_report.index("## Failed runs")]
    assert section.strip() in report and "Not rebuilt this time" in report and "Unreadable run folders" not in report
    assert (
        main(["report", "--plugin", str(folders / ".." / "plugins0" / "x.py"), str(root)]) == 2
    )  # a wrong plugin: refused


def test_suite_labels_a_plugin_cell_by_its_name_and_names_the_plugin_of_a_task(folders, capsys):
    out = folders / "suite"
    assert main(["suite", str(folders / "cell"), str(folders / "task"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "task" in err and "left out of the suite: runs of task 'first_token' need their plugin" in err
    header = next(line for line in (out / "suite.md").read_text().splitlines() if line.startswith("| task |"))
    assert header.endswith(
        "| GRU | my_indrnn |"
    )  # the plugin cell's column, by its stored name, after the registered cells


def test_a_plugin_given_again_rebuilds_everything(folders, trained):
    assert main(["report", "--plugin", str(trained / "my_cells.py"), str(folders / "cell")]) == 0
    try:
        report = (folders / "cell" / "report.md").read_text()
        assert "Not rebuilt this time" not in report and "my IndRNN" in report
    finally:
        forget(str(trained / "my_cells.py"))
