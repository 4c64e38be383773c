"""Run the memorybench sweep and write the report (the same as the `memorybench` command).

    python run_all.py --lengths 5 10 15 20 25 30
    python run_all.py --help
"""
import sys

from memorybench.cli import main

if __name__ == "__main__":
    sys.exit(main())
