"""A session refuses to record runs trained by code with uncommitted changes unless told (--allow-dirty)."""

import pytest

import memorybench.sweep.session as session_module
from memorybench.cli.run import main
from memorybench.parser import UsageError
from memorybench.storage.store import ResultsStore

SWEEP = ["--cells", "srn", "--lengths", "5", "--seeds", "1", "--quick", "--no-progress", "--device", "cpu"]


@pytest.fixture
def dirty(monkeypatch):
    monkeypatch.delenv(session_module.ALLOW_DIRTY, raising=False)
    monkeypatch.setattr(session_module, "git_commit", lambda: "0123456789abcdef+dirty")


def test_a_dirty_tree_is_refused_unless_allowed(dirty, monkeypatch):
    with pytest.raises(UsageError, match=r"uncommitted changes \(commit 0123456789ab\+dirty\).*pass --allow-dirty"):
        session_module.check_clean()
    session_module.check_clean(allow_dirty=True)
    monkeypatch.setenv(session_module.ALLOW_DIRTY, "1")
    session_module.check_clean()


def test_a_sweep_from_a_dirty_tree_trains_nothing_without_allow_dirty(dirty, tmp_path, capsys):
    out = tmp_path / "results"
    assert main([*SWEEP, "--workers", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("memorybench: error: the code has uncommitted changes")
    assert ResultsStore(out).scan()[0] == [] and ResultsStore(out).sweeps() == []
    assert main([*SWEEP, "--workers", "1", "--out", str(out), "--allow-dirty"]) == 0
    assert len(ResultsStore(out).scan()[0]) == 1
