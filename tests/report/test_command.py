import os
import signal
import time

import pytest

from memorybench.parser import Parser
from memorybench.report.writer import run_writer


def test_the_written_files_are_listed_with_the_command_that_shows_them_in_the_report(tmp_path, capsys):
    parser = Parser(prog="memorybench diagnose example")
    assert run_writer(parser, lambda warn: [tmp_path / "tables" / "x.csv"], tmp_path) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(tmp_path / "tables" / "x.csv") and lines[1].startswith("wrote 1 files in ")
    assert lines[2] == f"report.md is not rebuilt by this command: `memorybench report {tmp_path}` adds these to it"


def test_ctrl_c_is_one_line_and_exit_130(capsys):
    def interrupted(warn):
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C: Python's default handler raises KeyboardInterrupt
        time.sleep(10)

    previous = signal.signal(
        signal.SIGINT, signal.default_int_handler
    )  # also where the runner ignores SIGINT (a background job)
    try:
        assert run_writer(Parser(prog="memorybench diagnose example"), interrupted) == 130
    finally:
        signal.signal(signal.SIGINT, previous)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("memorybench diagnose example: interrupted:")
    assert "re-run the same command" in err


@pytest.mark.parametrize(
    "command, argv",
    [
        ("report", [""]),
        ("explosion", ["--out", ""]),
        ("suite", [" "]),
        ("store share", ["", "--from", "x"]),
        ("diagnose extrapolate", [""]),
        ("diagnose through-time", [""]),
        ("diagnose memory-capacity", [""]),
        ("docs", [""]),
    ],
)
def test_an_empty_folder_is_refused_not_read_as_the_current_one(command, argv, tmp_path, monkeypatch, capsys):
    from memorybench.cli.main import main

    monkeypatch.chdir(tmp_path)
    try:
        status = main([*command.split(), *argv])
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "is empty (allowed: a folder's path)" in err
    assert list(tmp_path.iterdir()) == []
