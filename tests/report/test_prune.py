from memorybench.cli.diagnose import through_time
from memorybench.report.build import build_report, gate_length, gate_runs
from memorybench.cli.store import prune as prune_main
from memorybench.report.prune import prune
from memorybench.storage.rundir import CHECKPOINT
from memorybench.storage.store import ResultsStore
from memorybench.tasks import get_task


def checkpoints(store: ResultsStore) -> set[str]:
    return {path.parent.name for path in store.runs_dir.glob(f"*/{CHECKPOINT}")}


def traced(store: ResultsStore) -> set[str]:
    runs = store.collect()[0]
    task = get_task("nndl")
    return set(gate_runs(runs, gate_length(runs, task), task)["run_id"])


def test_prune_keeps_only_the_gate_runs_checkpoints_and_the_report_is_unchanged(quick_copy, capsys):
    build_report(quick_copy.root)
    before = {p.relative_to(quick_copy.root): p.read_bytes() for p in (quick_copy.root / "tables").rglob("*.csv")}
    gates = (quick_copy.root / "figures").rglob("gates.png")
    gate_png = {p: p.read_bytes() for p in gates}
    assert prune_main([str(quick_copy.root), "--dry-run"]) == 0
    assert (
        "would remove 9 checkpoints" in capsys.readouterr().out and len(checkpoints(quick_copy)) == 12
    )  # dry run: nothing gone
    assert prune_main([str(quick_copy.root)]) == 0
    assert f"{quick_copy.root}: removed 9 checkpoints" in capsys.readouterr().out
    assert checkpoints(quick_copy) == traced(quick_copy) and len(traced(quick_copy)) == 3  # one per cell
    runs = quick_copy.collect()[0]
    assert len(runs) == 12 and set(runs["status"]) == {"ok"}  # still complete runs: a sweep does not retrain them
    build_report(quick_copy.root)
    assert before == {
        p.relative_to(quick_copy.root): p.read_bytes() for p in (quick_copy.root / "tables").rglob("*.csv")
    }
    assert gate_png == {p: p.read_bytes() for p in gate_png}


def test_a_diagnostics_table_keeps_every_checkpoint_and_a_pruned_run_is_skipped_saying_why(quick_copy, capsys):
    quick_copy.tables_dir.mkdir(exist_ok=True)
    (quick_copy.tables_dir / "grad_through_time.csv").write_text("made by diagnose through-time\n")
    kept, removed = prune([quick_copy])
    assert removed == {} and len(kept) == 12 and all("through_time" in why for why in kept.values())
    (quick_copy.tables_dir / "grad_through_time.csv").unlink()
    prune([quick_copy])
    assert through_time([str(quick_copy.root)]) == 0  # profiles the 3 kept runs and names each skipped one
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 9 and all(f"has no {CHECKPOINT} (removed by `memorybench store prune`?)" in line for line in err)


def test_runs_linked_from_another_named_folder_keep_what_that_folder_reads(quick_copy, tmp_path):
    # a second folder linking to the seeds the first does not trace: its gate heatmaps trace those
    runs = quick_copy.collect()[0]
    others = runs[(runs["seq_len"] == gate_length(runs, get_task("nndl"))) & ~runs["run_id"].isin(traced(quick_copy))]
    other = ResultsStore.open(tmp_path / "other")
    for run_id in others["run_id"]:
        other.share(run_id, quick_copy.run_folder(run_id))
    assert traced(other) == set(others["run_id"]) and len(others) == 3
    kept, removed = prune([quick_copy, other], dry_run=True)
    assert {path.parent.name for path in kept} == traced(quick_copy) | traced(other)
    assert all(path.is_relative_to(quick_copy.runs_dir) for path in [*kept, *removed])  # links are never pruned
    prune([quick_copy])  # the first alone: the second's heatmaps lose their runs, and its report says so
    assert checkpoints(quick_copy) == traced(quick_copy)
    report = build_report(other.root).read_text()
    assert report.count(f"has no {CHECKPOINT} in") == 3 and not list((other.root / "figures").rglob("gates.png"))


def test_pruning_a_folder_that_is_not_a_results_folder_is_one_line_and_exit_2(tmp_path, capsys):
    assert prune_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"memorybench store prune: error: {tmp_path} is not a memorybench results folder (no store.json)"]
