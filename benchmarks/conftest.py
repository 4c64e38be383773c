"""pytest-benchmark's JSON keeps every round's raw timing (`stats.data`, ~45 KB per case); the
report reads only the summary statistics, so the committed JSON leaves the raw rounds out.
Every benchmark runs on one torch thread, as each sweep worker trains."""

import pytest
import torch


def pytest_benchmark_update_json(config, benchmarks, output_json):
    for bench in output_json["benchmarks"]:
        bench["stats"].pop("data", None)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
