import pytest

from memorybench.config import PROTOCOLS, RunConfig, protocol_config


def test_book_protocol_settings():
    cfg = protocol_config("nndl", cell="srn", seq_len=20)
    assert (cfg.task, cfg.optimizer, cfg.lr, cfg.batch_size, cfg.steps, cfg.eval_interval) == (
        "nndl",
        "adam",
        1e-3,
        8,
        19_000,
        100,
    )
    assert (cfg.init, cfg.shuffle, cfg.clip, cfg.forget_bias) == ("book", False, "none", None)
    assert protocol_config("nndl-shuffled").shuffle is True
    assert protocol_config("stream").task == "stream"
    assert {"nndl", "nndl-shuffled", "stream", "nndl-6.2"} <= set(PROTOCOLS)
    book62 = protocol_config("nndl-6.2", cell="srn_book", seq_len=20)  # section 6.2: 50 epochs of 5 batches of 64
    assert (book62.optimizer, book62.lr, book62.batch_size, book62.steps, book62.loss_reduction, book62.execution) == (
        "sgd",
        0.2,
        64,
        250,
        "sum",
        "transparent",
    )


def test_run_id_tracks_the_science_not_the_device():
    base = protocol_config("nndl", cell="lstm", seq_len=10, seed=0)
    assert base.run_id() == protocol_config("nndl", cell="lstm", seq_len=10, seed=0).run_id()
    assert base.run_id() == protocol_config("nndl", cell="lstm", seq_len=10, seed=0, device="cpu").run_id()
    for change in (dict(seed=1), dict(seq_len=15), dict(cell="gru"), dict(lr=3e-3), dict(task_params={"p": 0.2})):
        assert (
            protocol_config("nndl", **dict(dict(cell="lstm", seq_len=10, seed=0), **change)).run_id() != base.run_id()
        )


def test_dict_round_trip():
    cfg = protocol_config("stream", cell="gru", seq_len=7, seed=2, task_params={"p": 0.3})
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown config fields \\['colour'\\]"):
        RunConfig.from_dict(dict(cfg.to_dict(), colour="red"))


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(cell="tcn"), "cell='tcn' .*srn, lstm, gru"),
        (dict(seq_len=2), "seq_len=2 .*>= 3"),
        (dict(seq_len=True), "seq_len=True"),
        (dict(seed=-3), "seed=-3"),
        (dict(batch_size=0), "batch_size=0 .*>= 1"),
        (dict(hidden_size=0), "hidden_size=0"),
        (dict(lr=0.0), "lr=0.0 .*> 0"),
        (dict(lr=float("nan")), "lr=nan"),
        (dict(clip="norm"), "clip='norm' .*none, global, per_param"),
        (dict(device="tpu"), "device='tpu' .*auto, cpu, cuda"),
        (dict(device="cuda:x"), "device='cuda:x'"),
        (dict(forget_bias=1.0, cell="srn"), "forget_bias=1.0 .*forget gate"),
        (dict(task="tcn"), "task='tcn'"),
    ],
)
def test_bad_values_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**change)
    with pytest.raises(ValueError, match="protocol='book'"):
        protocol_config("book")


def test_new_fields_at_their_defaults_keep_the_run_ids_of_every_committed_run():
    from pathlib import Path

    from memorybench.config import RunConfig
    from memorybench.storage.rundir import read_run

    folders = [p.parent for p in (Path(__file__).resolve().parent.parent / "results").glob("**/runs/*/run.json*")]
    assert len(folders) >= 200  # the committed reference sweeps
    for folder in folders:
        config = RunConfig.from_dict(read_run(folder).config)
        assert config.run_id() == folder.name
    layered = RunConfig.from_dict(read_run(folders[0]).config)
    from dataclasses import replace

    assert replace(layered, num_layers=2).run_id() != layered.run_id()  # a field in use changes the identity


def test_every_task_grid_fits_its_task():
    from memorybench.tasks import TASKS

    for name, spec in TASKS.items():
        grid = spec.grid
        if grid is None:
            continue
        assert min(grid.lengths + grid.literature) >= spec.min_seq_len, name
        for protocol in grid.protocols:
            assert PROTOCOLS[protocol]["task"] in (name, "stream"), (
                protocol
            )  # the digit sum's stream variant is its own task
            assert protocol_config(protocol, seq_len=grid.lengths[0], cell="gru").task == PROTOCOLS[protocol]["task"]


@pytest.mark.parametrize(
    "registry, name", [("memorybench.cells.registry.CELLS", "lstm"), ("memorybench.tasks.TASKS", "nndl")]
)
def test_a_new_definition_version_changes_the_run_id_and_version_1_keeps_it(monkeypatch, registry, name):
    import dataclasses
    import importlib

    module, _, attribute = registry.rpartition(".")
    specs = getattr(importlib.import_module(module), attribute)
    config = protocol_config("nndl", cell="lstm", seq_len=30, seed=1)
    monkeypatch.setitem(specs, name, dataclasses.replace(specs[name], version=2))
    bumped = protocol_config("nndl", cell="lstm", seq_len=30, seed=1)
    assert bumped.run_id() != config.run_id() and bumped.to_dict() == config.to_dict()  # the id, not the fields
    monkeypatch.setitem(specs, name, dataclasses.replace(specs[name], version=1))
    assert protocol_config("nndl", cell="lstm", seq_len=30, seed=1).run_id() == config.run_id()
