"""Change what a stored run holds, as a test's damaged or edited run: one part of its run.json at a time.

edit_run(folder, result={"test_score": 0.5})          # merged into the stored result
edit_run(folder, curves=frame)                       # the curves replaced
edit_run(folder, config=["not", "a", "config"])      # a part that is not a dict replaces it whole
write_old_layout(folder)                             # the four files of results formats 1 and 2
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from memorybench.storage.rundir import RUN_FILE, read_run, run_document


def edit_run(folder, **parts) -> Path:
    """Rewrite `folder`'s run.json with `parts` (config, result, environment: dicts merged into the stored
    ones, anything else in their place; curves: a DataFrame); returns run.json's path."""
    stored = read_run(folder)
    changes = {
        name: {**getattr(stored, name), **value} if isinstance(value, dict) else value for name, value in parts.items()
    }
    path = Path(folder) / RUN_FILE
    path.write_text(run_document(replace(stored, **changes)))
    return path


def write_old_layout(folder) -> None:
    """Turn `folder`'s run.json into the four files results formats 1 and 2 wrote (config.json, result.json,
    env.json, curves.csv), written as those versions wrote them."""
    stored = read_run(folder)
    for name, value in {
        "config.json": stored.config,
        "result.json": stored.result,
        "env.json": stored.environment,
    }.items():
        (Path(folder) / name).write_text(json.dumps(value, indent=2, sort_keys=True, allow_nan=True) + "\n")
    stored.curves.to_csv(Path(folder) / "curves.csv", index=False)
    (Path(folder) / RUN_FILE).unlink()
