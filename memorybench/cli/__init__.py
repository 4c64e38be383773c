"""The `memorybench` command: `main` dispatches to one module per subcommand, imported lazily."""

from memorybench.cli import builtins  # noqa: F401, E402  (registers the built-in commands and report sections)
