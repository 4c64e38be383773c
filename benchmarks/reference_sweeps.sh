#!/usr/bin/env bash
# Issue 25's reference sweeps, all at once on one machine's cores: the four new tasks with all seven
# compared cells, and the four new cells on the book's digit sum, each on its CPU grid with 3 seeds:
#
#   bash benchmarks/reference_sweeps.sh OUTDIR [WORKERS]     # OUTDIR/<folder>: one results folder per sweep
#
# WORKERS (default: every core) is shared out by each sweep's training cost (the weights below,
# measured as CPU time on the 2-core Xeon); each sweep is the `memorybench run` command a user would
# type, so a sweep cut short resumes where it stopped when run again. The committed folders are
# results/modern (the new cells on the digit sum, with the classic cells' runs of results/ linked) and
# results/<task>; their arguments are benchmarks/reference_folders.sh's, which regenerate_results.sh reads too.
set -uo pipefail
out=${1:?usage: bash benchmarks/reference_sweeps.sh OUTDIR [WORKERS]}
workers=${2:-$(nproc)}
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# shellcheck source=benchmarks/reference_folders.sh
source benchmarks/reference_folders.sh  # each folder's sweep arguments
declare -A weight=([modern]=5 [parity]=3 [selective_copying]=3 [associative_recall]=2 [flip_flop]=2)  # sums to 15
for name in "${!weight[@]}"; do
    n=$(( (workers * weight[$name] + 7) / 15 ))  # rounded
    [ "$n" -ge 1 ] || n=1
    # shellcheck disable=SC2086  # the sweep's arguments split on purpose
    "$PY" -m memorybench run ${sweeps[$name]%%;*} --seeds 3 --device cpu --workers "$n" --out "$out/$name" --no-progress --yes \
        2>&1 | sed "s/^/$name: /" &
done
wait
# The classic cells' digit-sum runs beside the new ones, as links to the committed 3-seed sweep (nothing retrained).
if [ -d results/runs ]; then
    "$PY" -m memorybench run --cells all --seeds 3 --device cpu --out "$out/modern" --reuse results --no-progress --yes
fi
