import pytest

from memorybench.plugins import LOADED, load_plugin, take_plugins


def test_plugin_options_are_taken_out_wherever_they_stand():
    assert take_plugins(["--plugin", "a.py", "report", "--plugin=b", "DIR"]) == (["report", "DIR"], ["a.py", "b"])


def test_a_plugin_file_is_imported_once(tmp_path, monkeypatch):
    plugin = tmp_path / "counting.py"
    plugin.write_text(
        "import builtins\nbuiltins.memorybench_test_imports = getattr(builtins, 'memorybench_test_imports', 0) + 1\n"
    )
    monkeypatch.setattr("memorybench.plugins.LOADED", [])
    import builtins

    load_plugin(str(plugin))
    load_plugin(str(plugin))
    assert builtins.memorybench_test_imports == 1
    del builtins.memorybench_test_imports


@pytest.mark.parametrize(
    "source, message",
    [
        (None, "no such file"),
        ("raise RuntimeError('bad cell')", "failed while importing: RuntimeError: bad cell"),
    ],
)
def test_a_broken_plugin_is_one_line(source, message, tmp_path):
    plugin = tmp_path / "broken.py"
    if source is not None:
        plugin.write_text(source)
    with pytest.raises(ValueError, match=message):
        load_plugin(str(plugin))
    assert str(plugin) not in LOADED


def test_a_missing_module_is_one_line():
    with pytest.raises(ValueError, match="--plugin no_such_plugin_module: no such module"):
        load_plugin("no_such_plugin_module")


def test_a_file_plugin_travels_as_source_and_loads_where_the_file_does_not_exist(tmp_path):
    # what a Ray task on another machine does with shipped(): the driver's file is not there
    import subprocess
    import sys
    from pathlib import Path

    plugin = tmp_path / "shipped_cell.py"
    plugin.write_text(
        "from dataclasses import replace\nfrom memorybench.cells import get_cell, register_cell\n"
        "register_cell(replace(get_cell('srn'), name='shipped_srn'))\n"
    )
    code = (
        "import json, sys\nfrom memorybench.plugins import load_plugins, shipped\n"
        f"load_plugins([{str(plugin)!r}, 'json'])\nprint(json.dumps(shipped()))"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    plugin.unlink()
    code = (
        "import json, sys\nfrom memorybench.plugins import LOADED, load_shipped\nfrom memorybench.cells import cell_names\n"
        f"load_shipped(json.loads({done.stdout.strip()!r}))\nprint(cell_names()[-1], LOADED)"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert loaded.stdout.strip() == f"shipped_srn {[str(plugin), 'json']}"
