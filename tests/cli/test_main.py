"""The `memorybench` command with subcommands (memorybench.cli.main), and `python -m memorybench`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import memorybench
from memorybench.cli.main import command_rows, main
from memorybench.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
# the fixed names (other issues use them)
LEAVES = [
    "run",
    "report",
    "suite",
    "horizon",
    "docs",
    "explosion",
    "diagnose through-time",
    "diagnose memory-capacity",
    "diagnose extrapolate",
    "diagnose shift",
    "store rebuild",
    "store share",
    "store prune",
    "store compact",
    "list tasks",
    "list cells",
    "list protocols",
]


def test_the_table_holds_the_fixed_names():
    assert [name for name, _ in command_rows(COMMANDS)] == LEAVES


def test_python_m_memorybench_help_lists_every_command_without_heavy_imports():
    code = (
        "import json, runpy, sys\n"
        "sys.argv = ['memorybench', '--help']\n"
        "try:\n    runpy.run_module('memorybench', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n    status = exc.code\n"
        "print(json.dumps({'status': status, 'modules': sorted(sys.modules)}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT))
    )
    assert done.returncode == 0 and done.stderr == ""
    *listing, last = done.stdout.splitlines()
    answer = json.loads(last)
    assert answer["status"] == 0 and "memorybench.cli.main" in answer["modules"]
    for name in LEAVES:
        assert any(line.startswith(f"  {name} ") for line in listing), name
    assert not {"torch", "matplotlib", "pandas"} & {module.split(".")[0] for module in answer["modules"]}


def test_no_commands_help_imports_torch_pandas_or_matplotlib():
    code = (
        "import contextlib, io, json, sys\nfrom memorybench.cli.main import main\nheavy = {}\n"
        f"for command in {LEAVES!r}:\n"
        "    before = set(sys.modules)\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main([*command.split(), '--help'])\n"
        "    heavy[command] = sorted({m.split('.')[0] for m in set(sys.modules) - before} & {'torch', 'pandas', 'matplotlib'})\n"
        "print(json.dumps(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT))
    )
    assert done.returncode == 0, done.stderr
    assert {command: modules for command, modules in json.loads(done.stdout).items() if modules} == {}


@pytest.mark.parametrize("command", LEAVES)
def test_each_command_answers_help(command, capsys):
    with pytest.raises(SystemExit) as exit:
        main([*command.split(), "--help"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: memorybench {command} [-h]")


@pytest.mark.parametrize("group", ["diagnose", "store", "list"])
def test_a_group_lists_its_commands(group, capsys):
    assert main([group]) == 0 and main([group, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: memorybench {group} COMMAND")
    assert all(f"  {name} " in out for name in COMMANDS[group])


@pytest.mark.parametrize(
    "what, expected", [("cells", ["srn", "lstm", "gru"]), ("protocols", ["nndl"]), ("tasks", ["nndl", "adding"])]
)
def test_list_prints_the_registered_names(what, expected, capsys):
    assert main(["list", what]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert set(expected) <= set(names) and len(names) == len(set(names))


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["x"],
            "memorybench: error: unknown command 'x' (allowed: run, report, suite, horizon, docs, explosion, diagnose, store, list); "
            "a plugin's command needs its --plugin",
        ),
        (
            ["list", "x"],
            "memorybench list: error: unknown command 'x' (allowed: tasks, cells, protocols); a plugin's command needs its --plugin",
        ),
        (
            ["diagnose", "horizon"],
            "memorybench diagnose: error: unknown command 'horizon' (allowed: through-time, memory-capacity, extrapolate, shift); "
            "a plugin's command needs its --plugin",
        ),
        (
            ["--lengths", "5"],
            "memorybench: error: unknown command '--lengths' (allowed: run, report, suite, horizon, docs, explosion, diagnose, store, list); "
            "a sweep's options follow `run`: memorybench run --lengths ...",
        ),
    ],
)
def test_an_unknown_command_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == message + "\n" and captured.out == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["list", "cells", "extra"], "memorybench list cells: error: unrecognized arguments: extra"),
        (["report", ""], "memorybench report: error: argument folder: '' is empty (allowed: a folder's path)"),
    ],
)
def test_a_commands_bad_input_is_one_line_named_for_it(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2 and capsys.readouterr().err == message + "\n"


def test_version_is_one_number_everywhere(capsys):
    assert main(["--version"]) == 0 and capsys.readouterr().out == f"memorybench {memorybench.__version__}\n"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    version = memorybench.__version__
    assert project["version"] == version and project["scripts"]["memorybench"] == "memorybench.cli.main:main"
    # the citation files and the changelog name the same version; the package's one line is the docs site's too
    assert f'\nversion: "{version}"\n' in (ROOT / "CITATION.cff").read_text()
    assert json.loads((ROOT / ".zenodo.json").read_text())["version"] == version
    assert f"\n## {version} — " in (ROOT / "CHANGELOG.md").read_text()
    assert f'site_description: "{project["description"]}"' in (ROOT / "mkdocs.yml").read_text()


def test_run_trains_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "results"
    argv = [
        "--lengths",
        "5",
        "--cells",
        "srn",
        "--seeds",
        "1",
        "--steps",
        "20",
        "--no-progress",
        "--device",
        "cpu",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    assert main(["run", *argv]) == 0
    assert "1 runs trained, 0 already complete" in capsys.readouterr().out and (out / "report.md").exists()
    sweeps = json.loads((out / "store.json").read_text())["sweeps"]
    assert [s["command"] for s in sweeps] == [
        "memorybench run " + " ".join(argv)
    ]  # provenance names the command that reruns it


def test_store_rebuild_then_report(quick_copy, capsys):
    root = quick_copy.root
    (root / "store.json").unlink()
    (root / "report.md").unlink(missing_ok=True)
    assert main(["store", "rebuild", str(root)]) == 0
    assert f"rebuilt {root / 'store.json'} for 12 intact runs" in capsys.readouterr().out
    assert (root / "store.json").exists() and (root / "report.md").exists()
    assert main(["report", str(root)]) == 0
    assert capsys.readouterr().out.strip() == str(root / "report.md")


def test_the_paths_before_0_2_0_are_gone():  # 0.3.0 removed them (memorybench._moved)
    done = subprocess.run(
        [sys.executable, "-m", "memorybench.report", "--help"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 1 and "memorybench.report" in done.stderr and "cannot be directly executed" in done.stderr
    with pytest.raises(ModuleNotFoundError):
        from memorybench.summary import score_table  # noqa: F401
