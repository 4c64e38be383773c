"""A damaged run is one run (issue 42, case 3): every field of a run.json is checked for presence and type when a
folder is read; a run that fails is named once, left out, and retrained by the next sweep, and the folder's report
and suite are built from the rest."""

import json

import pytest

from memorybench.storage.rundir import read_run
from memorybench.storage.validate import config_problem, curves_problem, result_problem


def damage(folder, part, edit):
    document = json.loads((folder / "run.json").read_text())
    edit(document[part])
    (folder / "run.json").write_text(json.dumps(document))


CASES = {
    "a result's number as text": (
        "result",
        lambda r: r.update(test_score="high"),
        "test_score='high' is not allowed; it must be a number",
    ),
    "a result's status unknown": (
        "result",
        lambda r: r.update(status="okay"),
        "status='okay' is not allowed; choose one of ok, failed",
    ),
    "a result's score missing": ("result", lambda r: r.pop("best_dev_score"), "field 'best_dev_score' is missing"),
    "a result's count as a float": (
        "result",
        lambda r: r.update(num_params=12.5),
        "num_params=12.5 is not allowed; it must be a whole number",
    ),
    "a result's flag as text": (
        "result",
        lambda r: r.update(graphed="no"),
        "graphed='no' is not allowed; it must be true or false",
    ),
    "a config's rate as text": (
        "config",
        lambda c: c.update(lr="fast"),
        "lr='fast' is not allowed; it must be a finite number > 0",
    ),
    "a config's length missing": ("config", lambda c: c.pop("seq_len"), "field 'seq_len' is missing"),
    "a config's task params as a list": ("config", lambda c: c.update(task_params=[]), "task_params=[] is not allowed"),
    "a curve's score as text": (
        "curves",
        lambda c: c["rows"][0].__setitem__(3, "x"),
        "dev_score='x' is not allowed; it must be a number",
    ),
    "a curve's row too short": ("curves", lambda c: c["rows"][0].pop(), "does not match the columns"),
    "a curve's step as a float": (
        "curves",
        lambda c: c["rows"][0].__setitem__(0, 1.5),
        "step=1.5 is not allowed; it must be a whole number",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_wrong_or_missing_field_damages_one_run_which_is_named_left_out_and_retrained(quick_copy, case):
    from memorybench.config import protocol_config
    from memorybench.sweep.plan import plan_work

    part, edit, why = CASES[case]
    folder = sorted(quick_copy.runs_dir.iterdir())[0]
    config = protocol_config(**read_run(folder).config)
    damage(folder, part, edit)
    intact, damaged = quick_copy.scan()
    assert list(damaged) == [folder.name] and why in damaged[folder.name] and len(intact) == 11
    assert len(quick_copy.collect()[0]) == 11 and not quick_copy.is_complete(config)
    assert plan_work(quick_copy, [config]).todo == [config]  # the next sweep trains it again


@pytest.mark.slow
def test_report_and_suite_read_the_rest_of_a_folder_with_a_damaged_run(quick_copy, tmp_path, capsys):
    from memorybench.cli.main import main

    folder = sorted(quick_copy.runs_dir.iterdir())[0]
    damage(folder, "result", lambda r: r.update(test_score="high"))
    assert main(["report", str(quick_copy.root)]) == 0
    err = capsys.readouterr().err
    assert f"run folder {folder} is damaged (its result is not a run's (test_score='high'" in err
    assert "| runs/" + folder.name + " | its result is not a run's" in (quick_copy.root / "report.md").read_text()
    assert main(["suite", str(quick_copy.root), "--out", str(tmp_path / "suite")]) == 0
    assert (tmp_path / "suite" / "suite.json").is_file()


def test_the_checks_accept_every_committed_kind_of_value():
    assert (
        config_problem({"cell": "a_plugins_cell", "seq_len": 5, "seed": 0, "task": "its_task", "forget_bias": None})
        == ""
    )
    assert (
        result_problem(
            {"status": "failed", "test_score": float("nan"), "best_dev_accuracy": None, "test_accuracy": 0.5}
        )
        == ""
    )
    assert curves_problem(["step", "dev_score"], [[10, None], [20, 1]]) == ""
    assert config_problem(["cell"]) == "its config is not a mapping (list)"
