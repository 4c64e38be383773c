"""The horizon search: the pure search on stubs whose true horizon is known, and the command."""

import pytest

from memorybench.cli.horizon import main
from memorybench.analysis.search_rule import Search


def run_search(search: Search, passes) -> dict[int, bool]:
    probes = {}
    while (length := search.next_length(probes)) is not None:
        assert length not in probes  # never a length twice
        probes[length] = passes(length)
    return probes


@pytest.mark.parametrize("true", [3, 7, 29, 30, 31, 44, 100, 239])
@pytest.mark.parametrize("start", [5, 30])
def test_the_search_finds_a_known_horizon_up_and_down_to_its_resolution(true, start):
    search = Search(start=start, min_length=3, cap=240)
    probes = run_search(search, lambda n: n <= true)
    reading = search.reading(probes)
    assert reading["censored"] == "none" and reading["last_pass"] <= true < reading["first_fail"]
    assert reading["first_fail"] - reading["last_pass"] <= max(1, -(-true // 10))  # ceil(0.1 * last pass) at most
    assert len(probes) <= 12


def test_a_horizon_at_the_cap_or_below_the_minimum_is_censored_and_never_silent():
    search = Search(start=30, min_length=3, cap=240)
    above = search.reading(run_search(search, lambda n: True))
    assert (above["censored"], above["horizon"], above["bracket"]) == ("above", 240, None)
    below = search.reading(run_search(search, lambda n: False))
    assert (below["censored"], below["horizon"], below["first_fail"]) == ("below", None, 3)


def test_a_score_that_is_not_monotone_stands_below_the_first_fail_and_keeps_its_longest_pass():
    # a sweep's runs: passes at 20 and 30 but fails at 25 (nndl-shuffled GRU in the committed grid)
    search = Search(start=30, min_length=3, cap=240)
    probes = {20: True, 25: False, 30: True}
    while (length := search.next_length(probes)) is not None:
        probes[length] = length <= 22 or length in range(30, 36)
    reading = search.reading(probes)
    assert (reading["horizon"], reading["first_fail"], reading["longest_pass"]) == (22, 25, 30) and reading[
        "censored"
    ] == "none"


@pytest.mark.parametrize("stored", [{}, {30: True, 25: False}, {30: False}])
@pytest.mark.parametrize("k", [1, 3])
def test_the_costliest_outcome_bounds_every_search_and_is_reached_by_one(stored, k):
    search = Search(start=30, min_length=3, cap=240)
    worst = search.costliest(stored, k)
    assert not set(worst) & set(stored)  # a stored probe costs nothing
    spent = []
    for true in range(2, 241):
        probes = dict(stored)
        while lengths := search.next_lengths(probes, k):
            probes.update({n: n <= true for n in lengths})
        spent.append(sum(probes) - sum(stored))
    assert max(spent) == sum(worst)


def test_the_plan_line_prices_the_costliest_search_at_the_stored_runs_speed(tmp_path, capsys):
    from memorybench.cli.horizon import cost_line
    import pandas as pd

    stored = pd.DataFrame(
        dict(
            cell=["gru", "gru", "lstm"],
            steps=[100, 100, 50],
            status=["ok", "ok", "ok"],
            seq_len=[10, 30, 10],
            wall_time_s=[10.0, 60.0, 1.0],
            pack_size=[1, 2, 1],
        )
    )
    line = cost_line({"gru": [40, 80], "lstm": [40]}, stored, seeds=2, steps=100, workers=2)
    # gru: a run costs (1.0 + 1.0) / 2 = 1 s per unit of length: 2 seeds x 120 / 2 workers = 120 s; lstm has no run at 100 steps
    assert (
        line
        == "at most 6 runs (gru 40, 80; lstm 40): about 2 min of training for gru at the stored runs' speed; lstm: no stored run at 100 steps to price"
    )
    assert main(["--task", "adding", "--cells", "gru", "--dry-run", "--out", str(tmp_path / "new")]) == 0
    assert (
        "at most 21 runs (gru 100, 200, 400, 800, 600, 700, 750); gru: no stored run at 5000 steps to price"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--max-length", "2"], "--max-length 2 is below task nndl's minimum length (allowed: integers >= 3)"),
        (["--resolution", "0"], "argument --resolution: resolution 0 is not allowed (allowed: numbers > 0)"),
        (["--growth", "1"], "argument --growth: growth 1 is not allowed (allowed: numbers > 1)"),
        (["--task", "nope"], "argument --task: invalid choice: 'nope'"),
        (["--cells", "elman"], "argument --cells: invalid choice: 'elman'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and not out.exists()


def test_dry_run_prints_the_plan_and_the_first_round_and_trains_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--task", "adding", "--cells", "gru", "lstm", "--dry-run", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "start 100, x2, cap 800" in printed
        and "first round: gru L=100, lstm L=100 (6 runs" in printed
        and not out.exists()
    )


def test_dry_run_on_an_empty_results_folder_prices_nothing_and_writes_nothing(tmp_path, capsys):
    from memorybench.storage.store import ResultsStore

    out = ResultsStore.open(tmp_path / "empty").root
    before = sorted(p.name for p in out.rglob("*"))
    assert main(["--task", "nndl", "--cells", "srn", "--dry-run", "--out", str(out)]) == 0
    assert (
        "srn: no stored run at 19000 steps to price" in capsys.readouterr().out
        and sorted(p.name for p in out.rglob("*")) == before
    )


@pytest.mark.slow
def test_a_real_search_through_the_command_resumes_after_ctrl_c_without_retraining_a_probe(tmp_path):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    root = Path(__file__).resolve().parents[2]
    command = lambda out: [
        sys.executable,
        "-m",
        "memorybench",
        "horizon",
        "--task",
        "nndl",
        "--cells",
        "srn",
        "--seeds",
        "2",
        "--quick",
        "--max-length",
        "12",
        "--workers",
        "1",
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        str(out),
    ]
    whole = subprocess.run(command(tmp_path / "whole"), capture_output=True, text=True, cwd=root, timeout=300)
    assert whole.returncode == 0, whole.stderr
    rounds = [line for line in whole.stdout.splitlines() if line.startswith("round ")]
    assert len(rounds) >= 2 and "## Horizon search" in (tmp_path / "whole" / "report.md").read_text()

    stopped = subprocess.Popen(
        command(tmp_path / "resumed"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root
    )
    for line in stopped.stdout:
        if line.startswith("round 1:"):
            stopped.send_signal(signal.SIGINT)
            break
    stopped.wait(timeout=120)
    stored = len(list((tmp_path / "resumed" / "runs").iterdir()))
    assert stopped.returncode in (130, 0) and stored >= 2  # round 1's probe (2 seeds) kept
    resumed = subprocess.run(command(tmp_path / "resumed"), capture_output=True, text=True, cwd=root, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    total = len(list((tmp_path / "whole" / "runs").iterdir()))
    assert f"{total - stored} runs trained" in resumed.stdout  # no stored probe trained again
    import json

    recorded = json.loads((tmp_path / "whole" / "store.json").read_text())["sweeps"][
        -1
    ]  # the search's machine and wall time
    assert (
        recorded["command"].startswith("memorybench horizon --task nndl ")
        and recorded["runs_trained"] == total
        and recorded["wall_time_s"] > 0
    )
    for name in ("search_horizons.csv", "search_probes.csv"):  # the same answer, bit for bit (the time it took aside)
        read = lambda folder: pd.read_csv(tmp_path / folder / "tables" / name).drop(columns="wall_time_s")
        pd.testing.assert_frame_equal(read("whole"), read("resumed"))


@pytest.mark.parametrize("true", [3, 9, 30, 37, 100, 240])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_probing_several_lengths_a_round_finds_the_same_horizon_in_fewer_rounds(true, k):
    search = Search(start=30, min_length=3, cap=240)
    passes = lambda n: n <= true
    one_at_a_time = run_search(search, passes)
    probes, rounds = {}, 0
    while lengths := search.next_lengths(probes, k):
        rounds += 1
        assert len(lengths) <= k and not set(lengths) & set(probes)
        probes.update({n: passes(n) for n in lengths})
    assert search.reading(probes) == search.reading(one_at_a_time)
    assert rounds < len(one_at_a_time) or len(one_at_a_time) == 1


def test_a_round_of_three_holds_the_next_length_for_either_outcome():
    search = Search(start=30, min_length=3, cap=240)
    assert search.next_lengths({}, 3) == [30, 60, 15]  # 30; then 60 if it passes, 15 if it fails
    assert search.next_lengths({30: True, 60: False}, 3) == [
        45,
        52,
        37,
    ]  # bisecting: the middle, then both halves' middles


def test_dry_run_on_many_workers_probes_several_lengths_per_cell(tmp_path, capsys):
    assert (
        main(
            [
                "--task",
                "nndl",
                "--cells",
                "gru",
                "--seeds",
                "2",
                "--workers",
                "6",
                "--dry-run",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert (
        "6 worker(s): 3 length(s) per cell a round" in printed
        and "first round: gru L=30, gru L=60, gru L=15 (6 runs" in printed
    )
