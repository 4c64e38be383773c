"""The `memorybench` command: `main` dispatches to one module per subcommand, imported lazily."""
