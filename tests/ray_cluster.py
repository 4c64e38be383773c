"""Run as PID 1 of fresh network and PID namespaces (see tests/sweep/test_ray.py): start Ray clusters
as separate `ray start` processes on 127.0.0.1, run memorybench commands against them, and
print what happened as JSON.

    unshare -n -p -f --mount-proc --kill-child bash -c 'ip link set lo up && exec python tests/ray_cluster.py MODE SCRATCH OUT [SWEEP ARGS...]'

MODE is
- two-nodes: a head and a second node; the sweep runs through them with --address HOST:PORT;
- own-instance: a head started with `ray start --head` stands for the user's own cluster on
  this machine (the latest one, so a bare `ray.init()` would join it), and RAY_ADDRESS names
  it; then (1) the sweep runs without --address, (2) a driver without the cluster's token
  gives --address HOST:PORT, (3) a driver gives --address HOST:PORT where a plain socket
  listens and never answers, with a join timeout of a few seconds.

The clusters are hermetic, whatever Ray state the user has on this machine:
- HOME and Ray's temp dir (RAY_TMPDIR, which also holds `ray_current_cluster`) are in
  SCRATCH, and no RAY_* variable of the caller gets through;
- token authentication is on, with a fresh token that every process gets in RAY_AUTH_TOKEN.
  Left to itself, `ray start --head` turns token auth on when ~/.ray/auth_token exists (any
  local `ray.init()`, as in `run_all.py --executor ray`, writes one) but a joining node, and
  a driver given HOST:PORT, only when RAY_AUTH_MODE=token: they fail with InvalidAuthToken;
- the network namespace has only loopback and nothing else listening, so no port is taken;
- when this script (PID 1) exits, the kernel kills every process left in its PID namespace:
  all the Ray processes it started, and only those (`ray stop` would kill the user's too).
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the memorybench command with the Ray executor's connection timeouts set: argv[1] is {"NAME": seconds}
CLI_WITH_TIMEOUTS = (
    "import json, sys\nimport memorybench.sweep.ray_executor as ray_executor\n"
    "for name, seconds in json.loads(sys.argv[1]).items():\n    setattr(ray_executor, name, seconds)\n"
    "from memorybench.cli.run import main\nsys.exit(main(sys.argv[2:]))"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_cli(*args):
    ray = Path(sys.executable).with_name("ray")
    return subprocess.run([str(ray), *args], capture_output=True, text=True, timeout=120)


def hermetic_environment(scratch: Path) -> None:
    (scratch / "home").mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("RAY_")}
    env.update(
        HOME=str(scratch / "home"),
        RAY_TMPDIR=str(scratch),
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN=secrets.token_hex(32),
        RAY_USAGE_STATS_ENABLED="0",
        PYTHONPATH=str(ROOT),
    )
    os.environ.clear()
    os.environ.update(env)  # for the `ray start` processes, the drivers and this script's own ray.init()


def start_head(scratch: Path, port: int):
    return ray_cli(
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=1",
        f"--temp-dir={scratch / 'ray'}",
        "--include-dashboard=false",
        "--disable-usage-stats",
    )


def memorybench(args: list, env: dict | None = None, timeouts: dict | None = None, limit_s: float = 600) -> dict:
    """The command's exit status (None: still running after `limit_s`, then killed), output and seconds."""
    command = [
        sys.executable,
        *(["-c", CLI_WITH_TIMEOUTS, json.dumps(timeouts)] if timeouts else [str(ROOT / "run_all.py")]),
        *args,
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env or dict(os.environ), timeout=limit_s)
        status, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as late:
        status, stdout, stderr = None, late.stdout or "", late.stderr or ""
        stdout, stderr = (
            text.decode(errors="replace") if isinstance(text, bytes) else text for text in (stdout, stderr)
        )
    return {"returncode": status, "stdout": stdout, "stderr": stderr[-3000:], "seconds": time.perf_counter() - started}


def cluster_state(port: int) -> dict:
    """This script's own driver on the cluster at 127.0.0.1:port: its live nodes and the drivers it has had."""
    import ray

    ray.init(address=f"127.0.0.1:{port}", log_to_driver=False, configure_logging=False)
    state = {
        "node_addresses": sorted(n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]),
        "driver_pids": sorted(job["DriverPid"] for job in ray._private.state.jobs()),
        "own_pid": os.getpid(),
    }
    ray.shutdown()
    return state


def gcs_servers() -> int:
    """How many Ray GCS servers run in this PID namespace (/proc shows only its processes)."""
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            count += entry.name.isdigit() and (entry / "comm").read_text().strip() == "gcs_server"
        except OSError:
            pass
    return count


def two_nodes(scratch: Path, out: str, sweep: list) -> dict:
    port = free_port()
    head = start_head(scratch, port)
    node = ray_cli(
        "start",
        f"--address=127.0.0.1:{port}",
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        f"--temp-dir={scratch / 'ray'}",
    )
    report = {
        "cluster_started": head.returncode == 0 and node.returncode == 0,
        "start_stderr": (head.stderr + node.stderr)[-3000:],
    }
    report.update(memorybench([*sweep, "--executor", "ray", "--address", f"127.0.0.1:{port}", "--out", out]))
    report.update(cluster_state(port))
    return report


def own_instance(scratch: Path, out: str, sweep: list) -> dict:
    port = free_port()
    head = start_head(scratch, port)
    report = {
        "cluster_started": head.returncode == 0,
        "start_stderr": head.stderr[-3000:],
        "latest_cluster": (scratch / "ray" / "ray_current_cluster").read_text().strip(),
    }
    report["sweep"] = memorybench(
        [*sweep, "--executor", "ray", "--out", out], env=dict(os.environ, RAY_ADDRESS=f"127.0.0.1:{port}"), limit_s=300
    )
    deadline = (
        time.monotonic() + 20
    )  # the driver's own instance shuts down as it exits; its processes may take a moment
    while gcs_servers() > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    report["gcs_servers_after"] = gcs_servers()
    report.update(cluster_state(port))

    stranger = scratch / "stranger"  # no token anywhere: not in the environment, not in ~/.ray
    stranger.mkdir()
    env = {name: value for name, value in os.environ.items() if name not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    # Ray gives up on a refused token after RAY_gcs_server_port_wait_time_s tries a second (20 by default)
    report["no_token"] = memorybench(
        [*sweep, "--executor", "ray", "--address", f"127.0.0.1:{port}", "--out", out + "-no-token"],
        env=dict(env, HOME=str(stranger), RAY_gcs_server_port_wait_time_s="3"),
        limit_s=120,
    )

    silent = socket.socket()  # accepts connections and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    held = []

    def hold_every_connection():
        while True:
            held.append(silent.accept())

    threading.Thread(target=hold_every_connection, daemon=True).start()
    address = f"127.0.0.1:{silent.getsockname()[1]}"
    report["silent_address"] = address
    report["silent"] = memorybench(
        [*sweep, "--executor", "ray", "--address", address, "--out", out + "-silent"],
        timeouts={"JOIN_TIMEOUT_S": 2},
        limit_s=60,
    )
    report["silent"]["connections"] = len(held)
    return report


def main() -> None:
    assert os.getpid() == 1, "run me as PID 1 of a PID namespace (see the docstring): the Ray processes die with me"
    mode, scratch, out, sweep = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
    hermetic_environment(scratch)
    print(json.dumps({"two-nodes": two_nodes, "own-instance": own_instance}[mode](scratch, out, sweep)))


if __name__ == "__main__":
    main()
