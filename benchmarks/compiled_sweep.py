"""The compiled path end to end: a whole sweep eager against the same sweep with `--compile`, compile time included.

    python benchmarks/compiled_sweep.py [--steps 19000] [--lengths 5 10 15 20 25 30] [--cells srn lstm gru]
                                        [--seeds 3] [--workers 2] [--repeats 1] [--warm]

Each variant is `run_all.py` in a fresh process into a fresh folder (the default packing: every cell's
runs in stacked packs spanning lengths, the LSTM too where its pack is large enough), so the compiled
variant pays every compile its workers do: by default with an empty inductor cache each time (a
user's first sweep; `--warm` keeps one cache across the compiled repeats, a later sweep). Repeats are
interleaved (eager, compiled, eager, ...). Prints each variant's wall time, the median ratio, the
model-steps/s of each cell (runs x steps / the sum of its jobs' wall times), and how many runs give the
same test score both ways (the same function in another summation order: float rounding, amplified
over training, moves some). The long single run is `--lengths 30 --seeds 1 --cells lstm`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memorybench.storage.provenance import provenance_line  # noqa: E402
from memorybench.storage.rundir import read_run  # noqa: E402


def sweep(args, out: Path, compiled: bool, cache: Path) -> float:
    """Wall seconds of one run_all.py sweep into `out` (eager, or `--compile` with inductor's cache in `cache`)."""
    command = [
        sys.executable,
        str(ROOT / "run_all.py"),
        "--lengths",
        *map(str, args.lengths),
        "--cells",
        *args.cells,
        "--seeds",
        str(args.seeds),
        "--steps",
        str(args.steps),
        "--workers",
        str(args.workers),
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        str(out),
    ] + (["--compile"] if compiled else [])
    env = dict(os.environ, PYTHONPATH=str(ROOT), TORCHINDUCTOR_CACHE_DIR=str(cache))
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def results(out: Path) -> dict[str, dict]:
    """run id -> its stored result."""
    return {p.parent.name: read_run(p.parent).result for p in (out / "runs").glob("*/run.json")}


def model_steps_per_s(runs: dict[str, dict], configs: dict[str, dict]) -> dict[str, float]:
    """Per cell: the runs' own steps over the summed wall time of their jobs (a pack's time counted once)."""
    steps, seconds = {}, {}
    for run_id, result in runs.items():
        cell = configs[run_id]["cell"]
        steps[cell] = steps.get(cell, 0) + result["steps_done"]
        seconds[cell] = seconds.get(cell, 0.0) + result["wall_time_s"] / max(1, result.get("pack_size") or 1)
    return {cell: steps[cell] / seconds[cell] for cell in steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=19_000)
    parser.add_argument("--lengths", type=int, nargs="+", default=[5, 10, 15, 20, 25, 30])
    parser.add_argument("--cells", nargs="+", default=["srn", "lstm", "gru"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--warm", action="store_true", help="keep one inductor cache across the compiled repeats")
    args = parser.parse_args()
    print(provenance_line())
    runs = len(args.lengths) * len(args.cells) * args.seeds
    print(
        f"{runs} runs x {args.steps} steps ({' '.join(args.cells)}; L = {' '.join(map(str, args.lengths))}; {args.seeds} seeds), "
        f"{args.workers} workers, {'warm' if args.warm else 'cold'} compile cache"
    )
    times = {False: [], True: []}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        shared_cache = scratch / "inductor-shared"
        folders = {}
        for repeat in range(args.repeats):
            for compiled in (False, True):
                out = scratch / f"{'compiled' if compiled else 'eager'}-{repeat}"
                cache = shared_cache if args.warm else scratch / f"inductor-{repeat}"
                seconds = sweep(args, out, compiled, cache)
                times[compiled].append(seconds)
                folders[compiled] = out
                print(f"{'compiled' if compiled else '   eager'}: {seconds:7.1f} s", flush=True)
        eager, compiled = (statistics.median(times[k]) for k in (False, True))
        print(
            f"median eager {eager:.1f} s, compiled {compiled:.1f} s: compiled takes {compiled / eager:.2f}x the wall time "
            f"({eager / compiled:.2f}x the speed)"
        )
        configs = {p.parent.name: read_run(p.parent).config for p in (folders[False] / "runs").glob("*/run.json")}
        a, b = results(folders[False]), results(folders[True])
        rate_a, rate_b = model_steps_per_s(a, configs), model_steps_per_s(b, configs)
        for cell in args.cells:
            print(
                f"{cell:5} model-steps/s: eager {rate_a[cell]:8.0f}, compiled {rate_b[cell]:8.0f} ({rate_b[cell] / rate_a[cell]:.2f}x; "
                f"packing {sorted({r['packing'] for i, r in b.items() if configs[i]['cell'] == cell})})"
            )
        same = sum(a[i]["test_score"] == b[i]["test_score"] for i in a)
        print(f"runs with the same test score eager and compiled: {same} of {len(a)}")


if __name__ == "__main__":
    main()
