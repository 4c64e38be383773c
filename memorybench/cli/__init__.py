"""The `memorybench` command: `main` dispatches to one module per subcommand, imported lazily."""


def __getattr__(name: str):  # the names of the module `memorybench.cli` before 0.2.0, until 0.3.0
    from memorybench._moved import old_name

    return old_name(__name__, name)
