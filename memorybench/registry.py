"""What every registry (tasks, cells) shares: a plain dict from a lowercase name to a spec,
and one way to add to it.

Example:
    >>> things = {}
    >>> add_to_registry(things, "toy", object, "task") is object, sorted(things)
    (True, ['toy'])
"""

from __future__ import annotations

ADDED: list[
    tuple[str, str]
] = []  # (kind, name) of every registration, in order: what each plugin provides (memorybench.plugins)


def add_to_registry(registry: dict, name: str, spec, kind: str, replace: bool = False):
    """Register `spec` under `name` (a lowercase identifier); a taken name only with `replace`. Returns `spec`."""
    if not (isinstance(name, str) and name.isidentifier() and name == name.lower()):
        raise ValueError(f"{kind} name {name!r} must be a lowercase identifier, like 'indrnn'")
    if name in registry and not replace:
        raise ValueError(f"{kind} {name!r} is already registered; pass replace=True to replace it")
    registry[name] = spec
    ADDED.append((kind, name))
    return spec
