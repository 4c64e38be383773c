#!/usr/bin/env bash
# Every GPU check and figure in one call, for a session with a lent GPU (see benchmarks/README.md):
#   bash benchmarks/gpu_suite.sh OUTDIR
# 1. the CUDA tests (packed + graphed runs against single eager runs, CUDA training);
# 2. cell benchmarks on CUDA (pytest-benchmark JSON);
# 3. training throughput: eager single run vs graphed single run vs graphed packs of 5 and 30,
#    both layouts, LSTM and GRU at L=5 and 30;
# 4. the full sweep with 5 seeds on CUDA, timed (target: under 60 s);
# 5. the default sweep on CUDA into results/gpu/ (the reference results' GPU folder), also
#    packed as OUTDIR/results-gpu.tgz: OUTDIR stays a handful of files, so a device call
#    can bring it all back.
# Each sweep has its own time limit, so that one slow step still lets the others report
# inside a 10-minute device call.
set -uo pipefail
out=${1:?usage: bash benchmarks/gpu_suite.sh OUTDIR}
mkdir -p "$out"
export PYTHONPATH=${PYTHONPATH:-.} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python -m pytest -m cuda -q -p no:cacheprovider tests/ 2>&1 | tee "$out/cuda-tests.txt"
python -m pytest benchmarks/test_cell_speed.py -q -p no:cacheprovider -k cuda --benchmark-enable \
    --benchmark-json="$out/cells-cuda.json" 2>&1 | tail -3
python benchmarks/training_speed.py --device cuda --cells lstm gru --seq-lens 5 30 --steps 1000 --packs 1 5 30 --json "$out/training-cuda.json" 2>&1 | tee "$out/training-cuda.txt"
timeout 240 /usr/bin/time -f "full sweep, 5 seeds: %e s wall" python run_all.py --lengths 5 10 15 20 25 30 --seeds 5 --device cuda \
    --out "$(mktemp -d)/sweep-seeds5" --no-progress 2>&1 | tail -3 | tee "$out/sweep-seeds5.txt"
timeout 180 python run_all.py --lengths 5 10 15 20 25 30 --device cuda --out results/gpu --no-progress 2>&1 | tail -2 && tar czf "$out/results-gpu.tgz" results/gpu
