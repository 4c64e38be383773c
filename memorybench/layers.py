"""The package's import contract, as style.md's package table: its parts from the bottom up, what each holds, and
whether importing it must leave torch out. A part imports only the parts of lower layers (and itself; parts of one
layer not each other); an import inside a function counts, and so does a module named in a string (a registry's
`"memorybench.cli.run"` is an import made later). `tests/test_imports.py` holds the code to it in CI, and
`memorybench docs` writes docs/reference/layout.md from it and from each module's docstring.

Example:
    >>> part_of("memorybench.storage.store").name, layer_of("memorybench.storage.store")
    ('storage', 5)
    >>> part_of("memorybench").name, part_of("memorybench.version").name
    ('', 'version')
    >>> [part.name for part in LAYERS[7]], [part.name for part in LAYERS[5] if part.torch_free]
    (['training'], ['storage'])
"""

from __future__ import annotations

from dataclasses import dataclass

PACKAGE = "memorybench"


@dataclass(frozen=True)
class Part:
    name: str  # a module or package under memorybench ("storage", "checks"); "" is the package's own __init__
    holds: str  # what it holds, in a few words
    torch_free: bool = False  # importing any of its modules imports no torch (tests/test_imports.py runs each)

    @property
    def module(self) -> str:
        """The part as a dotted module name: `memorybench.storage`, `memorybench` for ""."""
        return f"{PACKAGE}.{self.name}" if self.name else PACKAGE


# lowest first
LAYERS: tuple[tuple[Part, ...], ...] = (
    (
        Part("version", "the package's version", True),
        Part("layers", "this contract: the parts, their layers, which stay torch-free", True),
        Part("checks", "checks of user-given values and a plan's sane bounds", True),
        Part("registry", "what every registry shares, and every registration in order", True),
        Part("parser", "the one parser, and the one way to print a one-line error", True),
        Part("result", "`RunResult` and its columns", True),
        Part("invocation", "the command as typed, for provenance", True),
        Part("commands", "the commands' registry (filled by the CLI and by plugins)", True),
    ),
    (Part("plugins", "`--plugin` loading, and what each plugin registered", True),),
    (
        Part("tasks", "the task interface and registry, one file per task"),
        Part("cells", "the cell registry, one file per cell, the step-by-step layers"),
    ),
    (Part("models", "the model: embedding, recurrent stack, read-out; initialisations"),),
    (Part("config", "`RunConfig`, its run id, the protocols", True),),
    (Part("storage", "results folders, run files, links, lock, provenance", True),),
    (Part("engine", "the training loop, replica layouts, CUDA graphs, packing"),),
    (Part("training", "one run: train, save, evaluate, load"),),
    (Part("analysis", "statistics, experiments, horizons and their search rule, gate traces"),),
    (Part("sweep", "plans, executors, the experiment session, the horizon search's driver"),),
    (Part("report", "markdown, figures, the section registry, the report, the suite"),),
    (Part("diagnostics", "gradients through time, memory capacity, extrapolation, shift, the book's 6.2"),),
    (Part("cli", "one module per command, the built-in commands and sections"),),
    (Part("", "the Python API: each name imported from its module on first use", True),),
)


def part_of(module: str) -> Part:
    """The part that holds `module` (a package's part holds its modules; the package's own part only its
    __init__); a ValueError names a module no part holds."""
    found = [
        p for layer in LAYERS for p in layer if module == p.module or (p.name and module.startswith(p.module + "."))
    ]
    if not found:
        raise ValueError(f"{module} belongs to no part of memorybench.layers.LAYERS: add it to a layer")
    return max(found, key=lambda p: len(p.module))


def layer_of(module: str) -> int:
    """The layer (0 lowest) of the part that holds `module`."""
    part = part_of(module)
    return next(i for i, layer in enumerate(LAYERS) if part in layer)
