"""pytest-benchmark's JSON keeps every round's raw timing (`stats.data`, ~45 KB per case); the
report reads only the summary statistics, so the committed JSON leaves the raw rounds out."""


def pytest_benchmark_update_json(config, benchmarks, output_json):
    for bench in output_json["benchmarks"]:
        bench["stats"].pop("data", None)
