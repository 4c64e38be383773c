"""A user's plugins: a Python file or module that registers cells, tasks or executors,
imported by `--plugin PATH_OR_MODULE` on any command (repeatable) before its names are checked.

Each plugin is recorded with what it registered and the SHA-256 of the source that ran (`record`):
the provenance a results folder keeps, so that a command run without the plugin can name it.

The local pool's workers import the same plugins (they start fresh processes), and a Ray task
gets them with its job (a file's source travels with it: `shipped`), so a plugin's cell trains
there as it does here.

Example:
    >>> take_plugins(["run", "--plugin", "my_cells.py", "--cells", "mycell", "--plugin=other"])
    (['run', '--cells', 'mycell'], ['my_cells.py', 'other'])
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from importlib import import_module
from pathlib import Path

from memorybench.registry import ADDED

LOADED: list[str] = []  # the plugins this process imported, in order: the workers import the same
PROVIDES: dict[str, list[tuple[str, str]]] = {}  # plugin -> the (kind, name) it registered
SOURCES: dict[
    str, str | None
] = {}  # plugin -> the SHA-256 of the source that ran (None: a module without a readable file)


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
    start = len(ADDED)
    try:
        if _is_file(plugin):
            path = Path(plugin)
            if path.is_dir():
                raise ValueError(f"--plugin {plugin} is a folder (allowed: a .py file, or an importable module's name)")
            if not path.is_file():
                raise ValueError(f"--plugin {plugin}: no such file")
            name = f"memorybench_plugin_{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            SOURCES[plugin] = digest(path.read_bytes())
            spec.loader.exec_module(module)
        else:
            module = import_module(plugin)
            file = getattr(module, "__file__", None)
            SOURCES[plugin] = digest(Path(file).read_bytes()) if file and Path(file).is_file() else None
    except ValueError as exc:
        raise ValueError(
            f"--plugin {plugin} failed while importing: {exc}" if len(ADDED) > start or plugin in SOURCES else str(exc)
        ) from None
    except ModuleNotFoundError as exc:
        raise ValueError(f"--plugin {plugin}: no such module ({exc})") from None
    except SystemExit as exc:  # a plugin that calls sys.exit must not end the command silently
        raise ValueError(
            f"--plugin {plugin} called sys.exit({exc.code!r}) while importing; a plugin only registers"
        ) from None
    except Exception as exc:  # the plugin's own code failed: name it in one line
        raise ValueError(
            f"--plugin {plugin} failed while importing: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    PROVIDES[plugin] = ADDED[start:]
    LOADED.append(plugin)


def digest(source: bytes | str) -> str:
    """The SHA-256 of a plugin's source, as hex."""
    return hashlib.sha256(source.encode() if isinstance(source, str) else source).hexdigest()


def record() -> list[dict]:
    """The plugins this process loaded, as a results folder records them: the plugin as given, a file's
    absolute path, the SHA-256 of the source that ran, and what it registered ({kind: [names]}).

    >>> record() if not LOADED else []
    []
    """
    rows = []
    for plugin in LOADED:
        provides = {}
        for kind, name in PROVIDES.get(plugin, []):
            provides.setdefault(kind, []).append(name)
        rows.append(
            {
                "plugin": plugin,
                "path": str(Path(plugin).resolve()) if _is_file(plugin) else None,
                "sha256": SOURCES.get(plugin),
                "provides": provides,
            }
        )
    return rows


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
        start = len(ADDED)
        exec(compile(source, plugin, "exec"), module.__dict__)
        PROVIDES[plugin], SOURCES[plugin] = ADDED[start:], digest(source)
        LOADED.append(plugin)
