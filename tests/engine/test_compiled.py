"""The opt-in compiled path: jobs marked compiled, a machine that cannot compile trains eager with one
note, and a compiled pack trains the same function (to float rounding) and says so in its packing."""

import json

import pytest

from memorybench.config import protocol_config
from memorybench.engine import compiled as compiled_module
from memorybench.storage.store import ResultsStore
from memorybench.sweep.plan import plan_work


def configs(cell="srn", steps=20):
    return [
        protocol_config("nndl", cell=cell, seq_len=n, seed=s, steps=steps, eval_interval=10, device="cpu")
        for n in (5, 8)
        for s in range(2)
    ]


@pytest.mark.parametrize(
    "device, compiled, expected", [("cpu", True, True), ("cpu", False, False), ("cuda", True, False)]
)
def test_every_job_is_compiled_on_request_except_those_a_cuda_graph_replays(device, compiled, expected, tmp_path):
    store = ResultsStore.open(tmp_path / "out")
    plan = plan_work(store, configs(), pack_size={"srn": 4}, across_lengths=True, device_type=device, compiled=compiled)
    assert plan.jobs and all(job.compiled is expected for job in plan.jobs)


def test_a_machine_that_cannot_compile_trains_eager_after_one_note(monkeypatch, tmp_path, capsys):
    from memorybench.cli.run import main

    monkeypatch.setattr(compiled_module, "compile_unavailable", lambda: "CalledProcessError: g++ not found")
    out = tmp_path / "out"
    assert (
        main(
            [
                "--lengths",
                "5",
                "--cells",
                "srn",
                "--seeds",
                "2",
                "--steps",
                "10",
                "--compile",
                "--no-progress",
                "--device",
                "cpu",
                "--workers",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "memorybench: note: --compile: this machine cannot compile (CalledProcessError: g++ not found); training eager"
    ]
    packings = {json.loads(p.read_text())["result"]["packing"] for p in (out / "runs").glob("*/run.json")}
    assert packings == {"stacked"}


@pytest.mark.slow
def test_a_compiled_pack_trains_the_same_function_and_says_so():
    from memorybench.engine.loop import train_pack

    if compiled_module.compile_unavailable():
        pytest.skip(f"this machine cannot compile: {compiled_module.compile_unavailable()}")
    runs = configs("gru", steps=30)
    compiled, eager = train_pack(runs, "stacked", compiled=True), train_pack(runs, "stacked")
    assert [o.result.packing for o in compiled] == ["stacked+compiled"] * 4 and [o.result.packing for o in eager] == [
        "stacked"
    ] * 4
    for a, b in zip(compiled, eager):
        assert a.result.status == b.result.status == "ok"
        for name, weight in a.state_dict.items():  # the same training, summed in another order
            assert (weight - b.state_dict[name]).abs().max().item() < 1e-4
