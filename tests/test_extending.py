"""A task and a cell defined outside the package run through sweep -> store -> report
with no change to package code (the README's example cell is the one used here)."""

import pytest
import torch

from memorybench.cells import CELLS, CellSpec, register_cell
from memorybench.config import protocol_config
from memorybench.report.build import build_report
from memorybench.storage.store import ResultsStore
from memorybench.sweep.plan import run_sweep
from memorybench.tasks import TASKS, Split, TaskData, TaskSpec, register_task


def make_first_token_data(seq_len: int, seed: int) -> TaskData:
    """Recall the first of `seq_len` tokens from {0, 1, 2, 3}; 200/100/100 sequences."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 4, (400, seq_len), generator=generator)
    split = lambda rows: Split(inputs[rows], inputs[rows, 0])
    return TaskData(train=split(slice(0, 200)), dev=split(slice(200, 300)), test=split(slice(300, 400)))


FIRST_TOKEN = TaskSpec(
    name="first_token",
    label="first-token recall",
    description="recall the first of L tokens from {0, 1, 2, 3}",
    input_kind="tokens",
    input_size=4,
    output_kind="class",
    output_size=4,
    metric="accuracy",
    baseline=0.25,
    baseline_note="guessing any one token",
    threshold=0.625,
    threshold_note="halfway from guessing to perfect",
    make_data=make_first_token_data,
)


def indrnn_step(x_proj, h_proj, h, c):  # (..., H) each
    h = torch.relu(x_proj + h_proj)
    return h, c, {"h": h}


INDRNN = CellSpec(
    name="test_indrnn",
    label="IndRNN (test)",
    color="#CC79A7",
    gates=(),
    states=("h",),
    heatmap=("h",),
    chunks=1,
    has_cell_state=False,
    step=indrnn_step,
    fused=None,
    torch_layout=False,
    parameter_shapes=lambda i, h: {"weight_ih": (h, i), "u": (h,), "bias": (h,)},
    project_input=lambda p, x: x @ p["weight_ih"].T + p["bias"],
    project_hidden=lambda p, h: p["u"] * h,
    init_torch=lambda p, h: [torch.nn.init.uniform_(t, -(h**-0.5), h**-0.5) for t in p.values()],
    init_book=lambda p, h, chunks: [torch.nn.init.uniform_(t, -(h**-0.5), h**-0.5) for t in p.values()],
)


@pytest.fixture
def registered():
    yield register_task(FIRST_TOKEN), register_cell(INDRNN)
    del TASKS[FIRST_TOKEN.name], CELLS[INDRNN.name]


def test_a_users_task_and_cell_run_through_sweep_store_and_report(registered, tmp_path):
    configs = [
        protocol_config(
            "nndl", task="first_token", cell=cell, seq_len=n, seed=s, steps=150, eval_interval=50, device="cpu"
        )
        for n in (4, 6)
        for cell in ("test_indrnn", "gru")
        for s in range(2)
    ]
    assert {c.execution for c in configs if c.cell == "test_indrnn"} == {"transparent"}  # no fused kernel: step by step
    store = ResultsStore.open(tmp_path)
    outcome = run_sweep(store, configs, pack_size=2, progress=False)
    assert len(outcome.done) == 8 and not outcome.failed
    runs = store.collect()[0]
    indrnn = runs[runs["cell"] == "test_indrnn"]
    assert set(indrnn["packing"]) == {"mapped"} and not indrnn["pack_note"].fillna("").any()  # its own layout: vmap
    assert set(runs[runs["cell"] == "gru"]["packing"]) == {"stacked"}
    assert runs.groupby("cell")["test_score"].mean()["gru"] > 0.25  # learns the recall above the baseline
    text = build_report(store.root).read_text()
    assert "Task `first_token` (recall the first of L tokens from {0, 1, 2, 3})" in text
    assert "memoryless baseline (guessing any one token) is **0.25**" in text and "at or above **0.625**" in text
    assert (
        "| L | GRU | IndRNN (test) |" in text and "- IndRNN (test): seed" in text
    )  # its own column (registry order) and gate trace
    assert (store.root / "figures").is_dir()


PLUGIN = """
import torch

from memorybench import CellSpec, register_cell


def step(x_proj, h_proj, h, c):  # (..., H) each
    h = torch.relu(x_proj + h_proj)
    return h, c, {"h": h}


register_cell(CellSpec(
    name="my_indrnn", label="my IndRNN", color="#CC79A7", gates=(), states=("h",), heatmap=("h",), chunks=1,
    has_cell_state=False, step=step, fused=None, torch_layout=False,
    parameter_shapes=lambda i, h: {"weight_ih": (h, i), "u": (h,), "bias": (h,)},
    project_input=lambda p, x: x @ p["weight_ih"].T + p["bias"],
    project_hidden=lambda p, h: p["u"] * h,
    init_torch=lambda p, h: [torch.nn.init.uniform_(t, -h**-0.5, h**-0.5) for t in p.values()],
    init_book=lambda p, h, chunks: [torch.nn.init.uniform_(t, -h**-0.5, h**-0.5) for t in p.values()],
))
"""


@pytest.mark.slow
def test_a_plugin_cell_trains_and_reports_from_the_command_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    plugin, out = tmp_path / "my_cells.py", tmp_path / "out"
    plugin.write_text(PLUGIN)
    root = Path(__file__).resolve().parent.parent
    run = lambda *args: subprocess.run(
        [sys.executable, "-m", "memorybench", *args], capture_output=True, text=True, cwd=root, timeout=300
    )
    trained = run(
        "run",
        "--plugin",
        str(plugin),
        "--cells",
        "my_indrnn",
        "gru",
        "--lengths",
        "5",
        "--seeds",
        "2",
        "--steps",
        "30",
        "--workers",
        "2",
        "--pack",
        "1",
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        str(out),
    )
    assert trained.returncode == 0, trained.stderr
    runs = pd.read_csv(out / "tables" / "runs.csv")  # written by the sweep's report, which had the plugin
    assert sorted(runs["cell"]) == ["gru", "gru", "my_indrnn", "my_indrnn"] and set(runs["status"]) == {"ok"}
    reported = run("report", "--plugin", str(plugin), str(out))
    assert reported.returncode == 0 and "my IndRNN" in (out / "report.md").read_text()
    refused = run("run", "--cells", "my_indrnn", "--lengths", "5", "--out", str(tmp_path / "other"))
    assert refused.returncode == 2 and "invalid choice: 'my_indrnn'" in refused.stderr and "--plugin" in refused.stderr
    broken = run("report", "--plugin", str(tmp_path / "missing.py"), str(out))
    assert (
        broken.returncode == 2
        and broken.stderr.strip() == f"memorybench: error: --plugin {tmp_path / 'missing.py'}: no such file"
    )


TASK_PLUGIN = """
import torch

from memorybench import TaskSpec, register_task
from memorybench.config import PROTOCOLS, register_protocol
from memorybench.tasks import Split, TaskData, TaskGrid


def make_data(seq_len, seed):  # recall the first of seq_len tokens from {0, 1, 2, 3}
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 4, (400, seq_len), generator=generator)
    split = lambda rows: Split(inputs[rows], inputs[rows, 0])
    return TaskData(train=split(slice(0, 200)), dev=split(slice(200, 300)), test=split(slice(300, 400)))


register_task(TaskSpec(
    name="first_token", label="first-token recall", description="recall the first of L tokens from {0, 1, 2, 3}",
    input_kind="tokens", input_size=4, output_kind="class", output_size=4, metric="accuracy",
    baseline=0.25, baseline_note="guessing any one token", threshold=0.625, threshold_note="halfway from guessing to perfect",
    make_data=make_data, min_seq_len=1,
    grid=TaskGrid(("first_token",), (4, 8), (16, 32), "results/first_token", "first-token recall")))
register_protocol("first_token", dict(PROTOCOLS["nndl"], task="first_token"))
"""

SECTION_PLUGIN = """
from memorybench import ReportSection, register_section


def write(store, runs):
    return ["## Runs per cell (a plugin's section)", "", *(f"- {cell}: {n}" for cell, n in runs.groupby("cell").size().items()), ""]


register_section(ReportSection("runs_per_cell", needs=(), write=write))
"""

EXECUTOR_PLUGIN = """
from memorybench.sweep.executors import LocalPoolExecutor, register_executor


class Announcing(LocalPoolExecutor):
    def run(self, jobs):
        jobs = list(jobs)
        print(f"announcing: {len(jobs)} jobs on {self.workers} workers", flush=True)
        yield from super().run(jobs)


register_executor("announcing", Announcing)
"""


@pytest.mark.slow
def test_a_plugin_task_cell_report_section_and_executor_run_from_the_command_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    plugins = []
    for name, text in (
        ("my_cells", PLUGIN),
        ("my_task", TASK_PLUGIN),
        ("my_section", SECTION_PLUGIN),
        ("my_executor", EXECUTOR_PLUGIN),
    ):
        (tmp_path / f"{name}.py").write_text(text)
        plugins += ["--plugin", str(tmp_path / f"{name}.py")]
    out = tmp_path / "out"
    root = Path(__file__).resolve().parent.parent
    run = lambda *args: subprocess.run(
        [sys.executable, "-m", "memorybench", *args], capture_output=True, text=True, cwd=root, timeout=300
    )
    trained = run(
        "run",
        *plugins,
        "--task",
        "first_token",
        "--cells",
        "my_indrnn",
        "gru",
        "--seeds",
        "2",
        "--steps",
        "30",
        "--workers",
        "2",
        "--executor",
        "announcing",
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        str(out),
    )
    assert trained.returncode == 0, trained.stderr
    assert "announcing: " in trained.stdout and " jobs on 2 workers" in trained.stdout
    runs = pd.read_csv(out / "tables" / "runs.csv")
    assert (
        set(runs["task"]) == {"first_token"} and sorted(set(runs["seq_len"])) == [4, 8] and len(runs) == 8
    )  # the task's grid
    assert set(runs["status"]) == {"ok"}
    assert "- gru: 4\n- my_indrnn: 4" in (out / "report.md").read_text()  # the section, in the sweep's report
    (out / "report.md").unlink()
    assert (
        run("report", *plugins, str(out)).returncode == 0
        and "## Runs per cell (a plugin's section)" in (out / "report.md").read_text()
    )
    refused = run(
        "run", "--plugin", str(tmp_path / "my_cells.py"), "--executor", "announcing", "--out", str(tmp_path / "other")
    )
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        "memorybench: error: argument --executor: invalid choice: 'announcing' (choose from 'local', 'ray'; "
        "a plugin's executor needs its --plugin)"
    ]


def _docs_example(tmp_path, guarded: bool = True):
    """extend.md's example as a script, at a smoke-test budget; without its `__main__` guard when `guarded` is False."""
    import re
    import textwrap
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "how-to" / "extend.md").read_text()
    code = next(
        block
        for block in re.findall(r"```python\n(.*?)```", page, re.S)
        if "run_sweep(store, configs, workers=2)" in block
    )
    code = code.replace("seq_len=10, seed=s)", "seq_len=5, seed=s, steps=20, eval_interval=10, device='cpu')")
    if not guarded:
        head, _, body = code.partition('if __name__ == "__main__":')
        code = head + textwrap.dedent(body.split("\n", 1)[1])
    script = tmp_path / "my_sweep.py"
    script.write_text(code)
    return script


@pytest.mark.slow
@pytest.mark.parametrize("guarded", [True, False], ids=["as documented", "without the guard"])
def test_the_docs_example_trains_on_two_workers_and_without_its_guard_says_why_it_cannot(tmp_path, guarded):
    import subprocess
    import sys
    from pathlib import Path

    script = _docs_example(tmp_path, guarded)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env
    )
    if guarded:
        assert done.returncode == 0, done.stderr
        assert "IndRNN (mine)" in (tmp_path / "results-indrnn" / "report.md").read_text()
    else:
        assert done.returncode != 0 and "RuntimeError: the sweep's worker processes could not start" in done.stderr
        assert 'must run it under `if __name__ == "__main__":`' in done.stderr
