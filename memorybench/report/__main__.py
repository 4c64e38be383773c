"""`python -m memorybench.report`, the path before 0.2.0: `memorybench report` (until 0.3.0)."""

from memorybench._moved import run_old_command

run_old_command("memorybench.report")
