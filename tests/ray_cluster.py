"""Run as PID 1 of fresh network and PID namespaces (see tests/test_ray.py): start a Ray head
and a second node as separate `ray start` processes on 127.0.0.1, run the command through
them, and print what happened as JSON.

    unshare -n -p -f --mount-proc --kill-child bash -c 'ip link set lo up && exec python tests/ray_cluster.py SCRATCH OUT [SWEEP ARGS...]'

The cluster is hermetic, whatever Ray state the user has on this machine:
- HOME and Ray's temp dir are in SCRATCH, and no RAY_* variable of the caller gets through;
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_cli(*args):
    ray = Path(sys.executable).with_name("ray")
    return subprocess.run([str(ray), *args], capture_output=True, text=True, timeout=120)


def main() -> None:
    assert os.getpid() == 1, "run me as PID 1 of a PID namespace (see the docstring): the Ray processes die with me"
    scratch, out, sweep = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    (scratch / "home").mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("RAY_")}
    env.update(HOME=str(scratch / "home"), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32),
               RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT))
    os.environ.clear()
    os.environ.update(env)  # for the `ray start` processes, the driver and this script's own ray.init()
    port = free_port()
    head = ray_cli("start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1",
                   f"--temp-dir={scratch / 'ray'}", "--include-dashboard=false", "--disable-usage-stats")
    node = ray_cli("start", f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                   f"--temp-dir={scratch / 'ray'}")
    report = {"cluster_started": head.returncode == 0 and node.returncode == 0, "start_stderr": (head.stderr + node.stderr)[-3000:]}
    done = subprocess.run([sys.executable, str(ROOT / "run_all.py"), *sweep, "--executor", "ray", "--address", f"127.0.0.1:{port}",
                           "--out", out], capture_output=True, text=True, timeout=600)
    report.update(returncode=done.returncode, stdout=done.stdout, stderr=done.stderr[-3000:])
    import ray

    ray.init(address=f"127.0.0.1:{port}", log_to_driver=False, configure_logging=False)
    report["node_addresses"] = sorted(n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"])
    ray.shutdown()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
