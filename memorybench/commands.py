"""The commands' registry: a plain dict from a command's name to (module, function, one-line help), or from a
group's name (`diagnose`, `store`, `list`) to such a dict. `memorybench` imports a command's module only when it
runs, so `--help` stays light; a plugin adds a command (a diagnostic, say) with `register_command`, its function
given directly. This module imports nothing of the package: a plugin reaches it without torch.

Example:
    >>> def hello(argv, prog):
    ...     print(f"{prog}: hello {' '.join(argv)}")
    ...     return 0
    >>> _ = register_command(("diagnose", "hello"), hello, "say hello to a folder")
    >>> COMMANDS["diagnose"]["hello"][2]
    'say hello to a folder'
    >>> del COMMANDS["diagnose"]["hello"]
"""

from __future__ import annotations

import re
from collections.abc import Callable

# name -> (module, function, one-line help), or a group: name -> {name: (module, function, help)}.
# The function is called as function(arguments after the command's name, prog="memorybench NAME ...").
# The built-in commands are listed by the command line (memorybench.cli.builtins), a plugin's added by it.
COMMANDS: dict = {}


def register_command(path: tuple[str, ...] | str, function: Callable, help: str, replace: bool = False):
    """Add `function(argv, prog) -> exit status` as `memorybench PATH...` (a name, or a group and a name:
    ("diagnose", "my-check")); lowercase letters, digits and '-'; a taken name only with `replace`. Returns it."""
    path = (path,) if isinstance(path, str) else tuple(path)
    table = COMMANDS
    for group in path[:-1]:
        table = table.setdefault(group, {})
        if not isinstance(table, dict):
            raise ValueError(f"command {group!r} is not a group of commands; a command goes in a group or at the top")
    name = path[-1]
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ValueError(f"command name {name!r} must be lowercase letters, digits and '-', like 'my-check'")
    if name in table and not replace:
        raise ValueError(f"command {' '.join(path)!r} is already registered; pass replace=True to replace it")
    table[name] = (None, function, help)
    return function
