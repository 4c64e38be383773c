"""`python -m memorybench`: the `memorybench` command (see memorybench.commands)."""
import sys

from .commands import main

if __name__ == "__main__":
    sys.exit(main())
