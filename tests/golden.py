"""Golden runs: a few short runs of every execution path, with their scores stored in the repo.

    python -m tests.golden            # rewrite tests/golden_runs.json from the current code

The file holds one record per machine kind (`memorybench.engine.machine.machine_kind()`: CPU
model, the kernels torch and oneDNN pick for it, torch version and thread count); running this again on another kind adds
its record, on the same kind replaces it. `tests/engine/test_golden.py` retrains each case and
compares it bit for bit with the record of this machine's kind, if there is one, and to a
stated float tolerance with every other record: kernels for other CPUs, instruction sets
(`ATEN_CPU_CAPABILITY`) or thread counts round differently. A refactor that moves code
must keep them equal; a change that means to alter the science rewrites the file in its
own commit and says why.

"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from memorybench.config import protocol_config
from memorybench.engine.machine import machine_kind

GOLDEN_PATH = Path(__file__).with_name("golden_runs.json")
BUDGET = dict(steps=300, eval_interval=50, device="cpu")


def _config(protocol, cell, seq_len=6, seed=0, **kw):
    return protocol_config(protocol, cell=cell, seq_len=seq_len, seed=seed, **{**BUDGET, **kw})


# name -> (execution path, configs); packs list every member
CASES = {
    "single-srn-nndl": ("single", [_config("nndl", "srn")]),
    "single-lstm-shuffled": ("single", [_config("nndl-shuffled", "lstm", seed=1)]),
    "single-gru-stream": ("single", [_config("stream", "gru")]),
    "single-lstm-transparent": ("single", [_config("nndl", "lstm", execution="transparent")]),
    "single-srn-clip-global": (
        "single",
        [_config("nndl", "srn", clip="global", clip_value=0.5, optimizer="sgd", lr=0.2)],
    ),
    "single-gru-clip-per-param": (
        "single",
        [_config("nndl", "gru", clip="per_param", clip_value=0.5, optimizer="sgd", lr=0.2)],
    ),
    "stacked-gru-seeds": ("stacked", [_config("nndl", "gru", seed=s) for s in range(3)]),
    "stacked-srn-lengths": (
        "stacked",
        [_config("nndl-shuffled", "srn", seq_len=n, seed=s) for n in (8, 4) for s in range(2)],
    ),
    "block-lstm-seeds": ("block", [_config("nndl", "lstm", seed=s) for s in range(2)]),
    # the modern cells (issue 44), one run each at their CPU execution (step by step); recorded from 2026-12-07 on, so
    # the machine kinds recorded before hold none of them
    "single-indrnn-nndl": ("single", [_config("nndl", "indrnn")]),
    "single-mingru-nndl": ("single", [_config("nndl", "mingru")]),
    "single-minlstm-nndl": ("single", [_config("nndl", "minlstm")]),
    "single-lru-nndl": ("single", [_config("nndl", "lru")]),
}


def run_case(name: str) -> list[dict]:
    """Train one case; one record per run: scores, best step, steps done and every curve value."""
    from memorybench.engine.loop import train_pack

    path, configs = CASES[name]
    results = [output.result for output in train_pack(configs, layout=path)]
    return [
        dict(
            test_accuracy=r.test_score,
            test_loss=r.test_loss,
            best_dev=r.best_dev_score,
            best_step=r.best_step,
            steps_done=r.steps_done,
            train_loss=[c["train_loss"] for c in r.curves],
            dev_loss=[c["dev_loss"] for c in r.curves],
        )
        for r in results
    ]


def thread_count() -> int:
    """The tests' torch threads: $MEMORYBENCH_TEST_THREADS, default 1 (as each sweep worker trains)."""
    return int(os.environ.get("MEMORYBENCH_TEST_THREADS", "1"))


def load_records() -> list[dict]:
    """The stored records, each {"machine": machine_kind(), "cases": {name: run_case(name)}}.

    >>> all(" | torch " in record["machine"] for record in load_records())
    True
    """
    return json.loads(GOLDEN_PATH.read_text())["records"] if GOLDEN_PATH.exists() else []


def main() -> None:
    torch.set_num_threads(thread_count())
    kind = machine_kind()
    records = [r for r in load_records() if r["machine"] != kind]
    records.append({"machine": kind, "cases": {name: run_case(name) for name in CASES}})
    GOLDEN_PATH.write_text(json.dumps({"records": records}, indent=1) + "\n")
    print(f"wrote {GOLDEN_PATH}: {len(CASES)} cases for {kind}; {len(records)} machine kinds in all")


if __name__ == "__main__":
    main()
