"""A user's plugins: a Python file or module that registers cells, tasks or executors,
imported by `--plugin PATH_OR_MODULE` on any command (repeatable) before its names are checked.

The local pool's workers import the same plugins (they start fresh processes), and a Ray task
gets them with its job (a file's source travels with it: `shipped`), so a plugin's cell trains
there as it does here.

Example:
    >>> take_plugins(["run", "--plugin", "my_cells.py", "--cells", "mycell", "--plugin=other"])
    (['run', '--cells', 'mycell'], ['my_cells.py', 'other'])
"""
from __future__ import annotations

import importlib.util
import sys
from importlib import import_module
from pathlib import Path

LOADED: list[str] = []  # the plugins this process imported, in order: the workers import the same


def take_plugins(argv: list[str]) -> tuple[list[str], list[str]]:
    """(argv without its `--plugin X` / `--plugin=X` options, the plugins they name)."""
    rest, plugins, args = [], [], iter(argv)
    for arg in args:
        if arg == "--plugin":
            plugins.append(next(args, ""))
        elif arg.startswith("--plugin="):
            plugins.append(arg.partition("=")[2])
        else:
            rest.append(arg)
    return rest, plugins


def load_plugin(plugin: str) -> None:
    """Import `plugin`, a .py file or an importable module; anything wrong is a ValueError in one line."""
    if plugin in LOADED:
        return
    if not plugin.strip():
        raise ValueError("--plugin needs a file or a module (allowed: PATH.py or a module name)")
    try:
        if _is_file(plugin):
            path = Path(plugin)
            if not path.is_file():
                raise ValueError(f"--plugin {plugin}: no such file")
            name = f"memorybench_plugin_{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            import_module(plugin)
    except ValueError:
        raise
    except ModuleNotFoundError as exc:
        raise ValueError(f"--plugin {plugin}: no such module ({exc})") from None
    except Exception as exc:  # the plugin's own code failed: name it in one line
        raise ValueError(f"--plugin {plugin} failed while importing: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    LOADED.append(plugin)


def load_plugins(plugins) -> None:
    for plugin in plugins:
        load_plugin(plugin)


def _is_file(plugin: str) -> bool:
    return plugin.endswith(".py") or "/" in plugin


def shipped() -> tuple[tuple[str, str | None], ...]:
    """The plugins this process loaded, as a worker on another machine needs them: (plugin, the file's
    source), or (module name, None) for an installed module the worker imports itself."""
    return tuple((plugin, Path(plugin).read_text() if _is_file(plugin) else None) for plugin in LOADED)


def load_shipped(plugins) -> None:
    """Load `shipped()`'s plugins in a worker (a Ray task): a file is run from its source, so it need not
    exist on the worker's machine."""
    for plugin, source in plugins:
        if plugin in LOADED:
            continue
        if source is None:
            load_plugin(plugin)
            continue
        name = f"memorybench_plugin_{Path(plugin).stem}"
        module = type(sys)(name)
        module.__file__ = plugin
        sys.modules[name] = module
        exec(compile(source, plugin, "exec"), module.__dict__)
        LOADED.append(plugin)
