import json
import shutil

import pytest

from memorybench.cli.run import main
from memorybench.storage.rundir import read_run
from memorybench.storage.sharing import difference, reuse, share_copies
from memorybench.cli.store import share as sharing_main
from memorybench.storage.store import FORMAT, ResultsStore, StoreError
from memorybench.sweep.plan import plan_sweep, plan_work
from tests.conftest import QUICK_SWEEP
from tests.runfiles import edit_run

QUICK = ["--quick", "--no-progress", "--device", "cpu", "--workers", "1"]
SRN_AT_5 = ["--lengths", "5", "--cells", "srn"]


def files(store: ResultsStore) -> list[str]:
    return sorted(p.name for p in store.runs_dir.iterdir())


def test_a_sweep_reuses_the_runs_another_folder_holds_as_links(quick_copy, tmp_path, capsys):
    out = tmp_path / "five"
    assert main([*SRN_AT_5, "--seeds", "3", "--out", str(out), "--reuse", str(quick_copy.root), *QUICK]) == 0
    printed = capsys.readouterr().out
    assert "reused 2 runs complete in" in printed and "1 runs trained, 0 already complete, 2 reused from" in printed
    store = ResultsStore.open(out, create=False)
    runs, source_runs = store.collect()[0], quick_copy.collect()[0].set_index("run_id")
    shared = runs[runs["seed"] < 2]
    assert sorted(f for f in files(store) if f.endswith(".link")) == sorted(f"{r}.link" for r in shared["run_id"])
    assert (
        shared["test_score"].tolist() == source_runs.loc[shared["run_id"], "test_score"].tolist()
    )  # the source's runs, read through the links
    assert len(runs) == 3 and (out / "report.md").exists()
    meta = json.loads((out / "store.json").read_text())
    assert (
        meta["format"] == FORMAT and meta["sweeps"][-1]["runs_shared"] == 2 and meta["sweeps"][-1]["runs_trained"] == 1
    )
    report = (out / "report.md").read_text()
    assert "2 reused" in report and "linked here (`runs/<run_id>.link`): 2 from `../results`." in report
    # a second run of the same command finds everything complete and writes nothing
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main([*SRN_AT_5, "--seeds", "3", "--out", str(out), "--reuse", str(quick_copy.root), *QUICK]) == 0
    assert "reused 0 runs" in capsys.readouterr().out and before == {
        p: p.read_bytes() for p in out.rglob("*") if p.is_file()
    }


def test_a_link_whose_run_is_gone_is_damaged_and_trained_again(quick_copy, tmp_path):
    store = ResultsStore.open(tmp_path / "other")
    configs = [c for c in plan_sweep(**QUICK_SWEEP) if c.cell == "srn" and c.seq_len == 5]
    assert len(reuse(store, quick_copy, configs)) == 2
    gone = configs[0].run_id()
    shutil.rmtree(quick_copy.run_folder(gone))
    intact, damaged = store.scan()
    assert [f.name for f in intact] == [configs[1].run_id()] and "holds no finished run" in damaged[gone]
    plan = plan_work(store, configs)
    assert [c.run_id() for c in plan.todo] == [gone] and gone in plan.damaged
    from tests.conftest import train_into

    train_into(store, configs[0])  # the retrained run is this store's own: its link goes
    assert f"{gone}.link" not in files(store) and gone in files(store) and store.is_complete(configs[0])


def test_force_retrains_a_shared_run_here_and_leaves_the_source_alone(quick_copy, tmp_path):
    from tests.conftest import train_into

    store = ResultsStore.open(tmp_path / "other")
    config = next(c for c in plan_sweep(**QUICK_SWEEP) if c.cell == "srn")
    reuse(store, quick_copy, [config])
    source_bytes = (quick_copy.run_folder(config.run_id()) / "run.json").read_bytes()
    train_into(store, config)
    assert files(store) == [config.run_id()] and store.run_folder(config.run_id()).parent == store.runs_dir
    assert (quick_copy.runs_dir / config.run_id() / "run.json").read_bytes() == source_bytes


def test_copies_of_the_same_runs_become_links_and_the_tables_do_not_change(quick_store, quick_copy, tmp_path):
    target = ResultsStore(tmp_path / "copy")
    shutil.copytree(quick_store.root, target.root)
    folder = target.runs_dir / files(target)[0]
    changed = edit_run(folder, result={"test_score": read_run(folder).result["test_score"] + 0.01})
    before = target.collect()
    assert share_copies(target, quick_copy, dry_run=True)[0] and not any(f.endswith(".link") for f in files(target))
    linked, kept = share_copies(target, quick_copy)
    assert len(linked) == 11 and list(kept) == [changed.parent.name] and "test_score" in kept[changed.parent.name]
    assert sum(f.endswith(".link") for f in files(target)) == 11 and changed.exists()
    after = target.collect()
    assert before[0].equals(after[0]) and before[1].equals(after[1])
    assert share_copies(quick_copy, target)[0] == []  # never linked back to themselves; the changed run differs


def test_same_run_allows_float32_rounding_of_the_curves_only(quick_copy, tmp_path):
    folder = quick_copy.runs_dir / files(quick_copy)[0]
    other = tmp_path / folder.name
    shutil.copytree(folder, other)
    assert difference(folder, other) == ""
    curves = read_run(folder).curves
    for scale, same in ((1 + 2e-7, True), (1.001, False)):
        edit_run(other, curves=curves.assign(grad_norm=curves["grad_norm"] * scale))
        assert (difference(folder, other) == "") is same
    missing = curves.copy()
    missing.loc[0, "grad_norm"] = float("nan")  # a missing value (NaN) is the same as a missing value, not as a number
    edit_run(other, curves=missing)
    assert difference(folder, other) == "curve column grad_norm"
    edit_run(folder, curves=missing)
    assert difference(folder, other) == ""


def test_a_run_cannot_be_shared_with_itself_or_with_another_run(quick_copy):
    folders = [quick_copy.runs_dir / name for name in files(quick_copy)[:2]]
    with pytest.raises(StoreError, match="shared with itself"):
        quick_copy.share(folders[0].name, folders[0])
    with pytest.raises(StoreError, match="only the same run"):
        quick_copy.share(folders[0].name, folders[1])
    assert quick_copy.scan()[0][:2] == folders and not any(f.endswith(".link") for f in files(quick_copy))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--reuse", "{out}"], "is the folder the sweep writes to"),
        (["--reuse", "{tmp}/missing"], "is not a folder"),
        (["--reuse", "{source}", "--force"], "contradict each other"),
    ],
)
def test_bad_reuse_is_one_line_and_writes_nothing(quick_copy, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    store = ResultsStore.open(out)
    written = lambda: sorted(
        p.name for p in out.rglob("*") if p.name != ".lock"
    )  # the lock's empty file stays once taken
    before = written()
    argv = [a.format(out=out, tmp=tmp_path, source=quick_copy.root) for a in extra]
    assert main([*SRN_AT_5, "--out", str(out), *argv, *QUICK]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and written() == before and store.holder() is None


def test_sharing_command_reports_and_refuses_bad_folders(quick_store, tmp_path, capsys):
    target = tmp_path / "copy"
    shutil.copytree(quick_store.root, target)
    assert sharing_main([str(target), "--from", str(quick_store.root), "--dry-run"]) == 0
    assert "would link 12 runs" in capsys.readouterr().out and not list((target / "runs").glob("*.link"))
    with pytest.raises(SystemExit) as exit_:
        sharing_main([str(target)])
    assert exit_.value.code == 2 and "the following arguments are required: --from" in capsys.readouterr().err
    assert sharing_main([str(target), "--from", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'none'} is not a folder" in err


def test_a_link_is_followed_when_its_source_linked_the_run_onward(quick_store, tmp_path):
    middle, last = ResultsStore(tmp_path / "middle"), ResultsStore.open(tmp_path / "last")
    shutil.copytree(quick_store.root, middle.root)
    config = next(c for c in plan_sweep(**QUICK_SWEEP) if c.cell == "gru")
    assert reuse(last, middle, [config]) == [config.run_id()]
    assert share_copies(middle, ResultsStore(quick_store.root))[0]  # middle now links its runs to the first store
    assert last.run_folder(config.run_id()) == quick_store.run_folder(config.run_id()) and last.is_complete(config)
    assert [f.name for f in last.scan()[0]] == [config.run_id()] and not last.scan()[1]
