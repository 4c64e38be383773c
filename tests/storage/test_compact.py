"""Runs of the plain layouts (run.json; the four files of results formats 1 and 2): read as they were, and `store compact`
rewrites them as run.json.gz, the same document compressed."""

import gzip
import json

import pytest

from memorybench.cli.store import compact as compact_main
from memorybench.storage.rundir import compact_run, read_run
from memorybench.storage.store import FORMAT
from tests.runfiles import write_old_layout


def folders(store):
    return sorted(p for p in store.runs_dir.iterdir() if p.is_dir())


def test_old_runs_read_as_they_were_and_compact_to_the_document_a_new_run_gets(quick_copy, capsys):
    written = {folder.name: (folder / "run.json").read_text() for folder in folders(quick_copy)}
    runs, curves = quick_copy.collect()
    for folder in folders(quick_copy)[:6]:  # half of the four-file layout, half run.json
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
    assert capsys.readouterr().out == f"{quick_copy.root}: rewrote 12 run folders as run.json.gz\n"
    assert {
        folder.name: gzip.decompress((folder / "run.json.gz").read_bytes()).decode() for folder in folders(quick_copy)
    } == written
    assert all(
        sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "run.json.gz"] for folder in folders(quick_copy)
    )
    compact_runs, compact_curves = quick_copy.collect()
    assert compact_runs.equals(runs) and compact_curves.equals(curves)
    assert json.loads((quick_copy.root / "store.json").read_text())["format"] == FORMAT == 4
    assert quick_copy.compact() == (0, {})  # nothing left to rewrite


def test_compressed_runs_are_the_same_bytes_every_time_and_smaller(quick_copy):
    folder = folders(quick_copy)[0]
    plain = (folder / "run.json").read_bytes()
    assert compact_run(folder) and not compact_run(folder)
    first = (folder / "run.json.gz").read_bytes()
    (folder / "run.json").write_bytes(plain)  # a plain file beside the compressed one: a compact killed midway
    assert compact_run(folder) and (folder / "run.json.gz").read_bytes() == first  # no time stamp, no name
    assert len(first) < len(plain) and not (folder / "run.json").exists()


def test_a_damaged_compressed_run_is_named_by_its_file(quick_copy):
    folder = folders(quick_copy)[0]
    compact_run(folder)
    (folder / "run.json.gz").write_bytes(b"not gzip")
    assert quick_copy.scan()[1] == {folder.name: "run.json.gz does not load (BadGzipFile)"}


def test_compact_leaves_a_damaged_run_as_it_is_names_it_and_marks_the_new_format(quick_copy, capsys):
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
    assert out.startswith(f"{quick_copy.root}: rewrote 11 run folders as run.json.gz; 1 damaged left as they are")
    assert json.loads(quick_copy.meta_path.read_text())["format"] == 4  # older readers would miss the .gz runs
    assert (damaged / "result.json").read_text() == '{"status": "o' and not (damaged / "run.json.gz").exists()
    assert quick_copy.scan()[1] == {damaged.name: "result.json does not load (JSONDecodeError)"}
    assert read_run(intact).result["status"] == "ok" and (intact / "run.json.gz").exists()


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
