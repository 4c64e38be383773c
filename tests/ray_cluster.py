"""Run inside a fresh network namespace that has only loopback (see tests/test_ray.py):
start a Ray head and a second node as separate `ray start` processes on 127.0.0.1, run
the command through them, stop every Ray process, and print what happened as JSON.

    unshare -n bash -c "ip link set lo up && python tests/ray_cluster.py OUT [SWEEP ARGS...]"
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = "6399"


def ray_cli(*args):
    ray = Path(sys.executable).with_name("ray")
    return subprocess.run([str(ray), *args], capture_output=True, text=True, timeout=120)


def main() -> None:
    out, sweep = sys.argv[1], sys.argv[2:]
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT))
    os.environ.update(env)
    report = {}
    try:
        head = ray_cli("start", "--head", "--node-ip-address=127.0.0.1", f"--port={PORT}", "--num-cpus=1",
                       "--include-dashboard=false", "--disable-usage-stats")
        node = ray_cli("start", f"--address=127.0.0.1:{PORT}", "--node-ip-address=127.0.0.1", "--num-cpus=1")
        report["cluster_started"] = head.returncode == 0 and node.returncode == 0
        done = subprocess.run([sys.executable, str(ROOT / "run_all.py"), *sweep, "--executor", "ray", "--address", f"127.0.0.1:{PORT}",
                               "--out", out], capture_output=True, text=True, env=env, timeout=600)
        report.update(returncode=done.returncode, stdout=done.stdout, stderr=done.stderr[-3000:])
        import ray

        ray.init(address=f"127.0.0.1:{PORT}", log_to_driver=False, configure_logging=False)
        report["node_addresses"] = sorted(n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"])
        ray.shutdown()
    finally:
        ray_cli("stop", "--force")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
