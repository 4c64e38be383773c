"""Recorded commands made rerunnable (issue 42, case 9): `store rebuild` corrects old records and flags the rest,
keeping every other field of the folder's record."""

import json

import pytest

from memorybench.cli.main import main

OLD = {
    "memorybench --task adding --seeds 3 --out results/adding": "memorybench run --task adding --seeds 3 --out results/adding",
    "memorybench horizon horizon --task adding --cells gru": "memorybench horizon --task adding --cells gru",
    "/tmp/frozen/memorybench/__main__.py run --task flip_flop": "memorybench run --task flip_flop",
    "python -m memorybench.explosion --seeds 5": "memorybench explosion --seeds 5",
    "memorybench run --lengths 5 10": "memorybench run --lengths 5 10",
}


@pytest.mark.slow
def test_store_rebuild_corrects_old_commands_keeps_the_record_and_flags_the_rest(quick_copy, capsys):
    meta = json.loads(quick_copy.meta_path.read_text())
    sweeps = [{"command": old, "runs_trained": i, "date": "2026-11-01"} for i, old in enumerate(OLD)] + [
        {"command": "make results"}
    ]
    quick_copy.meta_path.write_text(json.dumps({**meta, "sweeps": sweeps}))
    assert main(["store", "rebuild", str(quick_copy.root)]) == 0
    assert "12 intact runs; 4 recorded commands corrected to rerun as typed today, 1 flagged" in capsys.readouterr().out
    rebuilt = json.loads(quick_copy.meta_path.read_text())
    assert [s["command"] for s in rebuilt["sweeps"][:-1]] == list(OLD.values())
    assert [s["runs_trained"] for s in rebuilt["sweeps"][:-1]] == list(range(len(OLD))) and rebuilt["format"] == meta[
        "format"
    ]
    assert rebuilt["sweeps"][0]["command_as_recorded"] == "memorybench --task adding --seeds 3 --out results/adding"
    assert "command_as_recorded" not in rebuilt["sweeps"][4] and "command_note" in rebuilt["sweeps"][-1]
    assert (
        "`memorybench run --task adding --seeds 3 --out results/adding`" in (quick_copy.root / "report.md").read_text()
    )
    assert (
        main(["store", "rebuild", str(quick_copy.root)]) == 0
    )  # again: nothing left to correct, the first record kept
    assert "0 recorded commands corrected" in capsys.readouterr().out
    assert json.loads(quick_copy.meta_path.read_text())["sweeps"][0]["command_as_recorded"] == sweeps[0]["command"]
