"""`python -m memorybench.cli`, the path before 0.2.0: `memorybench run` (until 0.3.0)."""

from memorybench._moved import run_old_command

run_old_command("memorybench.cli")
