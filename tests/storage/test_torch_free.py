"""Storage is the bottom layer (issue 43): a real results folder is scanned and collected without torch and
without the cell and task registries, in a fresh interpreter."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_scan_and_collect_of_a_committed_folder_import_neither_torch_nor_a_registry():
    code = (
        "import sys\nfrom memorybench.storage.store import ResultsStore\n"
        "store = ResultsStore('results/flip_flop')\nintact, damaged = store.scan()\nruns, curves = store.collect()\n"
        "print(len(intact), len(damaged), len(runs), sorted(m for m in ('torch', 'memorybench.cells', 'memorybench.tasks') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["132", "0", "132", "[]"]
