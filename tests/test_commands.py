"""A plugin adds a `diagnose` command end to end (issue 43): its command, computation and report section in one
file, registered with `register_command` and `register_section`; without the plugin the command is unknown."""

import re

import pytest

from memorybench.cli.main import main
from memorybench.commands import COMMANDS, register_command
from memorybench.report.sections import SECTIONS
from tests.report.test_plugins_needed import forget

PLUGIN = """
import pandas as pd

from memorybench import ReportSection, register_section
from memorybench.cli.diagnose import folder_parser
from memorybench.commands import register_command
from memorybench.report.writer import run_writer


def count_runs(argv, prog):
    parser = folder_parser(prog, "Count each cell's runs of a results folder into tables/run_counts.csv.")
    args = parser.parse_or_exit(argv)

    def write(warn):
        from memorybench.storage.store import open_results

        store = open_results(args.folder)
        table = store.collect()[0].groupby("cell").size().rename("runs").reset_index()
        store.tables_dir.mkdir(exist_ok=True)
        table.to_csv(store.tables_dir / "run_counts.csv", index=False)
        return [store.tables_dir / "run_counts.csv"]

    return run_writer(parser, write, args.folder)


def section(store, runs):
    path = store.tables_dir / "run_counts.csv"
    if not path.exists():
        return []
    return ["## Runs per cell (a plugin's diagnostic)", "", *(f"- {r.cell}: {r.runs}" for r in pd.read_csv(path).itertuples()), ""]


register_command(("diagnose", "count-runs"), count_runs, "count each cell's runs (a plugin's diagnostic)")
register_section(ReportSection("run_counts", needs=("tables/run_counts.csv",), write=section))
"""


@pytest.mark.slow
def test_a_plugin_adds_a_diagnose_command_its_table_and_its_report_section(quick_copy, tmp_path, capsys):
    plugin = tmp_path / "count_runs.py"
    plugin.write_text(PLUGIN)
    try:
        assert main(["--plugin", str(plugin), "diagnose", "--help"]) == 0
        assert re.search(r"\n  count-runs +count each cell's runs \(a plugin's diagnostic\)\n", capsys.readouterr().out)
        assert main(["diagnose", "count-runs", "--plugin", str(plugin), str(quick_copy.root)]) == 0
        assert (quick_copy.tables_dir / "run_counts.csv").read_text() == "cell,runs\ngru,4\nlstm,4\nsrn,4\n"
        assert main(["report", "--plugin", str(plugin), str(quick_copy.root)]) == 0
        assert (
            "## Runs per cell (a plugin's diagnostic)\n\n- gru: 4\n- lstm: 4\n- srn: 4"
            in (quick_copy.root / "report.md").read_text()
        )
    finally:
        forget(str(plugin))
        COMMANDS["diagnose"].pop("count-runs", None)
        SECTIONS.pop("run_counts", None)
    capsys.readouterr()
    assert main(["diagnose", "count-runs", str(quick_copy.root)]) == 2
    assert "unknown command 'count-runs'" in capsys.readouterr().err


@pytest.mark.parametrize("path, message", [
    (("diagnose", "Bad_Name"), "must be lowercase letters, digits and '-'"),
    (("diagnose", "shift"), "command 'diagnose shift' is already registered"),
    (("run", "inner"), "command 'run' is not a group of commands"),
])  # fmt: skip
def test_a_command_name_that_is_taken_or_malformed_is_refused(path, message):
    with pytest.raises(ValueError, match=message):
        register_command(path, lambda argv, prog: 0, "help")
