"""The cell registry: name -> `CellSpec`; the classic, modern and book cells built in, more added by users.

Example:
    >>> from dataclasses import replace
    >>> tanh_twin = register_cell(replace(get_cell("srn"), name="tanh_twin", label="SRN twin", group="plugin"))
    >>> cell_names()
    ('srn', 'lstm', 'gru', 'srn_book', 'indrnn', 'mingru', 'minlstm', 'lru', 'tanh_twin')
    >>> cells_in("classic"), cells_in("classic", "modern")[3:]
    (('srn', 'lstm', 'gru'), ('indrnn', 'mingru', 'minlstm', 'lru'))
    >>> register_cell(tanh_twin)
    Traceback (most recent call last):
    ...
    ValueError: cell 'tanh_twin' is already registered; pass replace=True to replace it
    >>> del CELLS["tanh_twin"]
"""

from __future__ import annotations

from importlib import import_module

from memorybench.cells.spec import CellSpec
from memorybench.checks import check_choice
from memorybench.registry import add_to_registry

# each built-in cell is one module of this package, named for the cell, holding its spec in upper case (srn.SRN)
BUILTIN_MODULES = (
    "srn",
    "lstm",
    "gru",
    "srn_book",
    "indrnn",
    "mingru",
    "minlstm",
    "lru",
)  # this package's cells, in the order tables show them; each module holds its spec, its group included
CELLS: dict[str, CellSpec] = {
    name: getattr(import_module(f"{__package__}.{name}"), name.upper()) for name in BUILTIN_MODULES
}


def cell_names() -> tuple[str, ...]:
    """The registered cells' names, in registration order (users' cells included)."""
    return tuple(CELLS)


def cells_in(*groups: str) -> tuple[str, ...]:
    """The registered cells of these groups (`CellSpec.group`), in registration order."""
    return tuple(name for name, spec in CELLS.items() if spec.group in groups)


def get_cell(cell: str | CellSpec) -> CellSpec:
    """The registered spec named `cell`; a `CellSpec` passes through unchanged."""
    if isinstance(cell, CellSpec):
        return cell
    check_choice("cell", cell, cell_names())
    return CELLS[cell]


def register_cell(spec: CellSpec, replace: bool = False) -> CellSpec:
    """Add `spec` to the registry under `spec.name` (a lowercase identifier); a taken name only with `replace`."""
    return add_to_registry(CELLS, spec.name, spec, "cell", replace)
