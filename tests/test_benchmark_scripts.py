"""The benchmark scripts run from a fresh clone and print their figures (tiny budgets: no timing is judged here)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_script(name, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]  # the provenance line: command, commit, torch, device, date
    assert first.startswith("# ") and f"benchmarks/{name}" in first and "| commit " in first
    return done.stdout


def test_training_speed_prints_every_variant_and_writes_json(tmp_path):
    out = run_script("training_speed.py", "--device", "cpu", "--cells", "srn", "--seq-lens", "5", "--steps", "20", "--packs", "2",
                     "--json", str(tmp_path / "speed.json"))
    rows = json.loads((tmp_path / "speed.json").read_text())["rows"]
    assert [r["variant"] for r in rows] == ["eager single run", "eager block pack of 2", "eager stacked pack of 2"]
    assert rows[0]["ratio"] == 1.0 and all(r["model_steps_per_s"] == r["steps_per_s"] * r["models"] for r in rows)
    assert "eager stacked pack of 2" in out


def test_float_divergence_prints_each_execution():
    out = run_script("float_divergence.py", "--steps", "200", "--cells", "srn", "--seeds", "1")
    assert all(name in out for name in ("transparent single run", "stacked pack", "block-diagonal pack"))


def test_trainer_overhead_prints_the_overhead():
    assert "trainer overhead: " in run_script("trainer_overhead.py", "--steps", "30", "--repeats", "1", "--seq-len", "5")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_sweep_scaling_gets_the_same_results_with_two_workers():
    assert "same results: True" in run_script("sweep_scaling.py", "--runs", "2", "--steps", "50", "--workers", "2")
