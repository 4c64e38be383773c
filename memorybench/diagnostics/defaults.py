"""The diagnostics' default settings, torch-free, so that a command's `--help` can state them without
importing the diagnostics themselves."""

# memorybench diagnose memory-capacity
TRAIN_STEPS = 10_000  # states the read-outs are fitted on
TEST_STEPS = 5_000  # states MC_k is scored on
WASHOUT = 500  # states dropped at the start of each stream (>= K)
STREAMS = 5  # independent (fit, score) stream pairs each model is scored on

# memorybench diagnose extrapolate
DEFAULT_SIZE = 1000  # fresh test sequences per run and length
MIN_SIZE = 100  # the digit sum's smallest set: each operand pair once

# memorybench explosion
EXPLOSION_CELLS = ("srn_book", "lstm", "gru")  # the book's one-bias SRN, and the gated cells beside it
