"""Interrupting a real sweep process: Ctrl-C (early, late, twice), SIGTERM, SIGKILL, and two sweeps
on one folder. Every case ends with no process left, no run recorded as failed, and a re-run
that finishes what is missing."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from memorybench.storage.store import ResultsStore

# real processes and signals: slow, so run with -m slow; /proc and PR_SET_PDEATHSIG are Linux's
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="reads /proc and relies on PR_SET_PDEATHSIG (Linux only)"
    ),
]
ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "--lengths",
    "5",
    "8",
    "--cells",
    "srn",
    "lstm",
    "gru",
    "--seeds",
    "2",
    "--pack",
    "1",
    "--quick",
    "--no-progress",
    "--device",
    "cpu",
    "--workers",
    "2",
]
RUNS = 12


def start(out: Path, *extra) -> subprocess.Popen:
    """The sweep in its own process group (as a shell runs a command), its workers inside it."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_all.py"), *ARGS, "--out", str(out), *extra],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def stored(out: Path) -> list[Path]:
    runs = out / "runs"
    return [p for p in runs.glob("[!.]*") if (p / "run.json").exists()] if runs.exists() else []


def wait_for(condition, seconds=120):
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def handles_interrupts(pid: int) -> bool:
    """Whether run_all.py's first lines have installed its handlers (Linux: SigCgt in /proc/PID/status). SIGTERM's
    bit, not SIGINT's: Python catches SIGINT from its own start (KeyboardInterrupt), SIGTERM only once run_all.py
    has installed its handlers for both, SIGINT's first."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def group_gone(pgid: int, seconds=10) -> bool:
    """No process is left in the sweep's process group (workers included)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def finish_and_check(out: Path, already: int):
    """Re-run the same command: it trains the rest, and no run anywhere is failed."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "run_all.py"), *ARGS, "--out", str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"{RUNS - already} runs trained, {already} already complete, 0 failed" in done.stdout
    runs = pd.read_csv(out / "tables" / "runs.csv")
    assert len(runs) == RUNS and (runs["status"] == "ok").all()


@pytest.mark.parametrize(
    "signals",
    [[signal.SIGINT], [signal.SIGINT, signal.SIGINT], [signal.SIGTERM]],
    ids=["ctrl-c", "ctrl-c-twice", "sigterm"],
)
def test_an_interrupt_mid_sweep_stops_everything_and_keeps_the_finished_runs(tmp_path, signals):
    out = tmp_path / "results"
    process = start(out)
    wait_for(lambda: len(stored(out)) >= 1)
    for i, sig in enumerate(signals):
        if i:
            time.sleep(0.3)  # a person's second Ctrl-C: sent back to back, two signals can merge into one
        # Ctrl-C reaches the whole foreground group; `kill PID` the driver alone
        os.killpg(process.pid, sig) if sig == signal.SIGINT else process.send_signal(sig)
    started = time.time()
    _, err = process.communicate(timeout=30)
    assert time.time() - started < 10 and process.returncode == 130 and "Traceback" not in err
    # the sweep unwinds and says what is stored; a second Ctrl-C while it unwinds exits at once, saying so
    # (after the first one's line, if the sweep had already said it); what was stored stays whole (below)
    said = "re-run the same command to train the remaining" in err
    assert said or (len(signals) > 1 and "memorybench: interrupted again; exiting now" in err)
    assert group_gone(process.pid)
    kept = stored(out)
    assert 1 <= len(kept) < RUNS and all(
        json.loads((p / "run.json").read_text())["result"]["status"] == "ok" for p in kept
    )
    assert ResultsStore(out).holder() is None
    finish_and_check(out, len(kept))
    assert not list((out / "runs").glob(".*"))  # hidden leftovers of the interrupted sweep are removed by the next one


def test_ctrl_c_during_imports_stores_nothing_and_leaves_nothing_running(tmp_path):
    out = tmp_path / "results"
    process = start(out)
    wait_for(
        lambda: handles_interrupts(process.pid), seconds=30
    )  # its first lines ran: now it imports torch and the rest
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "Traceback" not in err and "interrupted" in err
    assert group_gone(process.pid) and stored(out) == []
    finish_and_check(out, 0)


def test_a_killed_driver_takes_its_workers_with_it(tmp_path):
    out = tmp_path / "results"
    process = start(out)
    wait_for(lambda: len(stored(out)) >= 1)
    process.send_signal(signal.SIGKILL)  # no handler runs: the kernel stops the workers (PR_SET_PDEATHSIG)
    process.communicate(timeout=30)
    assert group_gone(process.pid)
    finish_and_check(out, len(stored(out)))  # its stale lock is taken over


def test_a_second_sweep_on_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    out = tmp_path / "results"
    first = start(out)
    wait_for(lambda: (out / ".lock.holder").exists())
    second = subprocess.run(
        [sys.executable, str(ROOT / "run_all.py"), *ARGS, "--out", str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
    )
    assert second.returncode == 2 and f"another sweep (process {first.pid}, started " in second.stderr
    assert second.stderr.count("\n") == 1
    first.communicate(timeout=300)
    assert first.returncode == 0 and len(stored(out)) == RUNS and ResultsStore(out).holder() is None
