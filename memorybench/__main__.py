"""`python -m memorybench`: the `memorybench` command (see memorybench.cli.main)."""

import sys

from memorybench.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
