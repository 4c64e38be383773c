"""The package's version (the `memorybench` in every run's provenance), importable from any layer."""

__version__ = "0.3.0"
