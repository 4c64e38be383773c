"""memorybench: how far back can SRN, LSTM and GRU cells remember?

The Python API, importable from here (each name is loaded when first used, so that
`import memorybench` and `memorybench --help` stay free of torch, pandas and matplotlib):

    >>> import memorybench
    >>> config = memorybench.protocol_config("nndl", cell="lstm", seq_len=5, steps=20, eval_interval=10, device="cpu")
    >>> memorybench.train_run(config).status
    'ok'
"""

from memorybench.version import __version__

# name -> the module that defines it
API = {
    "protocol_config": "memorybench.config",
    "RunConfig": "memorybench.config",
    "train_run": "memorybench.training",
    "train_and_save": "memorybench.training",
    "evaluate": "memorybench.training",
    "load_run": "memorybench.training",
    "get_task": "memorybench.tasks",
    "register_task": "memorybench.tasks",
    "TaskSpec": "memorybench.tasks.base",
    "get_cell": "memorybench.cells",
    "register_cell": "memorybench.cells",
    "CellSpec": "memorybench.cells.spec",
    "Recipe": "memorybench.cells.spec",
    "ResultsStore": "memorybench.storage.store",
    "plan_sweep": "memorybench.sweep.plan",
    "run_sweep": "memorybench.sweep.plan",
    "build_report": "memorybench.report.build",
    "ReportSection": "memorybench.report.sections",
    "register_section": "memorybench.report.sections",
    "train_pack": "memorybench.engine.loop",
}
__all__ = ["__version__", *API]


def __getattr__(name: str):
    """`memorybench.NAME` for the names of `API`, imported from their module on first use."""
    if name not in API:
        raise AttributeError(f"module 'memorybench' has no attribute {name!r}")
    from importlib import import_module

    import_module("memorybench.cli.builtins")  # the built-in report sections, as the command has them
    value = getattr(import_module(API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *API])
