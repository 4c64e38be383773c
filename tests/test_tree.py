"""The tracked tree's size: it travels whole to a GPU machine (64 MiB), and the next issues add runs to it."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


TREE_BUDGET = 48_000_000  # bytes: the tracked tree travels whole to a GPU machine (64 MiB), with room for new runs


def test_the_tracked_tree_stays_within_its_budget():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    files = [ROOT / name for name in listed.stdout.decode().split("\0") if name]
    size = sum(path.stat().st_size for path in files if path.is_file() and not path.is_symlink())
    size += sum(len(os.readlink(path)) for path in files if path.is_symlink())
    assert size < TREE_BUDGET, f"the tracked tree holds {size:,} bytes, over its budget of {TREE_BUDGET:,}"
