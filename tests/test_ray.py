"""The Ray executor against a real Ray cluster on this machine: a head and a second node as
separate `ray start` processes, inside fresh network and PID namespaces, so every byte of
the tests' Ray traffic stays on 127.0.0.1 and every Ray process they start dies with them,
and with their own HOME, Ray temp dir and auth token, so they pass whatever Ray state the
user has: ~/.ray/auth_token, a running `ray start --head` (tests/ray_cluster.py). Under
CI=true these tests may not skip for want of Ray."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from memorybench.config import protocol_config
from memorybench.store import ResultsStore

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ["--lengths", "5", "--cells", "srn", "lstm", "gru", "--seeds", "2", "--quick", "--device", "cpu", "--no-progress"]
COLUMNS = ["test_score", "test_loss", "best_dev_score", "best_step", "steps_done", "status", "pack_size", "packing"]

try:
    import ray  # noqa: F401
except ImportError:
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("Ray is not installed (pip install -e \".[ray]\")", allow_module_level=True)


UNSHARE = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child"]  # loopback only; its processes die with it


def namespace_available() -> str:
    """'' if this process may make network and PID namespaces (root, unshare, ip), else why not."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "unshare or ip is missing"
    probe = subprocess.run([*UNSHARE, "ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    return "" if probe.returncode == 0 else f"cannot make network and PID namespaces: {probe.stderr.strip()}"


pytestmark = pytest.mark.skipif(bool(namespace_available()), reason=namespace_available() or "-")


def sweep_on_a_ray_cluster(out: Path, env: dict | None = None) -> dict:
    script = f'ip link set lo up && exec "{sys.executable}" "{ROOT / "tests" / "ray_cluster.py"}" "$@"'
    # Ray's Unix sockets live under its temp dir and their paths are capped at 107 bytes: a short
    # scratch dir under /tmp, not tmp_path. Once unshare returns, no process of the cluster is left in it.
    with tempfile.TemporaryDirectory(prefix="mb-ray-", ignore_cleanup_errors=True) as scratch:
        done = subprocess.run([*UNSHARE, "bash", "-c", script, "bash", scratch, str(out), *SWEEP], capture_output=True, text=True,
                              env=dict(os.environ, **(env or {})), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def local_sweep(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run_all.py"), *SWEEP, "--workers", "2", "--out", str(out)], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=600)


def runs(out: Path):
    return ResultsStore(out).collect()[0].set_index("run_id").sort_index()


@pytest.mark.slow
def test_a_sweep_on_a_two_node_ray_cluster_gives_the_local_pools_results(tmp_path):
    report = sweep_on_a_ray_cluster(tmp_path / "ray")
    assert report["cluster_started"] and report["node_addresses"] == ["127.0.0.1", "127.0.0.1"], report["start_stderr"]
    assert report["returncode"] == 0, report["stderr"]
    assert "plan: 6 runs to train (0 already complete) in 4 jobs on 2 worker(s)" in report["stdout"]
    assert "6 runs trained, 0 already complete, 0 failed" in report["stdout"]
    assert local_sweep(tmp_path / "local").returncode == 0
    ray_runs, local_runs = runs(tmp_path / "ray"), runs(tmp_path / "local")
    assert len(ray_runs) == 6 and list(ray_runs.index) == list(local_runs.index)
    assert ray_runs[COLUMNS].equals(local_runs[COLUMNS])  # bit for bit on the CPU


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_once_then_reported_lost_and_trained_by_the_next_sweep(tmp_path):
    victim = protocol_config("nndl", cell="lstm", seq_len=5, seed=1, steps=200, eval_interval=50, device="cpu")
    report = sweep_on_a_ray_cluster(tmp_path / "ray", env={"MEMORYBENCH_TEST_KILL_RUN": victim.run_id()})
    assert report["returncode"] == 0, report["stderr"]
    assert "5 runs trained, 0 already complete, 0 failed, 1 lost" in report["stdout"]
    assert "lstm L=5   seed=1  LOST  WorkerCrashedError" in report["stderr"] and "again on its 1 retry" in report["stderr"]
    stored = runs(tmp_path / "ray")
    assert victim.run_id() not in stored.index and len(stored) == 5 and (stored["status"] == "ok").all()
    resumed = local_sweep(tmp_path / "ray")  # no flag needed: a lost run was never stored
    assert resumed.returncode == 0 and "1 runs trained, 5 already complete" in resumed.stdout


def test_an_address_where_no_cluster_answers_is_one_line_within_seconds(tmp_path):
    import socket
    import time

    with socket.socket() as probe:  # a loopback port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for address, message in ((f"127.0.0.1:{port}", f"no Ray cluster answers at --address 127.0.0.1:{port} (Connection refused)"),
                             ("head-without-port", "--address 'head-without-port' is not allowed: give auto or HOST:PORT")):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(ROOT / "run_all.py"), *SWEEP, "--executor", "ray", "--address", address,
                               "--out", str(tmp_path / "out")], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=90)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
        assert time.perf_counter() - started < 60 and not (tmp_path / "out").exists()
