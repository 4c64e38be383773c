"""The report's sections beyond each experiment's own: a registry from a lowercase name to a
`ReportSection`, filled by the diagnostics (and by users' plugins) as they are imported.

A section says what it reads from the results folder and how it writes itself; `build_report` walks
the registry in order, and `memorybench store prune` keeps every checkpoint a section's tables were
computed from. The built-in sections live in the diagnostics, which import this module and register
on import; the command line lists their modules in `SECTION_MODULES` (`memorybench.cli.builtins`) and
`report_sections` imports them on first use, so this package never names the diagnostics above it.

Example:
    >>> def hello(store, runs):
    ...     return ["## Hello", "", f"{len(runs)} runs.", ""]
    >>> _ = register_section(ReportSection("hello", needs=(), write=hello))
    >>> "hello" in [section.name for section in report_sections()]
    True
    >>> del SECTIONS["hello"]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from memorybench.registry import add_to_registry

# the modules that register sections when imported, in the order the report shows them: the built-in ones are
# listed by the command line (memorybench.cli.builtins, as pytest lists its default plugins), so the report names none
SECTION_MODULES: list[str] = []


@dataclass(frozen=True)
class ReportSection:
    name: str  # a lowercase identifier
    needs: tuple[
        str, ...
    ]  # the files it reads, relative to the folder ('tables/x.csv', 'runs/*/x.csv'); written when one exists
    write: Callable  # write(store, runs) -> markdown lines, [] when the folder holds nothing for it
    reads_checkpoints: bool = False  # its tables were computed from the runs' saved weights

    def present(self, root) -> list:
        """The files of `needs` that the folder `root` holds."""
        from pathlib import Path

        return [path for pattern in self.needs for path in sorted(Path(root).glob(pattern))]


SECTIONS: dict[str, ReportSection] = {}


def register_section(section: ReportSection, replace: bool = False) -> ReportSection:
    """Add `section` under `section.name`; a taken name only with `replace`. Returns it."""
    return add_to_registry(SECTIONS, section.name, section, "report section", replace)


def report_sections() -> list[ReportSection]:
    """Every registered section, the built-in ones first (imported here on first use)."""
    for module in SECTION_MODULES:
        import_module(module)
    return list(SECTIONS.values())
