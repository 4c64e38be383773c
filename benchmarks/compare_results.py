"""Compare two results folders run by run: the same run ids, the same scores?

    python benchmarks/compare_results.py OLD_FOLDER NEW_FOLDER

For every run id stored in both folders it compares the test score, test loss, best-dev
score, best step and steps done — exactly, as a refactor that keeps the execution path
must give them on the CPU — and prints how many runs agree, every run that does not
(with its largest difference), and the run ids found in only one folder. Exit status 0
when every common run agrees and no run is missing, 1 otherwise. Either folder may be
of the earlier format (`test_accuracy`, ...): both are read through the store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

COLUMNS = ("test_score", "test_loss", "best_dev_score", "best_step", "steps_done", "status")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from memorybench.storage.provenance import provenance_line
    from memorybench.storage.store import ResultsStore

    old, new = (ResultsStore(folder).collect()[0].set_index("run_id") for folder in (args.old, args.new))
    common = old.index.intersection(new.index)
    print(provenance_line())
    print(f"{args.old}: {len(old)} runs; {args.new}: {len(new)} runs; {len(common)} in both")
    differing = []
    for run_id in common:
        a, b = old.loc[run_id], new.loc[run_id]
        changed = [c for c in COLUMNS if a[c] != b[c] and not (a[c] != a[c] and b[c] != b[c])]  # NaN equals NaN here
        if changed:
            differing.append(run_id)
            detail = ", ".join(f"{c} {a[c]} -> {b[c]}" for c in changed)
            print(f"  differs: {run_id} ({a['cell']} L={a['seq_len']} seed {a['seed']}): {detail}")
    only = sorted(set(old.index) ^ set(new.index))
    for run_id in only:
        print(f"  only in {'old' if run_id in old.index else 'new'}: {run_id}")
    same = len(common) - len(differing)
    print(f"identical {', '.join(COLUMNS)}: {same} of {len(common)} runs; {len(only)} runs in one folder only")
    return 0 if not differing and not only else 1


if __name__ == "__main__":
    sys.exit(main())
