import json

import pandas as pd
import pytest

from memorybench.config import protocol_config
from memorybench.store import FORMAT, ResultsStore, StoreError
from tests.conftest import train_into

CONFIG = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, device="cpu")


def test_open_creates_a_store(tmp_path):
    store = ResultsStore.open(tmp_path / "new" / "results")
    assert json.loads((store.root / "store.json").read_text()) == {"format": FORMAT, "sweeps": []}
    assert store.runs_dir.is_dir()


@pytest.mark.parametrize("content", ['{"format": 99}', "not json"])
def test_open_refuses_other_formats_and_leaves_them_alone(tmp_path, content):
    (tmp_path / "store.json").write_text(content)
    with pytest.raises(StoreError, match="format|not memorybench"):
        ResultsStore.open(tmp_path)
    assert (tmp_path / "store.json").read_text() == content and sorted(p.name for p in tmp_path.iterdir()) == ["store.json"]


def test_open_refuses_a_file_and_a_foreign_runs_folder(tmp_path):
    (tmp_path / "file.txt").write_text("keep")
    with pytest.raises(StoreError, match="is a file"):
        ResultsStore.open(tmp_path / "file.txt")
    (tmp_path / "other" / "runs").mkdir(parents=True)
    with pytest.raises(StoreError, match="no store.json"):
        ResultsStore.open(tmp_path / "other")
    assert (tmp_path / "file.txt").read_text() == "keep"


def test_unwritable_place_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("os.access", lambda *a: False)
    with pytest.raises(StoreError, match="not writable"):
        ResultsStore.open(tmp_path / "results")
    assert not (tmp_path / "results").exists()


def test_train_moves_a_complete_run_into_place_and_force_replaces_it(tmp_path):
    store = ResultsStore.open(tmp_path)
    assert not store.is_complete(CONFIG)
    train_into(store, CONFIG)
    folder = store.folder(CONFIG)
    assert store.is_complete(CONFIG) and {p.name for p in folder.iterdir()} >= {"config.json", "result.json", "env.json", "checkpoint.pt"}
    first = (folder / "result.json").stat().st_mtime_ns
    train_into(store, CONFIG)
    assert (folder / "result.json").stat().st_mtime_ns > first
    assert [p.name for p in store.runs_dir.iterdir()] == [CONFIG.run_id()]  # nothing hidden left behind


def test_leftovers_of_a_killed_run_are_removed_and_never_counted(tmp_path):
    store = ResultsStore.open(tmp_path)
    leftover = store.runs_dir / f".{CONFIG.run_id()}.abc"
    leftover.mkdir()
    (leftover / "config.json").write_text("{}")
    assert store.collect()[0].empty and not store.is_complete(CONFIG)
    store.remove_leftovers()
    assert not leftover.exists()


def test_failed_runs_count_as_complete_unless_retried(tmp_path):
    store = ResultsStore.open(tmp_path)
    bad = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, optimizer="sgd", lr=1e38, device="cpu")
    assert train_into(store, bad).status == "failed"
    assert store.is_complete(bad) and not store.is_complete(bad, retry_failed=True)


def test_tables_round_trip_through_csv(quick_copy):
    runs, curves = quick_copy.write_tables()
    assert len(runs) == 12 and runs["status"].eq("ok").all()
    assert list(runs["cell"].drop_duplicates()) == ["srn", "lstm", "gru"]
    assert {"run_id", "test_score", "best_dev_score", "best_step", "wall_time_s", "steps_per_s", "num_params",
            "device", "status", "error", "commit", "torch", "lr", "batch_size"} <= set(runs.columns)
    reread = pd.read_csv(quick_copy.tables_dir / "runs.csv")
    assert reread["test_score"].tolist() == pytest.approx(runs["test_score"].tolist(), rel=1e-15)  # pandas 2.0 parses to within an ulp
    assert len(curves) == 12 * 4 and set(curves.groupby("run_id").size()) == {4}
    assert not (quick_copy.tables_dir / "curves.csv").exists()  # each curve row is stored once, in its run's folder


def test_a_store_of_the_earlier_format_reads_with_the_generic_names(quick_copy):
    folder = next(quick_copy.runs_dir.iterdir())
    result = json.loads((folder / "result.json").read_text())
    old = {{"test_score": "test_accuracy", "best_dev_score": "best_dev_accuracy"}.get(k, k): v for k, v in result.items()}
    (folder / "result.json").write_text(json.dumps(old))
    curves = pd.read_csv(folder / "curves.csv").rename(columns={"dev_score": "dev_accuracy"})
    curves.to_csv(folder / "curves.csv", index=False)
    runs, all_curves = quick_copy.collect()
    row = runs.set_index("run_id").loc[folder.name]
    assert row["test_score"] == result["test_score"] and "test_accuracy" not in runs
    assert all_curves[all_curves["run_id"] == folder.name]["dev_score"].tolist() == curves["dev_accuracy"].tolist()


def test_a_truncated_checkpoint_is_named_left_out_and_retrained(quick_copy):
    folder = next(p for p in quick_copy.runs_dir.iterdir())
    checkpoint = folder / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    intact, damaged = quick_copy.scan()
    assert list(damaged) == [folder.name] and "checkpoint.pt does not load" in damaged[folder.name] and len(intact) == 11
    assert len(quick_copy.collect()[0]) == 11
    config = protocol_config(**{k: v for k, v in json.loads((folder / "config.json").read_text()).items()})
    assert not quick_copy.is_complete(config)  # so the next sweep trains it again
    from memorybench.sweep import plan_work

    plan = plan_work(quick_copy, [config])
    assert plan.todo == [config] and list(plan.damaged) == [folder.name]


@pytest.mark.parametrize("name, content", [("result.json", '{"status": "o'), ("curves.csv", "")])
def test_a_damaged_result_or_curve_file_is_named(quick_copy, name, content):
    folder = next(p for p in quick_copy.runs_dir.iterdir())
    (folder / name).write_text(content)
    assert quick_copy.scan()[1] == {folder.name: f"{name} does not load ({'JSONDecodeError' if name.endswith('json') else 'EmptyDataError'})"}


def test_a_damaged_store_json_is_named_and_rebuilt_from_the_intact_runs(quick_copy):
    quick_copy.meta_path.write_text('{"format": 1, "swe')
    with pytest.raises(StoreError, match="store.json is damaged .*--rebuild-store"):
        ResultsStore.open(quick_copy.root)
    quick_copy.meta_path.unlink()
    with pytest.raises(StoreError, match="has a runs/ folder but no store.json; if memorybench wrote it, .*--rebuild-store"):
        ResultsStore.open(quick_copy.root)
    assert ResultsStore.rebuild(quick_copy.root) == 12
    assert len(ResultsStore.open(quick_copy.root).collect()[0]) == 12


def test_a_foreign_non_empty_folder_is_refused_untouched(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="is not empty and was not made by memorybench"):
        ResultsStore.open(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_the_lock_refuses_a_live_sweep_and_takes_over_a_stale_one(tmp_path):
    import os
    import subprocess

    store = ResultsStore.open(tmp_path)
    with store.lock("first"):
        (tmp_path / ".lock").write_text(json.dumps({"pid": os.getppid(), "started": "earlier"}))  # a live process holds it
        with pytest.raises(StoreError, match=f"another sweep \\(process {os.getppid()}, started earlier\\)"):
            with store.lock("second"):
                pass
        gone = subprocess.Popen(["true"])
        gone.wait()
        (tmp_path / ".lock").write_text(json.dumps({"pid": gone.pid, "started": "earlier"}))  # its process is gone
        with store.lock("third"):
            assert json.loads((tmp_path / ".lock").read_text())["command"] == "third"
    assert not (tmp_path / ".lock").exists()
