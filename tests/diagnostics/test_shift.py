"""Scoring saved runs on other task parameters than trained (flip-flop's sparse and dense reads): each
score against the task's own scorer on the documented fresh set, the files, the report, the command."""

import json

import pytest

from memorybench.cli.diagnose import shift as main
from memorybench.config import protocol_config
from memorybench.diagnostics.extrapolate import FRESH_SEED_OFFSET, score_at
from memorybench.diagnostics.shift import report_section, shift_table, write_shift
from memorybench.storage.store import ResultsStore
from memorybench.tasks.flip_flop import score_at_p_ignore
from memorybench.training import load_run
from tests.conftest import train_into

L, SIZE = 6, 200


@pytest.fixture(scope="module")
def flip_flop_store(tmp_path_factory):
    """flip-flop GRU (fused) and minGRU (step by step) at L=6, 150 steps each, beside one parity run."""
    store = ResultsStore.open(tmp_path_factory.mktemp("shift") / "results")
    for cell in ("gru", "mingru"):
        train_into(store, protocol_config("flip_flop", cell=cell, seq_len=L, steps=150, eval_interval=50, device="cpu"))
    train_into(store, protocol_config("parity", cell="gru", seq_len=L, steps=10, eval_interval=10, device="cpu"))
    return store


def test_each_shift_is_the_read_accuracy_at_its_p_ignore_on_the_fresh_set(flip_flop_store):
    table = shift_table(flip_flop_store.root, size=SIZE)
    assert set(table["task"]) == {"flip_flop"} and sorted(table["cell"].unique()) == [
        "gru",
        "mingru",
    ]  # the parity run has no shifts
    for run_id, rows in table.groupby("run_id"):
        folder = flip_flop_store.run_folder(run_id)
        model = load_run(folder).model
        by_shift = rows.set_index("shift")
        assert list(rows["shift"]) == ["as trained", "sparse", "dense"]
        assert [json.loads(p)["p_ignore"] for p in rows["params"]] == [0.8, 0.98, 0.1]
        assert by_shift.loc["as trained", "score"] == score_at(folder, L, size=SIZE)[0]  # the extrapolation's fresh set
        for shift, p_ignore in (("sparse", 0.98), ("dense", 0.1)):
            assert by_shift.loc[shift, "score"] == score_at_p_ignore(
                model, L, by_shift.loc[shift, "fresh_seed"], p_ignore, size=SIZE
            )
        assert (rows["fresh_seed"] == rows["seed"] + FRESH_SEED_OFFSET).all()
    # the distributions differ: a model that learned something scores differently on them
    assert (table.groupby("run_id")["score"].nunique() > 1).any()


def test_the_last_bit_seen_reference_is_scored_on_each_runs_fresh_sets(flip_flop_store):
    from memorybench.tasks import get_task
    from memorybench.tasks.flip_flop import last_bit_seen, make_flip_flop_data

    table = shift_table(flip_flop_store.root, size=SIZE)
    task = get_task("flip_flop")
    for row in table.itertuples():
        params = json.loads(row.params)
        split = make_flip_flop_data(L, row.fresh_seed, p_ignore=params["p_ignore"], eval_size=SIZE).test
        assert row.reference_score == float(task.score(last_bit_seen(split.inputs), split.targets))
    means = table.groupby("shift")["reference_score"].mean()  # right unless an ignore came after the last write
    assert means["dense"] > means["as trained"] > means["sparse"]


def test_the_files_and_the_report_section(flip_flop_store, tmp_path):
    written = write_shift(flip_flop_store.root, size=SIZE)
    assert {p.name for p in written} == {"shift.csv", "shift_summary.csv", "flip_flop.png"}
    lines = "\n".join(report_section(flip_flop_store))
    assert "## Other distributions than trained" in lines
    assert "| cell | L | as trained (p_ignore 0.8) | sparse (p_ignore 0.98) | dense (p_ignore 0.1) |" in lines
    assert "| minGRU | 6 |" in lines and "figures/shift/flip_flop.png" in lines
    assert "| *repeat the last bit seen* | 6 | *0." in lines


def test_a_folder_without_a_task_with_shifts_is_one_line_and_exit_2(tmp_path, capsys):
    store = ResultsStore.open(tmp_path / "parity")
    train_into(store, protocol_config("parity", cell="srn", seq_len=L, steps=10, eval_interval=10, device="cpu"))
    before = sorted(p.name for p in store.root.rglob("*"))
    assert main([str(store.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.count("\n") == 0 and "holds no successful run of a task with shifts (tasks with shifts: flip_flop)" in err
    )
    assert sorted(p.name for p in store.root.rglob("*")) == before
