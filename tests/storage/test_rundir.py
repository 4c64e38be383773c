import json
import os

import pytest
import torch

from memorybench.config import protocol_config
from memorybench.storage.rundir import write_text_atomic
from memorybench.tasks import get_task
from memorybench.training import evaluate, load_run, train_and_save


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    config = protocol_config("nndl", cell="lstm", seq_len=6, steps=80, eval_interval=20, device="cpu")
    return config, train_and_save(config, tmp_path_factory.mktemp("run"))


def test_round_trip_restores_config_result_curves_and_weights(saved):
    config, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "run.json"]
    stored = json.loads((folder / "run.json").read_text())
    assert (
        stored["config"] == config.to_dict() and stored["environment"]["commit"] and stored["result"]["status"] == "ok"
    )
    run = load_run(folder)
    assert run.config == config
    assert list(run.curves["step"]) == [20, 40, 60, 80]
    task = get_task("nndl")
    test = task.make_data(6, 0).test
    assert evaluate(run.model, task, test)[1].item() == run.result.test_score


def test_reloaded_model_runs_on_new_data_and_traces_transparently(saved):
    _, folder = saved
    fused, transparent = load_run(folder).model, load_run(folder, execution="transparent").model
    x = get_task("nndl").make_data(6, seed=11).test.inputs
    torch.testing.assert_close(transparent(x), fused(x), rtol=1e-5, atol=1e-5)
    trace = transparent.rnn.trace(transparent.embedding(x[:1]))
    assert trace["c"].shape == (1, 6, 32)


def test_failed_run_is_saved_with_its_error(tmp_path):
    config = protocol_config(
        "nndl", cell="srn", seq_len=5, steps=20, eval_interval=10, optimizer="sgd", lr=1e38, device="cpu"
    )
    run = load_run(train_and_save(config, tmp_path))
    assert run.result.status == "failed" and "nan" in run.result.error and run.model is None
    assert json.loads((tmp_path / "run.json").read_text())["result"]["status"] == "failed"


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")

    class Boom(Exception):
        pass

    def explode(tmp):
        open(tmp, "w").write("half")
        raise Boom

    from memorybench.storage.rundir import write_atomic

    with pytest.raises(Boom):
        write_atomic(target, explode)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["table.csv"]
    write_text_atomic(target, "new")
    assert target.read_text() == "new"


@pytest.mark.parametrize(
    "umask, file_mode, dir_mode",
    [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)],
    ids=["umask 022", "umask 077", "umask 002"],
)
def test_atomic_writes_and_temporary_folders_follow_the_umask(tmp_path, monkeypatch, umask, file_mode, dir_mode):
    from memorybench.storage import rundir
    from memorybench.storage.rundir import current_umask, make_temp_dir, write_atomic

    def no_proc(*args, **kwargs):
        raise FileNotFoundError("/proc/self/status")

    old = os.umask(umask)
    try:
        assert current_umask() == umask
        with monkeypatch.context() as patch:  # where /proc does not tell it: read through os.umask, and left as it was
            patch.setattr(rundir, "open", no_proc, raising=False)
            assert current_umask() == umask and current_umask() == umask
        write_text_atomic(tmp_path / "report.md", "text")
        write_atomic(tmp_path / "table.csv", lambda tmp: open(tmp, "w").write("a\n"))
        folder = make_temp_dir(tmp_path, ".partial.")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "report.md").st_mode & 0o777 == file_mode
    assert os.stat(tmp_path / "table.csv").st_mode & 0o777 == file_mode
    assert os.stat(folder).st_mode & 0o777 == dir_mode and folder.name.startswith(".partial.")


def test_float32_curve_columns_are_written_short_and_read_back_exactly(tmp_path):
    import numpy as np
    import pandas as pd

    from memorybench.storage.rundir import StoredRun, read_run, run_document

    single = lambda x: float(np.float32(x))  # noqa: E731
    curves = pd.DataFrame(
        {
            "step": [1, 2],
            "train_loss": [0.1, 1 / 3],
            "dev_loss": [single(0.1), float("nan")],
            "grad_norm": [single(2.5e-8), single(3e9)],
        }
    )
    text = run_document(
        StoredRun(
            {"cell": "srn", "seq_len": 5, "seed": 0},
            {"status": "ok", "test_score": 0.5, "best_dev_score": 0.5},
            {},
            curves,
        )
    )
    (tmp_path / "run.json").write_text(text)
    assert json.loads(text)["curves"]["float32"] == ["dev_loss", "grad_norm"]
    assert "[1,0.1,0.1,2.5e-08]" in text and "[2,0.3333333333333333,NaN,3e+09]" in text  # float32's shortest decimals
    back = read_run(tmp_path).curves
    assert back.equals(curves) and back["dev_loss"][0] == single(0.1) != 0.1
