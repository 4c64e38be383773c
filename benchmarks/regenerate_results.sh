#!/usr/bin/env bash
# Retrain the committed CPU results folders with this checkout's code, then rebuild what reads
# their checkpoints (diagnostics), their reports, the suite and the docs' tables, prune the checkpoints no
# report reads and compact the run files (once every folder is done), and compare every folder run by run
# with OLD, a checkout of the previous results:
#
#   git worktree add /tmp/old HEAD       # before retraining: the results as committed
#   bash benchmarks/regenerate_results.sh /tmp/old [FOLDER ...]   # default: every folder below
#
# Each folder's own runs are deleted and trained again by the sweep command that made it, and the
# horizon searches it holds are run again (the tables: benchmarks/reference_folders.sh); runs it links
# to another folder (`runs/<id>.link`: nndl-seeds5 -> results, capacity -> stream, matched ->
# nndl-shuffled, modern -> results) follow that folder, so it is retrained first.
# The comparisons go to results/benchmarks/regenerated-DATE.txt. Not here: results/gpu (CUDA;
# benchmarks/gpu_suite.sh) and results/explosion (`memorybench explosion`, its own plan).
set -euo pipefail
old=${1:?usage: bash benchmarks/regenerate_results.sh OLD_CHECKOUT [FOLDER ...]}
shift
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
# Nothing is deleted before the tools are known to work: the environment, and the old checkout to compare with.
"$PY" -c "import torch, memorybench" || { echo "regenerate_results.sh: $PY cannot import torch and memorybench (activate the environment, or set PYTHON)" >&2; exit 2; }
[ -d "$old/results" ] || { echo "regenerate_results.sh: $old holds no results/ to compare with (git worktree add $old HEAD first)" >&2; exit 2; }
# shellcheck source=benchmarks/reference_folders.sh
source benchmarks/reference_folders.sh  # sweeps, searched, diagnostics: what makes each folder
order=(results nndl-seeds5 nndl-phase stream capacity nndl-shuffled matched adding copy delayed_recall digits_rows digits_pixels
       parity selective_copying associative_recall flip_flop modern)
[ $# -gt 0 ] && order=("$@")
log=results/benchmarks/regenerated-$(date -u +%Y-%m-%d).txt
echo "# bash benchmarks/regenerate_results.sh $old ${order[*]} | $(git rev-parse --short HEAD)$(git diff --quiet || echo +dirty) | $(date -u +%FT%TZ)" >>"$log"
for name in "${order[@]}"; do
    [ -n "${sweeps[$name]:-}" ] || { echo "unknown folder $name; known: ${order[*]}" >&2; exit 2; }
    folder=results/$name
    [ "$name" = results ] && folder=results
    find "$folder/runs" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +  # own runs; links stay
    IFS=';' read -ra commands <<<"${sweeps[$name]}"
    for args in "${commands[@]}"; do
        # shellcheck disable=SC2086  # the table's words are the arguments
        "$PY" -m memorybench run $args --out "$folder" --no-progress
    done
    if [[ " ${searched[*]} " == *" $name "* ]]; then
        # shellcheck disable=SC2086  # the table's words are the arguments
        "$PY" -m memorybench horizon ${search_args[$name]:-${sweeps[$name]%%;*}} --out "$folder" --no-progress
    fi
    IFS=';' read -ra checks <<<"${diagnostics[$name]:-}"
    for check in "${checks[@]}"; do
        "$PY" -m memorybench diagnose "$check" "$folder"
    done
    "$PY" -m memorybench report "$folder"
    old_folder=$old/$folder
    { echo "## $folder"; "$PY" benchmarks/compare_results.py "$old_folder" "$folder" || true; } >>"$log"
done
# Together, so that a checkpoint one folder reads through a link is kept.
"$PY" -m memorybench store prune results $(printf 'results/%s ' "${!sweeps[@]}" | sed 's#results/results ##')
"$PY" -m memorybench store compact results $(printf 'results/%s ' "${!sweeps[@]}" | sed 's#results/results ##')  # run.json -> run.json.gz (format 4)
"$PY" -m memorybench suite --reference --readme README.md  # the committed folders (cli/report.py's REFERENCE_FOLDERS)
"$PY" -m memorybench docs  # the docs' results tables, from the rebuilt reports
echo "comparisons: $log"
