"""The Ray executor against real Ray clusters on this machine: `ray start` processes inside
fresh network and PID namespaces, so every byte of the tests' Ray traffic stays on 127.0.0.1
and every Ray process they start dies with them, and with their own HOME, Ray temp dir and
auth token, so they pass whatever Ray state the user has: ~/.ray/auth_token, a running
`ray start --head` (tests/ray_cluster.py). How the executor connects (a fresh local
instance without an address, every attempt bounded, one line when it fails) is also
checked in this process, with `ray.init` replaced. Under CI=true these tests may not skip
for want of Ray."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from memorybench.config import protocol_config
from memorybench.storage.store import ResultsStore

ROOT = Path(__file__).resolve().parents[2]
SWEEP = [
    "--lengths",
    "5",
    "--cells",
    "srn",
    "lstm",
    "gru",
    "--seeds",
    "2",
    "--quick",
    "--device",
    "cpu",
    "--no-progress",
]
COLUMNS = ["test_score", "test_loss", "best_dev_score", "best_step", "steps_done", "status", "pack_size", "packing"]

try:
    import ray  # noqa: F401
except ImportError:
    if os.environ.get("CI") == "true":
        raise
    pytest.skip('Ray is not installed (pip install -e ".[ray]")', allow_module_level=True)


UNSHARE = [
    "unshare",
    "--net",
    "--pid",
    "--fork",
    "--mount-proc",
    "--kill-child",
]  # loopback only; its processes die with it


def namespace_available() -> str:
    """'' if this process may make network and PID namespaces (root, unshare, ip), else why not."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "unshare or ip is missing"
    probe = subprocess.run([*UNSHARE, "ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    return "" if probe.returncode == 0 else f"cannot make network and PID namespaces: {probe.stderr.strip()}"


in_namespaces = pytest.mark.skipif(bool(namespace_available()), reason=namespace_available() or "-")


def in_a_namespace(mode: str, out: Path, env: dict | None = None) -> dict:
    """tests/ray_cluster.py MODE in fresh namespaces, running SWEEP: its report."""
    script = f'ip link set lo up && exec "{sys.executable}" "{ROOT / "tests" / "ray_cluster.py"}" "$@"'
    # Ray's Unix sockets live under its temp dir and their paths are capped at 107 bytes: a short
    # scratch dir under /tmp, not tmp_path. Once unshare returns, no process of the cluster is left in it.
    with tempfile.TemporaryDirectory(prefix="mb-ray-", ignore_cleanup_errors=True) as scratch:
        done = subprocess.run(
            [*UNSHARE, "bash", "-c", script, "bash", mode, scratch, str(out), *SWEEP],
            capture_output=True,
            text=True,
            env=dict(os.environ, **(env or {})),
            timeout=900,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def sweep_on_a_ray_cluster(out: Path, env: dict | None = None) -> dict:
    return in_a_namespace("two-nodes", out, env)


def local_sweep(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_all.py"), *SWEEP, "--workers", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=600,
    )


def runs(out: Path):
    return ResultsStore(out).collect()[0].set_index("run_id").sort_index()


@in_namespaces
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


@in_namespaces
@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_once_then_reported_lost_and_trained_by_the_next_sweep(tmp_path):
    victim = protocol_config("nndl", cell="lstm", seq_len=5, seed=1, steps=200, eval_interval=50, device="cpu")
    report = sweep_on_a_ray_cluster(tmp_path / "ray", env={"MEMORYBENCH_TEST_KILL_RUN": victim.run_id()})
    assert report["returncode"] == 0, report["stderr"]
    assert "5 runs trained, 0 already complete, 0 failed, 1 lost" in report["stdout"]
    assert (
        "lstm L=5   seed=1  LOST  WorkerCrashedError" in report["stderr"] and "again on its 1 retry" in report["stderr"]
    )
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
    for address, message in (
        (f"127.0.0.1:{port}", f"no Ray cluster answers at --address 127.0.0.1:{port} (Connection refused)"),
        ("head-without-port", "--address 'head-without-port' is not allowed: give auto or HOST:PORT"),
    ):
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "run_all.py"),
                *SWEEP,
                "--executor",
                "ray",
                "--address",
                address,
                "--out",
                str(tmp_path / "out"),
            ],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            timeout=90,
        )
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
        assert time.perf_counter() - started < 60 and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def own_instance(tmp_path_factory):
    """The user's own cluster (`ray start --head`, the latest on this machine, named by
    RAY_ADDRESS) is running; then the sweep without --address, a driver without the token,
    and a head that never answers (tests/ray_cluster.py own-instance)."""
    return in_a_namespace("own-instance", tmp_path_factory.mktemp("own") / "out")


@in_namespaces
@pytest.mark.slow
def test_without_address_a_sweep_runs_on_a_fresh_local_instance_not_on_the_users_cluster(own_instance):
    report, sweep = own_instance, own_instance["sweep"]
    assert report["cluster_started"] and report["latest_cluster"], report[
        "start_stderr"
    ]  # a bare ray.init() would join it
    assert sweep["returncode"] == 0, sweep["stderr"]
    assert "6 runs trained, 0 already complete, 0 failed" in sweep["stdout"]
    assert f"RAY_ADDRESS={report['latest_cluster']} is ignored without --address" in sweep["stderr"]
    # the user's cluster never had another driver than the one that looks at it now, nor another node
    assert report["driver_pids"] == [report["own_pid"]] and report["node_addresses"] == ["127.0.0.1"]
    assert report["gcs_servers_after"] == 1  # the sweep's own instance ended with it; the user's runs on
    assert sweep["seconds"] < 240, sweep["seconds"]


@in_namespaces
@pytest.mark.slow
def test_a_cluster_that_refuses_the_drivers_token_is_one_line_naming_RAY_AUTH_MODE(own_instance):
    refused = own_instance["no_token"]
    assert refused["returncode"] == 2 and refused["stderr"].count("\n") == 1, refused["stderr"]
    assert refused["stderr"].startswith(
        f"memorybench: error: could not connect to the Ray cluster at --address {own_instance['latest_cluster']}"
    )
    assert (
        "InvalidAuthToken" in refused["stderr"]
        and "RAY_AUTH_MODE=token" in refused["stderr"]
        and "RAY_AUTH_TOKEN" in refused["stderr"]
    )


@in_namespaces
@pytest.mark.slow
def test_a_head_that_never_answers_is_one_line_within_the_timeout_and_the_command_exits(own_instance):
    silent, address = own_instance["silent"], own_instance["silent_address"]
    assert silent["connections"] > 0  # Ray reached the port: it listens, it never answers
    assert silent["returncode"] == 2, silent  # not killed at the 60 s limit: Ray alone retries for over ten minutes
    assert silent["stderr"] == (
        f"memorybench: error: could not connect to the Ray cluster at --address {address} within 2 s: "
        "nothing there answered as a Ray head\n"
    )
    assert silent["seconds"] < 30, silent["seconds"]  # 2 s, and the start of python, torch and ray


class FakeRay:
    """`ray.init` replaced: it records its arguments and, when `hang`, never returns (until released)."""

    def __init__(self, monkeypatch, hang=False, error=None):
        import ray

        self.calls, self.shutdowns, self.hang, self.error, self.release = [], [], hang, error, threading.Event()
        self.initialized = False
        monkeypatch.setattr(ray, "init", self.init)
        monkeypatch.setattr(ray, "shutdown", self.shutdown)
        monkeypatch.setattr(ray, "is_initialized", lambda: self.initialized)
        monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 3.0})

    def init(self, **options):
        self.calls.append(options)
        if self.hang:
            self.release.wait(60)
        if self.error:
            raise self.error
        self.initialized = True

    def shutdown(self):
        self.shutdowns.append(True)
        self.initialized = False


def make_ray_executor(address):
    """RayExecutor(address=address), or the exception it raised, and the seconds it took; a
    hang fails the test (after 20 s) rather than stopping it."""
    from memorybench.sweep.ray_executor import RayExecutor

    made = {}

    def make():
        try:
            made["executor"] = RayExecutor(address=address)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            made["error"] = exc

    started = time.perf_counter()
    maker = threading.Thread(target=make, daemon=True)
    maker.start()
    maker.join(20)
    assert not maker.is_alive(), f"RayExecutor(address={address!r}) still connecting after 20 s"
    return made.get("executor"), made.get("error"), time.perf_counter() - started


@pytest.mark.parametrize(
    "address, names",
    [
        (None, "could not start a local Ray instance within 0.5 s: "),
        ("auto", "could not connect to the Ray cluster at --address auto within 0.5 s: "),
    ],
)
def test_a_connection_that_hangs_is_one_line_within_the_timeout(monkeypatch, address, names):
    from memorybench.sweep import ray_executor
    from memorybench.sweep.ray_executor import ExecutorUnavailable

    monkeypatch.setattr(ray_executor, "LOCAL_START_TIMEOUT_S", 0.5)
    monkeypatch.setattr(ray_executor, "JOIN_TIMEOUT_S", 0.5)
    fake = FakeRay(monkeypatch, hang=True)
    try:
        executor, error, seconds = make_ray_executor(address)
        assert isinstance(error, ExecutorUnavailable) and executor is None
        assert str(error).startswith(names) and "\n" not in str(error), str(error)
        assert 0.5 <= seconds < 5, seconds
    finally:
        fake.release.set()  # the abandoned ray.init "connects" at last: it is shut down again
    deadline = time.monotonic() + 5
    while not fake.shutdowns and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.shutdowns == [True] and not fake.initialized


def test_without_address_ray_starts_a_fresh_local_instance_whatever_RAY_ADDRESS_says(monkeypatch, capsys):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.7:6379")
    fake = FakeRay(monkeypatch)
    executor, error, _ = make_ray_executor(None)
    assert error is None and executor.workers == 3
    assert fake.calls[0]["address"] == "local"  # never the latest `ray start` cluster, nor RAY_ADDRESS's
    assert "RAY_ADDRESS=10.0.0.7:6379 is ignored without --address" in capsys.readouterr().err
    fake.initialized = False
    make_ray_executor("auto")
    assert [call["address"] for call in fake.calls] == ["local", "auto"]
    fake.shutdown()  # the thread that started Ray, waiting while Ray is up, ends


def test_a_refused_token_is_one_line_that_names_RAY_AUTH_MODE_and_the_token(monkeypatch):
    from memorybench.sweep.ray_executor import ExecutorUnavailable

    try:  # how Ray 2.60 says it: a plain ConnectionError, caused by the GCS client's AuthenticationError
        try:
            raise RuntimeError(
                "Failed to connect to GCS. Last connection error: Traceback (most recent call last):\n"
                "ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: Authentication token is missing"
            )
        except RuntimeError as cause:
            raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.7:6379") from cause
    except ConnectionError as refused:
        FakeRay(monkeypatch, error=refused)
    monkeypatch.setattr("memorybench.sweep.ray_executor.check_reachable", lambda address: None)
    _, error, _ = make_ray_executor("10.0.0.7:6379")
    assert isinstance(error, ExecutorUnavailable) and "\n" not in str(error), error
    message = str(error)
    assert message.startswith(
        "could not connect to the Ray cluster at --address 10.0.0.7:6379: the cluster refused this driver (InvalidAuthToken)"
    )
    assert "RAY_AUTH_MODE=token" in message and "RAY_AUTH_TOKEN" in message
