#!/usr/bin/env bash
# Every GPU check and figure in one call, for a session with a lent GPU (see benchmarks/README.md):
#
#   MEMORYBENCH_COMMIT=$(git rev-parse HEAD) bash benchmarks/gpu_suite.sh OUTDIR   # on the GPU machine
#   DEVICE=cpu STEPS=200 bash benchmarks/gpu_suite.sh OUTDIR                        # rehearsal here first
#
# Steps, each bounded by `timeout` and writing into OUTDIR as it goes (OUTDIR/suite.log holds
# every step's output, so a step killed at its limit still leaves what it printed):
# 1. the environment: `pip show` of every dependency; a missing one stops the suite with one line;
# 2. the CUDA tests (`pytest -m cuda`: packed + graphed runs against single eager runs);
# 3. training throughput: eager single run against graphed packs of 1, 5 and 30, both packed
#    layouts, every cell at L=30, the modern cells' eager single runs too (OUTDIR/training-DEVICE.json);
# 4. the 5-seed book sweep (90 runs) into RESULTS, timed (target on an H100: under 60 s); its
#    seeds 0-2 are the default sweep's runs, so there is no separate default sweep;
#    packed as OUTDIR/results-gpu.tgz; where RESULTS already holds a sweep, the new one is trained
#    into a fresh folder and compared with it run by run (OUTDIR/compare-DEVICE.txt);
# 5. the same sweep with the three cells trained at once (one process each), timed;
# 6. cell forward/backward benchmarks (pytest-benchmark JSON, OUTDIR/cells-DEVICE.json);
# 7. the scan over time against the step form (minGRU, minLSTM) and the fused GRU/LSTM, which execution
#    the device should default to (OUTDIR/scan-speed-DEVICE.txt), the LRU's doubling scan too.
# OUTDIR stays a handful of files so that a device call brings it all back.
#
# DEVICE (default cuda) is where everything trains. STEPS (default 600) is the throughput
# benchmark's steps; when STEPS is set, the sweep also runs at the --quick budget (200 steps):
# a rehearsal, not a measurement. RESULTS (default results/gpu on CUDA, OUTDIR/results-DEVICE
# elsewhere) is the sweep's results folder. PYTHON (default python3) runs everything.
# MEMORYBENCH_COMMIT names the commit in the results' provenance where the tree has no .git.
# CONCURRENT=0 skips step 5 (about 100 s on an H200; it measured no overlap on 2026-11-26).
# ONLY (default "1 2 3 4 5 6 7") names the steps to run, for a lease too short for all of them (step 1 always runs).
set -uo pipefail
out=${1:?usage: [DEVICE=cuda] [STEPS=N] bash benchmarks/gpu_suite.sh OUTDIR}
DEVICE=${DEVICE:-cuda}
PY=${PYTHON:-python3}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ "$DEVICE" = cuda ]; then RESULTS=${RESULTS:-results/gpu}; else RESULTS=${RESULTS:-$out/results-$DEVICE}; fi
# A folder that already holds the sweep's runs would train nothing: the sweep goes into a fresh
# folder of the same name instead, and step 4 compares it run by run with the one there.
REFERENCE=
if [ -e "$RESULTS/store.json" ]; then REFERENCE=$RESULTS; RESULTS=$(mktemp -d)/$(basename "$RESULTS"); fi
quick=()
[ -n "${STEPS:-}" ] && quick=(--quick)
STEPS=${STEPS:-600}
export PYTHONPATH=${PYTHONPATH:-.} PYTHONUNBUFFERED=1
export PY DEVICE quick_flag="${quick[*]:-}"  # read by the steps that run in a `bash -c` of their own
export MEMORYBENCH_COMMIT=${MEMORYBENCH_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
log="$out/suite.log"
ONLY=" ${ONLY:-1 2 3 4 5 6 7} "
want() { [[ $ONLY == *" $1 "* ]]; }
: >"$log"

say() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$log"; }
# step SECONDS NAME COMMAND...: run one step under a time limit, its output into the log as it goes
step() {
    local limit=$1 name=$2 start=$SECONDS rc
    shift 2
    say "$name (limit ${limit}s): $*"
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
    rc=${PIPESTATUS[0]}
    say "$name: exit $rc after $((SECONDS - start)) s"
    return "$rc"
}

say "gpu_suite: DEVICE=$DEVICE STEPS=$STEPS RESULTS=$RESULTS commit $MEMORYBENCH_COMMIT"
if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee -a "$log"
fi

# 1. Every dependency present, or one line saying which is not.
deps=(torch numpy pandas matplotlib tqdm scikit-learn scipy filelock pytest pytest-benchmark)
missing=()
for dep in "${deps[@]}"; do
    "$PY" -m pip show "$dep" 2>/dev/null | grep -E '^(Name|Version):' | paste -sd' ' | tee -a "$log" | grep -q . || missing+=("$dep")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "gpu_suite: missing on this machine: ${missing[*]} (carry them as wheels; see the device README)"
    exit 3
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" 2>&1 | tee -a "$log"

# 2. The CUDA tests (skipped, not failed, where there is no GPU).
want 2 && step 120 "cuda tests" "$PY" -m pytest -m cuda -q -p no:cacheprovider -o addopts="" tests/

# 3. Training throughput against eager single runs.
want 3 && step 160 "training throughput" "$PY" benchmarks/training_speed.py --device "$DEVICE" --cells srn lstm gru indrnn mingru minlstm lru --seq-lens 30 \
    --steps "$STEPS" --packs 1 5 30 --json "$out/training-$DEVICE.json"

# 4. The 5-seed book sweep, timed, into RESULTS.
want 4 && step 240 "sweep, 5 seeds" "$PY" run_all.py --lengths 5 10 15 20 25 30 --seeds 5 --device "$DEVICE" --out "$RESULTS" \
    --no-progress "${quick[@]}"
want 4 && [ -d "$RESULTS" ] && tar czf "$out/results-gpu.tgz" -C "$(dirname "$RESULTS")" "$(basename "$RESULTS")"
want 4 && [ -n "$REFERENCE" ] && [ -d "$RESULTS" ] && step 60 "sweep against $REFERENCE" bash -c \
    "\"$PY\" benchmarks/compare_results.py \"$REFERENCE\" \"$RESULTS\" | tee \"$out/compare-$DEVICE.txt\""

# 5. The same sweep with the three cells' packs trained at once, one process per cell, into a
#    scratch folder: would training them concurrently meet the target? Each process prints its
#    own training time; the step's time includes start-up and the three reports.
export DEVICE PY quick_flag="${quick[*]:-}"
! want 5 || { [ "${CONCURRENT:-1}" = 0 ] && say "sweep, 5 seeds, three cells at once: skipped (CONCURRENT=0)" ||
step 150 "sweep, 5 seeds, three cells at once" bash -c 'scratch=$(mktemp -d)
    for cell in srn lstm gru; do
        "$PY" run_all.py --lengths 5 10 15 20 25 30 --seeds 5 --cells $cell --device "$DEVICE" --out "$scratch/$cell" \
            --no-progress $quick_flag 2>&1 | sed "s/^/$cell: /" &
    done
    wait; rm -rf "$scratch"'; }

# 6. Cell benchmarks on the device (forward, forward+backward).
want 6 && step 60 "cell benchmarks" "$PY" -m pytest benchmarks/test_cell_speed.py -q -p no:cacheprovider -o addopts="" -k "$DEVICE" \
    --benchmark-enable --benchmark-max-time=0.25 --benchmark-json="$out/cells-$DEVICE.json"

# 7. The scan over time against the step form, on the device.
want 7 && step 90 "scan against step" bash -c "\"$PY\" benchmarks/scan_speed.py --device $DEVICE --cells mingru minlstm lru \
    --lengths 100 1000 --batches 8 256 --repeats 5 | tee \"$out/scan-speed-$DEVICE.txt\""
say "gpu_suite: done; files in $out: $(ls "$out" | paste -sd' ')"
