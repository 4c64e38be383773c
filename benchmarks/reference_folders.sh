# The committed CPU results folders and the commands that make them, sourced by
# benchmarks/regenerate_results.sh (every folder) and benchmarks/reference_sweeps.sh (issue 25's);
# tests/test_benchmark_scripts.py holds the horizon searches to those the folders' store.json records.
#
# sweeps: FOLDER -> the `memorybench run` arguments, ";" between the sweeps of one folder
# searched: the folders that hold a horizon search, on their first sweep's task and cells: its probes are
#   the folder's own runs, so a retrained folder is searched again (the sweep's runs count as probes)
# diagnostics: FOLDER -> the `memorybench diagnose` checks that read its checkpoints
# shellcheck disable=SC2034  # read by the scripts that source this file
declare -A sweeps=(
    [results]="--lengths 5 10 15 20 25 30"
    [nndl-seeds5]="--lengths 5 10 15 20 25 30 --seeds 5"
    [nndl-phase]="--cells srn lstm gru --lengths 10 15 20 30 45 60 --seeds 5 --lr 3e-4 1e-3 3e-3 1e-2 --reuse results/nndl-seeds5"
    [nndl-shuffled]="--lengths 5 10 15 20 25 30 --protocol nndl-shuffled"
    [stream]="--lengths 5 10 15 20 25 30 --protocol stream"
    [adding]="--task adding"
    [copy]="--task copy"
    [delayed_recall]="--task delayed_recall;--task delayed_recall --hidden 8 16 32 64"
    [digits_rows]="--task digits_rows"
    [digits_pixels]="--task digits_pixels"
    [capacity]="--protocol stream --lengths 10 20 30 --lr 1e-3 1e-2 --init book torch --forget-bias none 1 --seeds 3"
    [matched]="--protocol nndl-shuffled --lengths 10 20 30 --match params --seeds 3"
    [parity]="--task parity --cells all"
    [selective_copying]="--task selective_copying --cells all"
    [associative_recall]="--task associative_recall --cells all"
    [flip_flop]="--task flip_flop --cells all"
    [modern]="--cells indrnn mingru minlstm lru;--cells all --reuse results"
)
searched=(nndl-seeds5 nndl-shuffled stream adding copy parity selective_copying associative_recall flip_flop modern)
# search_args: FOLDER -> the `memorybench horizon` arguments where they are not its first sweep's (a sweep's
#   --lengths is not a search's); the seed rounds of issue 45
declare -A search_args=(
    [nndl-seeds5]="--seeds 5 --max-seeds 10"
    [nndl-shuffled]="--protocol nndl-shuffled"
    [stream]="--protocol stream --seeds 3 --max-seeds 10"
    [parity]="--task parity --cells all --seeds 3 --max-seeds 10"
    [modern]="--cells indrnn mingru minlstm lru --seeds 3 --max-seeds 10"
)
declare -A diagnostics=(
    [results]="through-time;extrapolate"
    [adding]="extrapolate"
    [copy]="extrapolate"
    [delayed_recall]="memory-capacity"
    [flip_flop]="shift"
)
