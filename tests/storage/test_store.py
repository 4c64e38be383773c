import json
import os
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from memorybench.config import protocol_config
from memorybench.storage.rundir import read_run
from memorybench.storage.store import FORMAT, ResultsStore, StoreError
from tests.conftest import train_into
from tests.runfiles import edit_run

CONFIG = protocol_config("nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, device="cpu")


def test_open_creates_a_store(tmp_path):
    store = ResultsStore.open(tmp_path / "new" / "results")
    assert json.loads((store.root / "store.json").read_text()) == {"format": FORMAT, "sweeps": []}
    assert store.runs_dir.is_dir()


@pytest.mark.parametrize(
    "content, message",
    [
        (
            '{"format": 99}',
            "was written by a memorybench results format 99; this version reads formats 1, 2, 3 and 4: choose another folder",
        ),
        ('{"sweeps": []}', "holds a store.json that is not memorybench's; choose another folder"),
        ("not json", "store.json is damaged (not readable JSON); `memorybench report"),
    ],
    ids=["another format", "not memorybench's", "damaged"],
)
def test_open_refuses_other_formats_and_leaves_them_alone(tmp_path, content, message):
    (tmp_path / "store.json").write_text(content)
    with pytest.raises(StoreError, match=re.escape(message)):
        ResultsStore.open(tmp_path)
    assert (tmp_path / "store.json").read_text() == content and sorted(p.name for p in tmp_path.iterdir()) == [
        "store.json"
    ]


def test_open_refuses_a_file_and_a_foreign_runs_folder(tmp_path):
    (tmp_path / "file.txt").write_text("keep")
    with pytest.raises(StoreError, match="is a file"):
        ResultsStore.open(tmp_path / "file.txt")
    (tmp_path / "other" / "runs").mkdir(parents=True)
    with pytest.raises(StoreError, match="has a runs/ folder but no store.json"):
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
    assert store.is_complete(CONFIG) and sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "run.json"]
    first = (folder / "run.json").stat().st_mtime_ns
    train_into(store, CONFIG)
    assert (folder / "run.json").stat().st_mtime_ns > first
    assert [p.name for p in store.runs_dir.iterdir()] == [CONFIG.run_id()]  # nothing hidden left behind


def test_leftovers_of_a_killed_run_are_removed_and_never_counted(tmp_path):
    store = ResultsStore.open(tmp_path)
    leftover = store.runs_dir / f".{CONFIG.run_id()}.abc"
    leftover.mkdir()
    (leftover / "checkpoint.pt").write_text("")
    assert store.collect()[0].empty and not store.is_complete(CONFIG)
    store.remove_leftovers()
    assert not leftover.exists()


def test_failed_runs_count_as_complete_unless_retried(tmp_path):
    store = ResultsStore.open(tmp_path)
    bad = protocol_config(
        "nndl", cell="srn", seq_len=5, steps=10, eval_interval=5, optimizer="sgd", lr=1e38, device="cpu"
    )
    assert train_into(store, bad).status == "failed"
    assert store.is_complete(bad) and not store.is_complete(bad, retry_failed=True)


def test_tables_round_trip_through_csv(quick_copy):
    runs, curves = quick_copy.write_tables()
    assert len(runs) == 12 and runs["status"].eq("ok").all()
    assert list(runs["cell"].drop_duplicates()) == ["srn", "lstm", "gru"]
    assert {
        "run_id",
        "test_score",
        "best_dev_score",
        "best_step",
        "wall_time_s",
        "steps_per_s",
        "num_params",
        "device",
        "status",
        "error",
        "commit",
        "torch",
        "lr",
        "batch_size",
    } <= set(runs.columns)
    reread = pd.read_csv(quick_copy.tables_dir / "runs.csv")
    assert reread["test_score"].tolist() == pytest.approx(
        runs["test_score"].tolist(), rel=1e-15
    )  # pandas 2.0 parses to within an ulp
    assert len(curves) == 12 * 4 and set(curves.groupby("run_id").size()) == {4}
    assert not (quick_copy.tables_dir / "curves.csv").exists()  # each curve row is stored once, in its run's folder


def test_a_store_of_the_earlier_format_reads_with_the_generic_names(quick_copy):
    folder = next(quick_copy.runs_dir.iterdir())
    stored = read_run(folder)
    result = stored.result
    old = {
        {"test_score": "test_accuracy", "best_dev_score": "best_dev_accuracy"}.get(k, k): v for k, v in result.items()
    }
    curves = stored.curves.rename(columns={"dev_score": "dev_accuracy"})
    edit_run(folder, result=old, curves=curves)
    runs, all_curves = quick_copy.collect()
    row = runs.set_index("run_id").loc[folder.name]
    assert row["test_score"] == result["test_score"] and "test_accuracy" not in runs
    assert all_curves[all_curves["run_id"] == folder.name]["dev_score"].tolist() == curves["dev_accuracy"].tolist()


def test_a_truncated_checkpoint_is_named_left_out_and_retrained(quick_copy):
    folder = next(p for p in quick_copy.runs_dir.iterdir())
    checkpoint = folder / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    intact, damaged = quick_copy.scan()
    assert (
        list(damaged) == [folder.name] and "checkpoint.pt does not load" in damaged[folder.name] and len(intact) == 11
    )
    assert len(quick_copy.collect()[0]) == 11
    config = protocol_config(**read_run(folder).config)
    assert not quick_copy.is_complete(config)  # so the next sweep trains it again
    from memorybench.sweep.plan import plan_work

    plan = plan_work(quick_copy, [config])
    assert plan.todo == [config] and list(plan.damaged) == [folder.name]


def test_a_config_with_a_wrong_typed_value_is_named_left_out_and_retrained(quick_copy):
    from memorybench.sweep.plan import plan_sweep, plan_work, run_sweep
    from tests.conftest import QUICK_SWEEP

    folder = next(p for p in quick_copy.runs_dir.iterdir())
    edit_run(folder, config={"hidden_size": "32"})
    intact, damaged = quick_copy.scan()
    assert damaged == {
        folder.name: "its config is not a valid run config (hidden_size='32' is not allowed; it must be an integer >= 1)"
    }
    assert len(intact) == 11 and len(quick_copy.collect()[0]) == 11
    configs = plan_sweep(**QUICK_SWEEP)
    (wanted,) = [c for c in configs if c.run_id() == folder.name]
    assert not quick_copy.is_complete(wanted)
    plan = plan_work(quick_copy, configs)
    assert plan.todo == [wanted] and plan.skipped == 11 and list(plan.damaged) == [folder.name]
    outcome = run_sweep(quick_copy, configs, progress=False)
    assert [c for c, _ in outcome.done] == [wanted] and outcome.skipped == 11
    assert read_run(folder).config["hidden_size"] == 32 and quick_copy.scan()[1] == {}


@pytest.mark.parametrize("content", [{"cell": "nope"}, ["not", "a", "config"], {"hidden_size": 32, "colour": "red"}])
def test_a_config_that_is_json_but_no_run_config_is_named(quick_copy, content):
    folder = next(p for p in quick_copy.runs_dir.iterdir())
    document = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**document, "config": content}))
    damaged = quick_copy.scan()[1]
    assert list(damaged) == [folder.name] and re.match(
        r"(its config is not a valid run config|its config is not a mapping|run.json is not a run's) \(",
        damaged[folder.name],
    )


@pytest.mark.parametrize(
    "umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)], ids=["umask 022", "umask 077"]
)
def test_a_sweep_and_its_report_write_files_and_folders_as_the_umask_says(tmp_path, umask, file_mode, dir_mode):
    from memorybench.report.build import build_report
    from memorybench.sweep.plan import run_sweep

    old = os.umask(umask)
    try:
        store = ResultsStore.open(tmp_path / "results")
        run_sweep(store, [CONFIG], progress=False)
        build_report(store.root)
        build_report(store.root)  # a rebuild over the files the first build wrote
    finally:
        os.umask(old)
    root = store.root
    run = root / "runs" / CONFIG.run_id()
    written = [
        root / "report.md",
        root / "store.json",
        *root.glob("tables/*.csv"),
        *run.iterdir(),
        *root.glob("figures/**/*.png"),
    ]
    assert {"runs.csv", "run.json", "checkpoint.pt"} <= {p.name for p in written}
    assert {p.relative_to(root).as_posix(): oct(p.stat().st_mode & 0o777) for p in written} == {
        p.relative_to(root).as_posix(): oct(file_mode) for p in written
    }
    folders = [root, root / "runs", run, root / "tables", root / "figures", *root.glob("figures/*/")]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in folders} == {p.name: oct(dir_mode) for p in folders}


@pytest.mark.parametrize(
    "content, why",
    [
        ('{"config": {"status": "o', "run.json does not load (JSONDecodeError)"),
        ("", "run.json does not load (JSONDecodeError)"),
        ('{"config": {}, "result": {}}', "run.json is not a run's (KeyError: 'curves')"),
    ],
)
def test_a_damaged_run_file_is_named(quick_copy, content, why):
    folder = next(p for p in quick_copy.runs_dir.iterdir())
    (folder / "run.json").write_text(content)
    assert quick_copy.scan()[1] == {folder.name: why}


def test_a_damaged_store_json_is_named_and_rebuilt_from_the_intact_runs(quick_copy):
    quick_copy.meta_path.write_text('{"format": 1, "swe')
    with pytest.raises(StoreError, match="store.json is damaged .*--rebuild-store"):
        ResultsStore.open(quick_copy.root)
    quick_copy.meta_path.unlink()
    with pytest.raises(
        StoreError, match="has a runs/ folder but no store.json; if memorybench wrote it, .*--rebuild-store"
    ):
        ResultsStore.open(quick_copy.root)
    assert ResultsStore.rebuild(quick_copy.root) == (12, 0, 0)
    assert len(ResultsStore.open(quick_copy.root).collect()[0]) == 12


def test_a_foreign_non_empty_folder_is_refused_untouched(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="is not empty and was not made by memorybench"):
        ResultsStore.open(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_the_lock_refuses_a_second_sweep_naming_the_first_and_is_free_after(tmp_path):
    store = ResultsStore.open(tmp_path)
    assert store.holder() is None
    with store.lock("first"):
        held = store.holder()
        assert (held["pid"], held["command"]) == (os.getpid(), "first")
        with pytest.raises(StoreError) as refused:
            with store.lock("second"):  # this process again: refused like any other
                pass
        assert str(refused.value) == (
            f"another sweep (process {os.getpid()}, started {held['started']}) is writing to {tmp_path}; "
            "wait for it to finish or stop it"
        )
        assert store.holder() == held
    assert store.holder() is None
    with pytest.raises(KeyboardInterrupt):
        with store.lock("interrupted"):
            raise KeyboardInterrupt
    assert store.holder() is None


def dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def leave_stale_notes(root: Path) -> None:
    """What a killed sweep leaves: its note, and the .lock an earlier memorybench wrote (its process id)."""
    for name in (".lock", ".lock.holder"):
        (root / name).write_text(json.dumps({"pid": dead_pid(), "command": "killed", "started": "earlier"}))


def test_a_note_left_by_a_dead_process_does_not_hold_the_lock(tmp_path):
    store = ResultsStore.open(tmp_path)
    leave_stale_notes(tmp_path)
    assert store.holder() is None
    with store.lock("next"):
        assert store.holder()["pid"] == os.getpid()
    assert store.holder() is None


RACER = """
import sys
from memorybench.storage.store import ResultsStore, StoreError

store = ResultsStore(sys.argv[1])
print("ready", flush=True)
while sys.stdin.readline().strip() == "go":
    try:
        with store.lock("racer"):
            print("won", flush=True)
            sys.stdin.readline()  # held until the test lets go
        print("released", flush=True)
    except StoreError as exc:
        print(f"refused: {exc}", flush=True)
"""


def answer(process: subprocess.Popen, seconds: float = 120) -> str:
    assert select.select([process.stdout], [], [], seconds)[0], f"process {process.pid} did not answer"
    return process.stdout.readline().decode().strip()


def test_two_sweeps_racing_for_the_lock_over_a_stale_note_let_exactly_one_in(tmp_path):
    store = ResultsStore.open(tmp_path)
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        assert [answer(racer) for racer in racers] == ["ready", "ready"]
        for _ in range(10):
            leave_stale_notes(tmp_path)
            for racer in racers:
                racer.stdin.write(b"go\n")
            answers = {racer: answer(racer) for racer in racers}
            winners = [racer for racer, said in answers.items() if said == "won"]
            assert len(winners) == 1, list(answers.values())
            (loser,) = set(racers) - set(winners)
            assert answers[loser].startswith(f"refused: another sweep (process {winners[0].pid}, started ")
            winners[0].stdin.write(b"release\n")
            assert answer(winners[0]) == "released" and store.holder() is None
        racers[0].stdin.write(b"go\n")
        assert answer(racers[0]) == "won" and store.holder()["pid"] == racers[0].pid
        racers[0].send_signal(signal.SIGKILL)  # killed while it holds the lock: none of its own clean-up runs
        racers[0].wait(timeout=30)
        assert store.holder() is None
        with store.lock("after"):
            assert store.holder()["command"] == "after"
    finally:
        for racer in racers:
            racer.kill()
            racer.wait(timeout=30)
