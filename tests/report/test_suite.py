import pandas as pd
import pytest

from memorybench.config import protocol_config
from memorybench.cli.report import suite as main
from memorybench.report.suite import read_suite, suite_table, write_suite
from memorybench.result import RunResult
from memorybench.storage.store import ResultsStore

CURVE = [dict(step=100, train_loss=1.0, dev_loss=1.0, dev_score=0.5, grad_norm=1.0)]


def stored(root, protocol: str, scores: dict, **overrides) -> ResultsStore:
    """A store of synthetic runs: scores[(cell, seq_len)] = test score per seed."""
    store = ResultsStore.open(root)
    for (cell, seq_len), values in scores.items():
        for seed, value in enumerate(values):
            config = protocol_config(protocol, cell=cell, seq_len=seq_len, seed=seed, device="cpu", **overrides)
            store.place(
                config, RunResult("ok", test_score=value, best_dev_score=value, metric="accuracy", curves=CURVE), None
            )
    return store


@pytest.fixture
def two_tasks(tmp_path):
    digit_sum = stored(
        tmp_path / "nndl",
        "nndl",
        {
            ("srn", 10): [0.9, 0.8, 0.85],
            ("srn", 20): [0.3, 0.2, 0.25],
            ("lstm", 10): [0.95, 0.9, 0.92],
            ("lstm", 20): [0.9, 0.8, 0.85],
        },
    )
    digits = stored(
        tmp_path / "digits", "digits_rows", {("srn", 8): [0.90, 0.92, 0.94], ("gru", 8): [0.80, 0.82, 0.84]}
    )
    return digit_sum.root, digits.root


def test_each_task_gets_its_own_measure(two_tasks):
    table = suite_table(two_tasks).set_index(["task", "cell"])
    srn, lstm = table.loc[("nndl", "srn")], table.loc[("nndl", "lstm")]
    assert (srn["measure"], srn["value"], srn["text"], srn["bracket"]) == (
        "horizon",
        10,
        "L50 in [10, 20] (mean 10, 3 seeds)",  # every seed solves at 10, none at 20: the outcomes separate
        [10, 20],
    )  # L=20: 0.25 < 0.55
    assert (lstm["value"], lstm["text"], lstm["censored"], lstm["cap"]) == (
        20,
        "L50 ≥ 20 (mean ≥ 20, 3 seeds)",
        "above",
        20,
    )  # the longest tried passes
    assert srn["source"] == "grid" and (srn["seeds"], srn["runs"], srn["min_length"], srn["threshold"]) == (
        3,
        6,
        10,
        0.55,
    )
    digits = table.loc[("digits_rows", "srn")]
    assert (
        digits["measure"] == "test_score"
        and digits["value"] == pytest.approx(0.92)
        and digits["text"].startswith("0.92 [")
    )
    assert table.loc[("digits_rows", "gru")]["baseline"] == pytest.approx(183 / 1797)


def test_the_page_has_one_row_per_task_and_a_figure(two_tasks, tmp_path):
    written = write_suite(two_tasks, tmp_path / "suite")
    text = written[0].read_text()
    assert "| `nndl` (nndl; " in text and "| `digits_rows` (digits_rows; " in text and "| SRN | LSTM | GRU |" in text
    assert (
        "| L50 in [10, 20] (mean 10, 3 seeds) | L50 ≥ 20 (mean ≥ 20, 3 seeds) |" in text
    )  # lengths as read back from suite.json: whole numbers, its nulls as censoring
    assert written[2].read_bytes().startswith(b"\x89PNG") and len(read_suite(written[1])["entries"]) == 4


def test_a_study_over_settings_is_left_out(tmp_path):
    root = stored(tmp_path / "grid", "nndl", {("srn", 10): [0.9, 0.8]}).root
    stored(root, "nndl", {("srn", 10): [0.5, 0.6]}, lr=1e-2)
    assert suite_table([root]).empty


def test_a_learning_rate_sweep_gives_its_best_of_n_horizon_labelled_with_the_rate_picked_at_each_length(tmp_path):
    root = stored(
        tmp_path / "phase", "nndl", {("srn", 10): [0.9, 0.8], ("srn", 20): [0.2, 0.3], ("srn", 40): [0.1, 0.2]}
    ).root
    stored(root, "nndl", {("srn", 10): [0.5, 0.6], ("srn", 20): [0.9, 0.7], ("srn", 40): [0.2, 0.1]}, lr=1e-2)
    protocol = stored(tmp_path / "protocol", "nndl", {("srn", 10): [0.9, 0.8], ("srn", 20): [0.2, 0.3]}).root
    table = suite_table([protocol, root]).set_index("recipe")
    tuned = table.loc["best of 2 recipes"]
    assert tuned["recipe_picks"] == [[10, "lr 0.001"], [20, "lr 0.01"], [40, "lr 0.001"]]  # on dev; 40: a tie
    assert (tuned["value"], tuned["runs"], tuned["lengths_tested"]) == (20, 6, [[10, 2], [20, 2], [40, 2]])
    assert table.loc["protocol"]["value"] == 10 and table.loc["protocol"]["recipe_picks"] is None
    stored(root, "nndl", {("srn", 10): [0.5, 0.6]}, init="torch")  # a study over more than the rate: left out
    assert list(suite_table([protocol, root])["recipe"]) == ["protocol"]


def test_the_reference_folders_are_the_committed_suites_and_exclude_named_folders(tmp_path, capsys):
    from pathlib import Path

    from memorybench.cli.report import REFERENCE_FOLDERS

    root = Path(__file__).resolve().parents[2]
    assert list(REFERENCE_FOLDERS) == read_suite(root / "results" / "suite" / "suite.json")["provenance"]["folders"]
    for argv in ([], ["--reference", str(tmp_path)]):
        assert main([*argv, "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "give results folders or --reference" in err and not (tmp_path / "out").exists()


def test_bad_folders_are_one_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing" in err and not (tmp_path / "out").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a results folder")
    assert main([str(tmp_path / "other"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err  # an input folder is read, never made: no advice to choose a new or empty one
    assert err.strip().endswith("other is not a memorybench results folder (no store.json)") and err.count("\n") == 1


def test_delayed_recall_over_hidden_sizes_shows_its_memory_capacity_at_n_32(tmp_path):
    store = stored(tmp_path / "recall", "delayed_recall", {("srn", 80): [0.05, 0.06]}, hidden_size=8)
    stored(store.root, "delayed_recall", {("srn", 80): [0.04, 0.05]}, hidden_size=32)
    store.tables_dir.mkdir(exist_ok=True)
    pd.DataFrame(
        dict(
            task="delayed_recall",
            cell="srn",
            hidden_size=[8, 32],
            n=2,
            mc=[6.5, 28.8],
            mc_ci_low=[6.0, 27.7],
            mc_ci_high=[7.0, 29.9],
        )
    ).to_csv(store.tables_dir / "memory_capacity.csv", index=False)
    row = suite_table([store.root]).iloc[0]
    assert (row["measure"], row["value"], row["text"]) == ("memory_capacity", 28.8, "MC 28.8 [27.7, 29.9] of N = 32")


def table_in(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith("|"))


def test_the_readme_table_is_written_between_its_markers(two_tasks, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# title\n\n<!-- suite -->\n| old |\n<!-- /suite -->\n\nafter\n")
    written = write_suite(two_tasks, tmp_path / "suite", readme=readme)
    text = readme.read_text()
    assert (
        written[-1] == readme
        and text.startswith("# title\n\n<!-- suite -->\n| task |")
        and text.endswith("<!-- /suite -->\n\nafter\n")
    )
    assert table_in(text) == table_in(written[0].read_text()) and "| old |" not in text


def test_a_readme_without_markers_is_one_line_and_nothing_is_written(two_tasks, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert main([*map(str, two_tasks), "--out", str(tmp_path / "suite"), "--readme", str(readme)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no <!-- suite --> ... <!-- /suite --> block" in err
    assert readme.read_text() == "# no markers\n" and not (tmp_path / "suite").exists()


def test_the_committed_readme_shows_the_committed_suite_table():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    block = readme.split("<!-- suite -->")[1].split("<!-- /suite -->")[0]
    assert table_in(block) == table_in((root / "results" / "suite" / "suite.md").read_text())


def test_a_bound_below_names_the_shortest_length_tested_and_every_reading_keeps_its_longest_pass():
    import pandas as pd

    from memorybench.analysis.search import search_reading
    from memorybench.report.suite import horizon_entry, mean_text
    from memorybench.analysis.search_rule import Search

    probes = pd.DataFrame(
        dict(seq_len=[12, 25, 50], ci_low=[0.1, 0.5, 0.1], ci_high=[0.3, 1.0, 0.7], passed=[False, True, False])
    )  # the task's minimum is 2, but 12 is the shortest length probed; every reading fails there and passes later
    reading = search_reading(Search(start=25, min_length=2, cap=50), probes, 0.55, "higher")
    entry = {**horizon_entry(reading, probes, cap=50, min_length=2), "measure": "horizon"}
    assert (entry["shortest_tested"], entry["min_length"]) == (12, 2)
    assert mean_text(entry) == "< 12 [< 12, < 12]"  # not "< 2": no length below 12 was tested
    assert (entry["longest_pass"], entry["longest_pass_low"], entry["longest_pass_high"]) == (25, None, 50)


def test_an_entry_carries_its_runs_budget_steps_done_provenance_and_the_folder_it_reuses(quick_store, tmp_path):
    import os

    from memorybench.report.suite import suite_entries
    from memorybench.storage.store import ResultsStore

    out = tmp_path / "reusing"
    linking = ResultsStore.open(out)
    for folder in quick_store.scan()[0]:  # every run kept once, in the quick sweep's folder, and linked here
        linking.share(folder.name, folder)
    entries, _ = suite_entries([out])
    runs = quick_store.collect()[0]
    assert [e["cell"] for e in entries] == ["srn", "lstm", "gru"]
    for entry in entries:
        mine = runs[runs["cell"] == entry["cell"]]
        assert entry["reused_from"] == [os.path.relpath(quick_store.root)] and entry["steps"] == 200
        assert entry["steps_done"] == [int(mine["steps_done"].min()), int(mine["steps_done"].max())]
        assert entry["provenance"]["commits"] == sorted(set(mine["commit"])) and entry["provenance"]["devices"] == [
            "cpu"
        ]
        assert entry["provenance"]["finished"] == [min(mine["finished"]), max(mine["finished"])]
    assert all(e["reused_from"] is None for e in suite_entries([quick_store.root])[0])  # its own runs


def test_associative_recall_reads_its_horizon_from_three_bindings(tmp_path):
    # at L = 2 a model holding one of the two bindings scores the threshold itself: a pass there decides nothing
    from memorybench.report.suite import suite_entries

    scores = {("srn", 2): [0.6] * 3, ("srn", 3): [0.3] * 3, ("srn", 8): [0.2] * 3}
    scores |= {("gru", 2): [0.6] * 3, ("gru", 3): [0.7] * 3, ("gru", 8): [0.2] * 3}
    store = stored(tmp_path / "ar", "associative_recall", scores)
    entries = {e["cell"]: e for e in suite_entries([store.root])[0]}
    srn, gru = entries["srn"], entries["gru"]
    assert (srn["value"], srn["censored"], srn["shortest_tested"], srn["l50_reading"]) == (
        None,
        "below",
        3,
        "censored below",
    )
    assert (gru["value"], gru["bracket"], gru["l50_reading"], gru["l50_bracket"]) == (3, [3, 8], "separated", [3, 8])
    assert srn["lengths_tested"] == [[2, 3], [3, 3], [8, 3]]  # the runs at 2 stay: tested, not read
