"""Where a result came from: commit, versions, device, date, command line (without importing torch).

Example:
    >>> env = environment(command=["run_all.py", "--quick"])
    >>> sorted(env)[:4], env["command"]
    (['command', 'commit', 'cpu', 'cpu_count'], 'run_all.py --quick')
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from memorybench.version import __version__
from memorybench.invocation import command as typed_command
from memorybench.plugins import record as plugin_record

REPO_ROOT = Path(__file__).resolve().parents[2]  # memorybench/storage/provenance.py -> the checkout


@functools.lru_cache(maxsize=None)
def git_commit() -> str:
    """HEAD of the checkout memorybench runs from, '+dirty' when it has uncommitted changes;
    'unknown' outside git.

    $MEMORYBENCH_COMMIT, when set, is taken as it is: a copy of the tree sent elsewhere (to a
    lent GPU machine, say) may have no .git, or a stale one that names another commit.

    Read once per process, at first use, which is soon after the code was imported:
    a process keeps running the code it loaded even if the checkout moves on.
    """
    if os.environ.get("MEMORYBENCH_COMMIT", "").strip():
        return os.environ["MEMORYBENCH_COMMIT"].strip()
    try:
        run = lambda *args: subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        commit = run("rev-parse", "HEAD")
        dirty = run("status", "--porcelain", "--", "memorybench", "run_all.py", "pyproject.toml")
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def short_commit(commit: str) -> str:
    """A commit as 12 hex digits, keeping the '+dirty' mark: 'abc…+dirty' -> 'abc123456789+dirty'."""
    return commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")


def cpuinfo(field: str) -> str | None:
    """The first CPU's `field` in /proc/cpuinfo ('model name', 'flags', ...); None where there is none (not Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name() -> str:
    return cpuinfo("model name") or platform.processor() or platform.machine()


def torch_version() -> str:
    """The torch this process runs (without importing it: this package stays torch-free), else the installed one."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return torch.__version__
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return ""


def cuda_device() -> str:
    """The CUDA device this process's torch uses, '' when none; a process that never imported torch used none."""
    torch = sys.modules.get("torch")
    return torch.cuda.get_device_name(0) if torch is not None and torch.cuda.is_available() else ""


def environment(command: list[str] | None = None) -> dict:
    """Where this process runs and what it runs: `command` (default: the command as typed, see
    `memorybench.invocation`), and, where the process loaded plugins, each with its source's hash."""
    plugins = plugin_record()
    return {
        "memorybench": __version__,
        "commit": git_commit(),
        "torch": torch_version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "cuda_device": cuda_device(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(command if command is not None else typed_command()),
        **({"plugins": plugins} if plugins else {}),
    }


def provenance_line(command: list[str] | None = None) -> str:
    """One line for a benchmark's printout: where, what and when it ran."""
    env = environment(command)
    device = env["cuda_device"] or f"{env['cpu']} ({env['cpu_count']} cores)"
    return (
        f"# {env['command']} | commit {short_commit(env['commit'])} | torch {env['torch']} | {device} | {env['date']}"
    )
