"""benchmarks/grad_logging_cost.py runs from a fresh clone, and the figures it prints agree with each
other and with what it writes (a tiny budget: no speed is judged here)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)"


def test_grad_logging_cost_prints_the_ratio_of_the_speeds_it_writes(tmp_path):
    path = tmp_path / "cost.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "grad_logging_cost.py"),
            "--cells",
            "srn",
            "lstm",
            "--steps",
            "20",
            "--repeats",
            "2",
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]  # the provenance line: command, commit, torch, device, date
    assert first.startswith("# ") and "benchmarks/grad_logging_cost.py" in first and "| commit " in first
    written = json.loads(path.read_text())
    rows = written["rows"]
    assert (written["steps"], written["repeats"], written["seq_len"]) == (20, 2, 20)
    assert [r["setting"] for r in rows] == [
        "srn nndl (Adam, batch 8)",
        "lstm nndl (Adam, batch 8)",
        "srn section 6.2 (SGD 0.2, batch 64, sum)",
    ]
    assert [(r["cell"], r["batch_size"], r["optimizer"]) for r in rows] == [
        ("srn", 8, "adam"),
        ("lstm", 8, "adam"),
        ("srn", 64, "sgd"),
    ]
    for row in rows:
        assert (
            len(row["without_runs"]) == len(row["with_runs"]) == 2 and min(row["without_runs"] + row["with_runs"]) > 0
        )
        assert row["without_steps_per_s"] == pytest.approx(sum(row["without_runs"]) / 2)  # the median of two
        assert row["with_steps_per_s"] == pytest.approx(sum(row["with_runs"]) / 2)
        assert row["ratio"] == pytest.approx(row["with_steps_per_s"] / row["without_steps_per_s"])
        pair_ratios = [w / b for w, b in zip(row["with_runs"], row["without_runs"])]
        assert (row["ratio_low"], row["ratio_high"]) == pytest.approx((min(pair_ratios), max(pair_ratios)))
        assert row["pair_ratio_median"] == pytest.approx(sum(pair_ratios) / 2)
        line = re.search(
            rf"^{re.escape(row['setting'])}\s+{NUMBER} \[.*?\]\s+{NUMBER} \[.*?\]\s+{NUMBER} \[{NUMBER}-{NUMBER}\]$",
            done.stdout,
            re.M,
        )
        without, with_, ratio, low, high = map(float, line.groups())
        assert (without, with_) == (round(row["without_steps_per_s"], 1), round(row["with_steps_per_s"], 1))
        assert ratio == round(row["ratio"], 3) and ratio == pytest.approx(with_ / without, abs=2e-3)
        assert (
            (low, high) == (round(row["ratio_low"], 3), round(row["ratio_high"], 3))
            and low <= ratio + 1e-3
            and ratio <= high + 1e-3
        )
