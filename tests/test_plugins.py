import pytest

from memorybench.plugins import LOADED, load_plugin, take_plugins


def test_plugin_options_are_taken_out_wherever_they_stand():
    assert take_plugins(["--plugin", "a.py", "report", "--plugin=b", "DIR"]) == (["report", "DIR"], ["a.py", "b"])


def test_a_plugin_file_is_imported_once(tmp_path, monkeypatch):
    plugin = tmp_path / "counting.py"
    plugin.write_text("import builtins\nbuiltins.memorybench_test_imports = getattr(builtins, 'memorybench_test_imports', 0) + 1\n")
    monkeypatch.setattr("memorybench.plugins.LOADED", [])
    import builtins

    load_plugin(str(plugin))
    load_plugin(str(plugin))
    assert builtins.memorybench_test_imports == 1
    del builtins.memorybench_test_imports


@pytest.mark.parametrize("source, message", [
    (None, "no such file"),
    ("raise RuntimeError('bad cell')", "failed while importing: RuntimeError: bad cell"),
])
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
