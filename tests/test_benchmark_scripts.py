"""The benchmark scripts run from a fresh clone, and the figures they print agree with each
other and with what they write (tiny budgets: no speed is judged here)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from memorybench.cells import cells_in

ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)"


def run_script(name, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]  # the provenance line: command, commit, torch, device, date
    assert first.startswith("# ") and f"benchmarks/{name}" in first and "| commit " in first
    return done.stdout


def test_training_speed_prints_the_figures_it_writes(tmp_path):
    out = run_script(
        "training_speed.py",
        "--device",
        "cpu",
        "--cells",
        "srn",
        "--seq-lens",
        "5",
        "--steps",
        "20",
        "--packs",
        "2",
        "--json",
        str(tmp_path / "speed.json"),
    )
    rows = json.loads((tmp_path / "speed.json").read_text())["rows"]
    assert [r["variant"] for r in rows] == ["eager single run", "eager stacked pack of 2", "eager block pack of 2"]
    printed = [line.split() for line in out.splitlines() if line.startswith("srn ") and "not trained" not in line]
    assert "'srn' at execution='fused' does not run under torch.func.vmap" in out  # the mapped pack, named and skipped
    assert len(printed) == len(rows)
    base = rows[0]["model_steps_per_s"]
    for row, line in zip(rows, printed):
        model_steps, ms_per_step, ratio = map(float, line[-3:])
        assert row["model_steps_per_s"] == row["steps_per_s"] * row["models"] > 0
        assert model_steps == round(row["model_steps_per_s"]) and ms_per_step == round(
            1000 / row["model_steps_per_s"], 3
        )
        assert ratio == round(row["model_steps_per_s"] / base, 1) and row["ratio"] == pytest.approx(
            row["model_steps_per_s"] / base
        )


def test_training_speed_names_the_packs_a_layout_refuses_and_trains_the_others(tmp_path):
    out = run_script(
        "training_speed.py",
        "--device",
        "cpu",
        "--cells",
        "mingru",
        "--seq-lens",
        "5",
        "--steps",
        "10",
        "--packs",
        "2",
        "--json",
        str(tmp_path / "speed.json"),
    )
    rows = json.loads((tmp_path / "speed.json").read_text())["rows"]
    assert [r["variant"] for r in rows] == ["eager single run", "eager mapped pack of 2"]
    refused = [line for line in out.splitlines() if "not trained" in line]
    assert (
        len(refused) == 2
        and "torch's weight layout by the stacked layout" in refused[0]
        and "no fused kernel by the block layout" in refused[1]
    )


def test_float_divergence_prints_small_differences_after_100_steps():
    out = run_script("float_divergence.py", "--steps", "200", "--cells", "srn", "--seeds", "2")
    for name in ("transparent single run", "stacked pack", "block-diagonal pack"):
        cell = re.search(rf"^{name}\s+{NUMBER}/{NUMBER} (\d+)", out, re.M)
        median, largest, dev_differs = float(cell[1]), float(cell[2]), int(cell[3])
        assert median <= largest < 1e-4 and 0 <= dev_differs <= 2  # float rounding alone: tiny after 100 steps


@pytest.mark.parametrize(
    "compare, cases, ways",
    [
        ("optimizer", ("srn", "lstm-single"), ("torch Adam", "FlatAdam")),
        ("backward", ("gru",), ("autograd", "written")),
    ],
)
def test_side_by_side_prints_the_ratio_of_its_medians_and_the_same_bits(tmp_path, compare, cases, ways):
    out = run_script(
        "side_by_side.py",
        "--compare",
        compare,
        "--cases",
        *cases,
        "--steps",
        "30",
        "--repeats",
        "2",
        "--out",
        str(tmp_path / "o.txt"),
    )
    assert (tmp_path / "o.txt").read_text() == out
    lines = [line for line in out.splitlines() if line.startswith(tuple(f"{case} " for case in cases))]
    assert [line.split(" (")[0] for line in lines] == list(cases)
    for line in lines:
        assert (
            "(1 run)" if line.startswith("lstm-single") else f"({9 if line.startswith('srn') else 18} runs)"
        ) in line
        baseline, other = (
            float(re.search(rf"{way} ([0-9,]+) model-steps/s", line)[1].replace(",", "")) for way in ways
        )
        ratio = float(re.search(rf"{ways[1]}/{ways[0]} {NUMBER}x", line)[1])
        assert ratio == pytest.approx(other / baseline, abs=0.011) and line.endswith(
            "same bits: True"
        )  # of the rounded medians


def test_trainer_overhead_is_computed_from_the_printed_speeds():
    out = run_script("trainer_overhead.py", "--steps", "30", "--repeats", "1", "--seq-len", "5")
    bare = float(re.search(rf"bare fused loop.*:\s+{NUMBER} steps/s", out)[1])
    trainer = float(re.search(rf"trainer \(whole run.*:\s+{NUMBER} steps/s", out)[1])
    overhead = float(re.search(rf"trainer overhead: {NUMBER}%", out)[1])
    assert bare > 0 and trainer > 0 and overhead == pytest.approx((bare / trainer - 1) * 100, abs=0.2)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_sweep_scaling_prints_its_speed_up_and_the_same_results_with_two_workers():
    out = run_script("sweep_scaling.py", "--runs", "2", "--steps", "50", "--workers", "2")
    one = float(re.search(rf"1 worker :\s+{NUMBER} s", out)[1])
    two = float(re.search(rf"2 workers:\s+{NUMBER} s", out)[1])
    speed_up = float(re.search(rf"speed-up : {NUMBER}x", out)[1])
    assert speed_up == pytest.approx(one / two, abs=0.06) and "same results: True" in out


def test_compare_results_finds_the_run_that_differs(quick_store, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(quick_store.root, copy)
    same = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare_results.py"), str(quick_store.root), str(copy)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert (
        same.returncode == 0
        and "identical test_score, test_loss, best_dev_score, best_step, steps_done, status: 12 of 12 runs"
        in same.stdout
    )
    folder = next(p for p in (copy / "runs").iterdir())
    from tests.runfiles import edit_run

    edit_run(
        folder, result={"test_score": json.loads((folder / "run.json").read_text())["result"]["test_score"] + 0.01}
    )
    shutil.rmtree(next(p for p in (copy / "runs").iterdir() if p != folder))
    changed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare_results.py"), str(quick_store.root), str(copy)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert changed.returncode == 1 and f"differs: {folder.name}" in changed.stdout and "only in old" in changed.stdout
    assert "11 of 11 runs" not in changed.stdout and "10 of 11 runs" in changed.stdout


def test_help_time_times_every_command_and_names_what_it_imported(tmp_path):
    out = run_script("help_time.py", "--repeats", "1", "--out", str(tmp_path / "help.txt"))
    rows = [line for line in out.splitlines() if line.startswith("memorybench ")]
    assert len(rows) == 12 and all(line.split()[-1] == "none" and "--help" in line for line in rows)
    assert float(re.search(rf"import torch\s+{NUMBER}", out)[1]) > 0 and (tmp_path / "help.txt").read_text() == out


def test_explosion_retrain_flags_exactly_the_figures_outside_their_interval(tmp_path):
    from memorybench.diagnostics.explosion_command import main as explosion

    folder = tmp_path / "explosion"
    assert explosion(["--cells", "srn_book", "lstm", "--seeds", "3", "--steps", "12", "--out", str(folder)]) == 0
    out = run_script("explosion_retrain.py", "--folder", str(folder))
    assert (
        "srn_book: initial weights one ulp larger" in out
        and "lstm: execution='transparent' instead of the fused kernel" in out
    )
    rows = re.findall(
        rf"^(srn_book|lstm)\s+(none|per_param)\s+(W|U|b)\s+(\w+)\s+{NUMBER} \[{NUMBER}, {NUMBER}\]\s+{NUMBER}(.*)$",
        out,
        re.M,
    )
    assert len(rows) == 2 * 2 * 3 * 3  # cells x clippings x parameters x quantities
    outside = [r for r in rows if not float(r[5]) <= float(r[7]) <= float(r[6])]
    assert [r for r in rows if "MOVED" in r[8]] == outside
    assert f"after the retrain: {len(outside)} of 36" in out
    assert len(re.findall(r"^(srn_book|lstm)\s+(none|per_param)\s+.*\(n=3\).* of 3", out, re.M)) == 4


def test_scan_speed_prints_both_executions_and_the_faster():
    out = run_script("scan_speed.py", "--lengths", "5", "--batches", "2", "--repeats", "2")
    rows = re.findall(rf"^(mingru|minlstm)\s+5\s+2\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+(scan|step)", out, re.M)
    assert [r[0] for r in rows] == ["mingru", "minlstm"]
    for (
        _,
        step,
        scan,
        ratio,
        faster,
    ) in rows:  # the times are printed to 0.01 ms: the ratio lies within what that rounding allows
        step, scan, ratio = float(step), float(scan), float(ratio)
        assert (scan - 0.005) / (step + 0.005) - 0.005 <= ratio <= (scan + 0.005) / max(step - 0.005, 1e-9) + 0.005
        assert faster == ("scan" if scan < step else "step") or abs(scan - step) <= 0.01


def reference_folders() -> tuple[dict[str, str], list[str]]:
    """benchmarks/reference_folders.sh's `sweeps` (folder -> arguments) and `searched` (folders)."""
    text = (ROOT / "benchmarks" / "reference_folders.sh").read_text()
    sweeps = dict(re.findall(r'\[([\w-]+)\]="([^"]*)"', re.search(r"declare -A sweeps=\((.*?)\n\)", text, re.S)[1]))
    return sweeps, re.search(r"^searched=\(([^)]*)\)", text, re.M)[1].split()


def test_regenerating_the_results_searches_again_every_horizon_a_folder_holds():
    # regenerate_results.sh deletes a folder's own runs, the horizon search's probes among them: each search a
    # committed folder records must be run again (on its first sweep's arguments), with the same task and cells,
    # or its searched horizons are lost
    sweeps, searched = reference_folders()
    recorded, held = {}, set()
    for store in sorted((ROOT / "results").glob("*/store.json")):
        commands = [
            s["command"] for s in json.loads(store.read_text())["sweeps"] if "memorybench horizon" in s["command"]
        ]
        if commands and store.parent.name in sweeps:
            recorded[store.parent.name] = commands
        if (store.parent / "tables" / "search_horizons.csv").exists() and store.parent.name in sweeps:
            held.add(store.parent.name)  # a search whose command predates its recording (copy's) counts too
    assert recorded and set(searched) == set(recorded) | held

    def task(args):
        return (re.search(r"--task (\w+)", args) or [None, "nndl"])[1]

    def cells(args):
        named = (re.search(r"--cells ([\w ]+?)(?= --|$)", args) or [None, " ".join(cells_in("classic"))])[1].split()
        return set(cells_in("classic", "modern")) if named == ["all"] else set(named)

    for name, commands in recorded.items():
        search = sweeps[name].split(";")[0]
        assert {task(c) for c in commands} == {task(search)}, name
        assert set().union(*map(cells, commands)) == cells(search), name


@pytest.mark.slow
def test_tuned_cost_prints_each_side_and_ratios_that_agree():
    out = run_script("tuned_cost.py", "--cells", "srn", "lstm", "--lengths", "5", "--seeds", "2", "--steps", "20",
                     "--workers", "1")  # fmt: skip
    sides = re.findall(rf"(\d+) runs, ([\d,]+) model-steps, [\d,]+ model-steps x length, {NUMBER} s", out)
    (runs_p, steps_p, wall_p), (runs_t, steps_t, wall_t) = [
        (int(r), int(s.replace(",", "")), float(w)) for r, s, w in sides
    ]
    assert (runs_p, runs_t) == (4, 18)  # 2 seeds x (srn 4 recipes + lstm 5), against 2 x 2 at the protocol's
    ratio = re.search(rf"runs {NUMBER}x, model-steps {NUMBER}x, wall time {NUMBER}x", out)
    assert float(ratio[1]) == round(runs_t / runs_p, 2) and float(ratio[2]) == round(steps_t / steps_p, 2)
    assert float(ratio[3]) == pytest.approx(wall_t / wall_p, rel=0.02)  # the walls are printed to 1 ms


@pytest.mark.slow
def test_halving_agreement_replays_a_four_rate_grid(tmp_path):
    folder = tmp_path / "grid"
    done = subprocess.run(
        [sys.executable, "-m", "memorybench", "run", "--cells", "srn", "--lengths", "4", "6", "--seeds", "2", "--lr",
         "3e-4", "1e-3", "3e-3", "1e-2", "--quick", "--out", str(folder), "--no-progress", "--yes", "--allow-dirty",
         "--workers", "1"], capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = run_script("halving_agreement.py", "--folder", str(folder), "--rungs", "0.5", "1")
    lines = [line for line in out.splitlines() if line.startswith("rung ")]
    assert len(lines) == 2 and all("of cell x length cases" in line for line in lines)
    cases = re.search(r"in (\d+)/(\d+) \(", lines[1])
    assert cases[2] == "2" and cases[1] == "2"  # at the full budget halving reads what the full grid reads
    assert "saves 12%" in lines[0] and "saves 0%" in lines[1]  # one of 4 rates halted at half its budget: 1/8
