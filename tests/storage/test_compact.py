"""Runs of the four-file layout (results formats 1 and 2): read as they were, and `store compact` rewrites them as run.json."""

import json

import pytest

from memorybench.cli.store import compact as compact_main
from memorybench.storage.rundir import read_run
from memorybench.storage.store import FORMAT
from tests.runfiles import write_old_layout


def folders(store):
    return sorted(p for p in store.runs_dir.iterdir() if p.is_dir())


def test_old_runs_read_as_they_were_and_compact_to_the_bytes_a_new_run_gets(quick_copy, capsys):
    written = {folder.name: (folder / "run.json").read_bytes() for folder in folders(quick_copy)}
    runs, curves = quick_copy.collect()
    for folder in folders(quick_copy):
        write_old_layout(folder)
        assert sorted(p.name for p in folder.iterdir()) == [
            "checkpoint.pt",
            "config.json",
            "curves.csv",
            "env.json",
            "result.json",
        ]
    old_runs, old_curves = quick_copy.collect()
    assert old_runs.equals(runs) and old_curves.equals(curves)  # every float parsed back bit for bit
    assert compact_main([str(quick_copy.root)]) == 0
    assert capsys.readouterr().out == f"{quick_copy.root}: rewrote 12 run folders as run.json\n"
    assert {folder.name: (folder / "run.json").read_bytes() for folder in folders(quick_copy)} == written
    assert all(
        sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "run.json"] for folder in folders(quick_copy)
    )
    assert json.loads((quick_copy.root / "store.json").read_text())["format"] == FORMAT
    assert quick_copy.compact() == (0, {})  # nothing left to rewrite


def test_compact_leaves_a_damaged_old_run_as_it_is_names_it_and_keeps_the_old_format(quick_copy, capsys):
    damaged, intact = folders(quick_copy)[:2]
    for folder in (damaged, intact):
        write_old_layout(folder)
    meta = json.loads(quick_copy.meta_path.read_text())
    quick_copy.meta_path.write_text(json.dumps({**meta, "format": 2}))  # a folder written before run.json existed
    (damaged / "result.json").write_text('{"status": "o')
    assert compact_main([str(quick_copy.root)]) == 1
    out, err = capsys.readouterr()
    assert (
        err
        == f"memorybench store compact: warning: run folder {damaged} is damaged (result.json does not load (JSONDecodeError)); left as it is\n"
    )
    assert out.startswith(f"{quick_copy.root}: rewrote 1 run folders as run.json; 1 damaged left as they are")
    assert (
        json.loads(quick_copy.meta_path.read_text())["format"] == 2
    )  # an old-layout run is left: older readers still read it all
    assert (damaged / "result.json").read_text() == '{"status": "o' and not (damaged / "run.json").exists()
    assert quick_copy.scan()[1] == {damaged.name: "result.json does not load (JSONDecodeError)"}
    assert read_run(intact).result["status"] == "ok"


@pytest.mark.parametrize(
    "name, content, why",
    [
        ("result.json", '{"status": "o', "result.json does not load (JSONDecodeError)"),
        ("curves.csv", "", "curves.csv does not load (ValueError)"),
        ("config.json", "[", "config.json does not load (JSONDecodeError)"),
    ],
)
def test_a_damaged_old_run_names_its_file(quick_copy, name, content, why):
    folder = folders(quick_copy)[0]
    write_old_layout(folder)
    (folder / name).write_text(content)
    assert quick_copy.scan()[1] == {folder.name: why}


def test_compact_refuses_a_folder_that_is_no_results_folder(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep")
    assert compact_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a memorybench results folder (no store.json)" in err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
