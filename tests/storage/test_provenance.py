import subprocess

import torch

from memorybench.storage.provenance import REPO_ROOT, environment, git_commit, provenance_line, short_commit


def test_environment_names_the_code_and_the_machine():
    env = environment(["run_all.py", "--quick"])
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    assert env["commit"].split("+")[0] == head == git_commit().split("+")[0]
    assert env["torch"] == torch.__version__ and env["command"] == "run_all.py --quick" and env["date"].startswith("20")


def test_provenance_line_is_one_line_with_commit_torch_and_date():
    line = provenance_line(["bench.py", "--steps", "10"])
    assert "\n" not in line and line.startswith("# bench.py --steps 10 | commit ")
    assert git_commit()[:12] in line and f"torch {torch.__version__}" in line


def test_short_commit_keeps_the_dirty_mark(monkeypatch):
    assert short_commit("0123456789abcdef0123") == "0123456789ab"
    assert short_commit("0123456789abcdef0123+dirty") == "0123456789ab+dirty"
    monkeypatch.setattr("memorybench.storage.provenance.git_commit", lambda: "0123456789abcdef+dirty")
    assert "| commit 0123456789ab+dirty |" in provenance_line(["bench.py"])


def test_the_commit_can_be_named_by_the_environment(monkeypatch, tmp_path):
    """A copy of the tree sent to another machine names the commit it was copied from, .git or not."""
    git_commit.cache_clear()
    try:
        monkeypatch.setenv("MEMORYBENCH_COMMIT", "feedc0de" * 5)
        assert git_commit() == "feedc0de" * 5
        git_commit.cache_clear()
        monkeypatch.delenv("MEMORYBENCH_COMMIT")
        monkeypatch.setattr("memorybench.storage.provenance.REPO_ROOT", tmp_path)  # no .git here or above
        assert git_commit() == "unknown"
    finally:
        git_commit.cache_clear()


def test_the_checkout_is_the_repository_root():
    # git_commit's '+dirty' looks at memorybench/, run_all.py and pyproject.toml from here
    assert (REPO_ROOT / "pyproject.toml").is_file() and (
        REPO_ROOT / "memorybench" / "storage" / "provenance.py"
    ).is_file()
