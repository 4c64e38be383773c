"""Scoring saved runs beyond their training length: the score against a hand-made evaluation on the
documented fresh data, that data against the run's own, determinism, the files written, the command."""

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from memorybench.config import protocol_config
from memorybench.cli.diagnose import extrapolate as main
from memorybench.diagnostics.extrapolate import (
    FRESH_SEED_OFFSET,
    RUN_COLUMNS,
    check_factors,
    extrapolation_table,
    report_section,
    score_at,
    summary,
    write_extrapolation,
)
from memorybench.storage.store import ResultsStore
from memorybench.tasks.digit_sum import make_nndl_data, make_stream_data
from memorybench.training import load_run
from tests.conftest import train_into

L = 5
CELLS = ("srn", "gru")


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    """nndl SRN and GRU (seed 0) and one stream LSTM (seed 1) at L=5, 30 steps each."""
    store = ResultsStore.open(tmp_path_factory.mktemp("extrapolate") / "results")
    for cell in CELLS:
        train_into(store, protocol_config("nndl", cell=cell, seq_len=L, steps=30, eval_interval=10, device="cpu"))
    train_into(
        store, protocol_config("stream", cell="lstm", seq_len=L, seed=1, steps=30, eval_interval=10, device="cpu")
    )
    return store


@pytest.fixture
def store_copy(tiny_store, tmp_path):
    target = tmp_path / "results"
    shutil.copytree(tiny_store.root, target)
    return ResultsStore(target)


def folder_of(store, task, cell):
    runs, _ = store.collect()
    return store.runs_dir / runs[(runs["task"] == task) & (runs["cell"] == cell)]["run_id"].item()


def accuracy_by_hand(folder, inputs, targets):
    model = load_run(folder).model
    with torch.no_grad():
        return (model(inputs).argmax(-1) == targets).float().mean().item()


@pytest.mark.parametrize("factor", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_nndl_score_is_the_accuracy_on_the_documented_fresh_set(tiny_store, cell, factor):
    folder = folder_of(tiny_store, "nndl", cell)
    fresh = make_nndl_data(factor * L, seed=0 + FRESH_SEED_OFFSET, train_copies=1, eval_copies=10).test
    score, n = score_at(folder, factor * L)
    assert n == len(fresh) == 1000 and fresh.inputs.shape[1] == factor * L
    assert score == accuracy_by_hand(folder, fresh.inputs, fresh.targets)


@pytest.mark.parametrize("factor", [1, 2])
def test_stream_score_is_the_accuracy_on_the_documented_fresh_set(tiny_store, factor):
    folder = folder_of(tiny_store, "stream", "lstm")
    fresh = make_stream_data(factor * L, seed=1 + FRESH_SEED_OFFSET, eval_size=1000).test
    score, n = score_at(folder, factor * L)
    assert (score, n) == (accuracy_by_hand(folder, fresh.inputs, fresh.targets), 1000)
    assert score_at(folder, factor * L, size=300)[1] == 300


def test_fresh_set_is_not_the_runs_own_data(tiny_store):
    own = make_nndl_data(L, seed=0).test  # the book's test set of the seed-0 runs: each pair once
    fresh = make_nndl_data(
        L, seed=FRESH_SEED_OFFSET, train_copies=1, eval_copies=10
    ).test  # each pair 10 times, in order
    unseeded = make_nndl_data(L, seed=0, train_copies=1, eval_copies=10).test  # what the run's own seed would give
    assert torch.equal(fresh.targets[::10], own.targets)  # the same operand pairs in the same order ...
    assert not torch.equal(fresh.inputs[::10], own.inputs)  # ... with other noise
    assert not torch.equal(fresh.inputs, unseeded.inputs)
    stream_own = make_stream_data(L, seed=1).test
    stream_fresh = make_stream_data(L, seed=1 + FRESH_SEED_OFFSET, eval_size=1000).test
    assert not torch.equal(stream_fresh.inputs, stream_own.inputs)
    # a different offset is a different set: the score is not read off the run's stored data
    folder = folder_of(tiny_store, "nndl", "gru")
    other = make_nndl_data(L, seed=7, train_copies=1, eval_copies=10).test
    assert score_at(folder, L, seed_offset=7)[0] == accuracy_by_hand(folder, other.inputs, other.targets)


def test_deterministic(tiny_store):
    folder = folder_of(tiny_store, "nndl", "srn")
    assert score_at(folder, 2 * L) == score_at(folder, 2 * L)
    first = extrapolation_table(tiny_store.root, factors=(1, 2))
    pd.testing.assert_frame_equal(first, extrapolation_table(tiny_store.root, factors=(1, 2)))


def test_write_extrapolation(store_copy):
    assert report_section(store_copy) == []
    written = write_extrapolation(store_copy.root)
    root = store_copy.root
    assert {p.relative_to(root).as_posix() for p in written} == {
        "tables/extrapolation.csv",
        "tables/extrapolation_summary.csv",
        "figures/extrapolation/nndl.png",
        "figures/extrapolation/stream.png",
    }
    table = pd.read_csv(root / "tables" / "extrapolation.csv")
    assert list(table.columns) == RUN_COLUMNS
    assert len(table) == 3 * 3  # three runs, factors 1, 2, 3 for the digit sum in both variants
    assert sorted(table["test_len"].unique()) == [L, 2 * L, 3 * L]
    assert (table["test_len"] == table["factor"] * table["seq_len"]).all() and (table["n"] == 1000).all()
    runs, _ = store_copy.collect()
    stored = runs.set_index("run_id")["test_score"]
    # read back from CSV: equal to the last bit with pandas' round-trip parser, to 1e-15 with pandas 2.0's default
    assert np.allclose(table["book_test_score"], table["run_id"].map(stored), rtol=1e-14, atol=0)
    for row in table[table["factor"] == 2].itertuples():
        assert row.score == pytest.approx(
            score_at(root / "runs" / row.run_id, 2 * L)[0], rel=1e-12
        )  # read back from CSV
    means = pd.read_csv(root / "tables" / "extrapolation_summary.csv")
    assert len(means) == 9 and (means["n"] == 1).all()
    first = means[means["factor"] == 1]
    assert first["diff_mean"].round(6).tolist() == (first["mean"] - first["book_mean"]).round(6).tolist()
    assert means.loc[means["factor"] > 1, "diff_mean"].isna().all()
    section = "\n".join(report_section(store_copy))
    assert "## Beyond the training length" in section and "figures/extrapolation/nndl.png" in section
    assert "| SRN | 5 |" in section and "2L (1000 fresh)" in section and "3L (1000 fresh)" in section


def test_factors_per_task_and_summary_over_seeds(tiny_store):
    table = extrapolation_table(tiny_store.root, factors={"nndl": [2], "stream": (1, 4)})
    assert sorted(zip(table["task"], table["factor"])) == [("nndl", 2), ("nndl", 2), ("stream", 1), ("stream", 4)]
    two_seeds = pd.concat([table, table.assign(seed=1, score=table["score"] + 0.1)], ignore_index=True)
    means = summary(two_seeds)
    assert (means["n"] == 2).all()
    at = means[(means["task"] == "stream") & (means["factor"] == 1)].iloc[0]
    assert at["diff_sd"] == pytest.approx(0.1 / 2**0.5)


def test_check_factors():
    assert check_factors([3, 1.0, 2, 2]) == (1, 2, 3)
    for bad in ([0], [1.5], [], [True], "12"):
        with pytest.raises(ValueError):
            check_factors(bad)


@pytest.mark.parametrize(
    "argv", [["--factors", "1.5"], ["--factors", "0"], ["--factors", "x"], ["--size", "50"], ["--size", "1e3"]]
)
def test_cli_refuses_bad_arguments(store_copy, capsys, argv):
    try:
        code = main([str(store_copy.root), *argv])
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "error" in err
    assert (
        not (store_copy.tables_dir / "extrapolation.csv").exists()
        and not (store_copy.root / "figures" / "extrapolation").exists()
    )


def test_cli_refuses_bad_folders(tmp_path, capsys):
    (tmp_path / "plain").mkdir()
    for folder in (tmp_path / "missing", tmp_path / "plain"):
        assert main([str(folder)]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert list((tmp_path / "plain").iterdir()) == [] and not (tmp_path / "missing").exists()


def test_cli_writes(store_copy, capsys):
    assert main([str(store_copy.root), "--factors", "1", "2", "--size", "200"]) == 0
    table = pd.read_csv(store_copy.tables_dir / "extrapolation.csv")
    assert len(table) == 6 and set(table["n"]) == {200}
    assert "wrote 4 files" in capsys.readouterr().out


def test_a_tasks_own_spec_gives_its_default_factors_and_sizes_its_fresh_test_set(monkeypatch):
    from dataclasses import replace

    from memorybench.diagnostics.extrapolate import default_factors, fresh_split
    from memorybench.tasks import TASKS, get_task

    monkeypatch.setitem(
        TASKS,
        "adding3",
        replace(
            get_task("adding"),
            name="adding3",
            extrapolation_factors=(3, 1),
            sized_test=lambda size: {"eval_size": size // 2},
        ),
    )
    assert (
        default_factors("adding3") == (1, 3)
        and default_factors("nndl") == (1, 2, 3)
        and default_factors("copy") == (1, 2)
    )
    config = protocol_config("adding", seq_len=10, seed=0, device="cpu")
    assert len(fresh_split(replace(config, task="adding3"), 20, size=400)) == 200
