"""Run the memorybench sweep and write the report (the same as the `memorybench` command).

python run_all.py --lengths 5 10 15 20 25 30
python run_all.py --help
"""

import os
import signal
import sys


def _interrupted_while_starting(signum, frame):
    os.write(2, b"memorybench: interrupted before training started; no run was stored\n")
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_while_starting)  # until the command installs its own handlers
signal.signal(signal.SIGTERM, _interrupted_while_starting)
from memorybench.cli.run import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
