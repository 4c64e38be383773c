import pandas as pd
import pytest

from memorybench.config import protocol_config
from memorybench.report.build import build_report
from memorybench.report.capacity import capacity_table, is_multi_setting, settings_table
from memorybench.result import RunResult
from memorybench.storage.store import ResultsStore
from memorybench.tasks import get_task

NNDL = get_task("nndl")
# (dev, test) per lr and seed: lr 1e-3 is best on dev (0.80 vs 0.70 mean) but worse on test (0.50 vs 0.90)
GRID = {1e-3: [(0.80, 0.45), (0.82, 0.55), (0.78, 0.50)], 1e-2: [(0.70, 0.90), (0.72, 0.92), (0.68, 0.88)]}


def synthetic_runs(cells=("srn", "lstm"), lengths=(10, 20)) -> pd.DataFrame:
    rows = [
        dict(
            cell=cell,
            seq_len=length,
            seed=seed,
            lr=lr,
            init="book",
            hidden_size=32,
            forget_bias=None,
            status="ok",
            best_dev_score=dev - length / 100,
            test_score=test - length / 100,
        )
        for cell in cells
        for length in lengths
        for lr, pairs in GRID.items()
        for seed, (dev, test) in enumerate(pairs)
    ]
    return pd.DataFrame(rows)


def test_capacity_picks_the_setting_by_dev_not_by_test():
    table = capacity_table(synthetic_runs(), NNDL, threshold=0.55).set_index(["cell", "seq_len"])
    row = table.loc[("srn", 10)]
    assert row["best_setting"] == "lr=0.001, init=book, hidden=32" and row["settings"] == 2 and row["n"] == 3
    assert row["mean"] == pytest.approx(0.40) and row["dev_mean"] == pytest.approx(0.70)  # not the test-best 0.80
    # solve rate over all 6 runs at L=10: test scores 0.35 0.45 0.40 (lr 1e-3) and 0.80 0.82 0.78 (lr 1e-2) -> 3 of 6
    assert (row["solved"], row["runs"], row["solve_rate"]) == (3, 6, 0.5)


def test_failed_runs_count_as_unsolved_and_never_as_the_best_setting():
    runs = synthetic_runs(cells=("srn",), lengths=(10,))
    runs.loc[runs["lr"] == 1e-3, "status"] = "failed"
    row = capacity_table(runs, NNDL, threshold=0.55).iloc[0]
    assert row["best_setting"] == "lr=0.01, init=book, hidden=32" and (row["solved"], row["runs"]) == (3, 6)


def test_a_lower_is_better_metric_picks_the_lowest_dev_score():
    from dataclasses import replace

    mse = replace(NNDL, metric="mse")  # lower is better
    row = capacity_table(synthetic_runs(cells=("srn",), lengths=(10,)), mse, threshold=0.5).iloc[0]
    assert (
        row["best_setting"] == "lr=0.01, init=book, hidden=32" and row["solved"] == 3
    )  # the lr 1e-3 runs: test 0.35 0.45 0.40 <= 0.5


def test_the_forget_bias_is_a_variant_not_another_try():
    runs = synthetic_runs(cells=("lstm",), lengths=(10,))
    runs = pd.concat([runs, runs.assign(forget_bias=1.0)], ignore_index=True)
    table = capacity_table(runs, NNDL, threshold=0.55)
    assert sorted(table["variant"]) == ["lstm", "lstm, forget bias 1"] and (table["settings"] == 2).all()
    assert is_multi_setting(runs) and is_multi_setting(runs[runs["forget_bias"].isna()])
    assert not is_multi_setting(runs[(runs["forget_bias"].isna()) & (runs["lr"] == 1e-3)])
    assert len(settings_table(runs, NNDL, 0.55)) == 4


def test_the_report_groups_the_settings_into_one_study_and_labels_best_of_n(tmp_path):
    store = ResultsStore.open(tmp_path / "grid")
    for row in synthetic_runs().itertuples():
        config = protocol_config("nndl", cell=row.cell, seq_len=row.seq_len, seed=row.seed, lr=row.lr, device="cpu")
        curve = [dict(step=100, train_loss=1.0, dev_loss=1.0, dev_score=row.best_dev_score, grad_norm=1.0)]
        store.place(
            config,
            RunResult(
                "ok", test_score=row.test_score, best_dev_score=row.best_dev_score, metric="accuracy", curves=curve
            ),
            None,
        )
    text = build_report(store.root).read_text()
    assert text.count("## Capacity against trainability: nndl") == 1 and "## Experiment:" not in text
    capacity = text.split("**Capacity**")[1].split("**Trainability**")[0]
    chosen = "0.40 [0.28, 0.52] (n=3) — lr=0.001, init=book, hidden=32 (best of 2)"  # by dev; the test-best setting scores 0.80
    assert f"| 10 | {chosen} | {chosen} |" in capacity and "not a mean over settings" in capacity
    every = text.split("**Every setting**")[1]
    assert (
        "0.80 [0.75, 0.85] (n=3)" in every and "0.40 [0.28, 0.52] (n=3)" in every
    )  # the means over seeds, per setting
    trainability = text.split("**Trainability**")[1].split("**Paired")[0]
    assert "| 10 | 0.50 (3/6) | 0.50 (3/6) |" in trainability
    assert (store.root / "figures" / "nndl" / "capacity.png").stat().st_size > 10_000
    assert len(pd.read_csv(store.tables_dir / "capacity_nndl.csv")) == 4


def test_a_task_measured_per_hidden_size_keeps_each_size_apart(tmp_path):
    from tests.conftest import train_into

    store = ResultsStore.open(tmp_path / "recall")
    for hidden in (4, 8):
        train_into(
            store,
            protocol_config(
                "delayed_recall", cell="srn", seq_len=66, hidden_size=hidden, steps=4, eval_interval=2, device="cpu"
            ),
        )
    text = build_report(store.root).read_text()
    assert "## Capacity against trainability" not in text
    assert "## Experiment: delayed_recall, hidden_size=4, steps=4, eval_interval=2\n" in text
    assert "## Experiment: delayed_recall, hidden_size=8, steps=4, eval_interval=2\n" in text
