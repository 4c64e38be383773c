"""The mapped layout: packs of the cells outside torch's weight layout, each run's bits its single run's."""

import pytest
import torch

from memorybench.cells import CELLS, get_cell, register_cell
from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack
from memorybench.engine.mapped import MappedModel, unmappable
from memorybench.engine.policy import default_pack_sizes, plan_jobs, refusal
from memorybench.models import build_model
from memorybench.sweep.plan import plan_sweep
from memorybench.tasks import get_task

SHORT = dict(steps=40, eval_interval=20, device="cpu")


def _same_run(a, b) -> bool:
    """Two RunOutputs with the same weights, curves and scores, to the bit."""
    weights = a.state_dict.keys() == b.state_dict.keys() and all(
        torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict
    )
    scores = (a.result.test_score, a.result.test_loss, a.result.best_step) == (
        b.result.test_score,
        b.result.test_loss,
        b.result.best_step,
    )
    return weights and scores and a.result.curves == b.result.curves


@pytest.mark.parametrize(
    "task, cell, length",
    [
        ("nndl", "mingru", 6),
        ("nndl", "minlstm", 6),
        ("nndl", "lru", 6),
        ("nndl", "indrnn", 6),  # its constraint after every optimizer step, per replica
        ("nndl", "srn_book", 6),
        ("flip_flop", "mingru", 12),  # a per-step task, vector inputs
        ("parity", "lru", 6),
    ],
)
def test_each_run_of_a_mapped_pack_is_its_single_run_bit_for_bit(task, cell, length):
    configs = [protocol_config(task, cell=cell, seq_len=length, seed=s, **SHORT) for s in range(3)]
    packed = train_pack(configs, layout="mapped")
    assert [o.result.packing for o in packed] == ["mapped"] * 3 and packed[0].result.pack_size == 3
    for config, output in zip(configs, packed):
        assert _same_run(output, train_pack([config], layout="single")[0]), config.seed
    assert not _same_run(packed[0], packed[1])  # the comparison can fail: two seeds differ


def test_a_replica_is_constrained_for_its_own_input_steps_and_lengths_must_be_none():
    models = [build_model(get_task("nndl"), "indrnn", seed=s, execution="transparent") for s in range(2)]
    mapped = MappedModel(models)
    u = mapped.named_stacks()["rnn.u_l0"]
    with torch.no_grad():
        u.fill_(5.0)
    mapped.constrain_([4, 16])
    assert u[0].max().item() == pytest.approx(2 ** (1 / 4)) and u[1].max().item() == pytest.approx(2 ** (1 / 16))
    with pytest.raises(ValueError, match="lengths must be None"):
        mapped(torch.zeros(2, 3, 5, dtype=torch.long), torch.tensor([5, 4]))


def test_state_dict_of_is_the_single_models_layout():
    models = [build_model(get_task("nndl"), "lru", seed=s, execution="transparent") for s in range(3)]
    mapped = MappedModel(models)
    state = mapped.state_dict_of(2)
    assert state.keys() == models[2].state_dict().keys()
    assert all(torch.equal(v, models[2].state_dict()[k]) for k, v in state.items())


def _item_step(x_proj, h_proj, h, c):  # reads a number out of a tensor: not under vmap
    scale = float(x_proj.abs().max().item())
    h = torch.tanh(x_proj + h_proj) / max(scale, 1.0)
    return h, c, {"h": h}


@pytest.fixture
def item_cell():
    spec = register_cell(
        get_cell("srn").__class__(
            **{
                **get_cell("srn").__dict__,
                "name": "itemsrn",
                "step": _item_step,
                "step_grad": None,
                "fused": None,
                "group": "plugin",
            }
        )
    )
    unmappable.cache_clear()
    yield spec
    del CELLS["itemsrn"]
    unmappable.cache_clear()


def test_a_cell_that_vmap_cannot_run_trains_alone_and_says_why(item_cell):
    assert unmappable("mingru") is None and unmappable("itemsrn").startswith("RuntimeError")
    configs = [protocol_config("nndl", cell="itemsrn", seq_len=5, seed=s, device="cpu") for s in range(2)]
    assert "does not run under torch.func.vmap (RuntimeError" in refusal(configs, "mapped")
    fused = [protocol_config("nndl", cell="srn", seq_len=5, seed=s, device="cpu") for s in range(2)]
    assert "'srn' at execution='fused' does not run under torch.func.vmap" in refusal(fused, "mapped")
    jobs = plan_jobs(configs, 2, False, "cpu", layout="mapped")
    assert [job.layout for job in jobs] == ["single", "single"] and "torch.func.vmap" in jobs[0].note


def test_the_cpu_packs_the_modern_cells_mapped_one_length_a_pack():
    cells, lengths = ["gru", "mingru", "indrnn"], [5, 10]
    assert default_pack_sizes(cells, lengths, 3, "cpu") == {"gru": 6, "mingru": 6, "indrnn": 6}
    configs = plan_sweep("nndl", cells, lengths, seeds=3, device="cpu")
    jobs = plan_jobs(configs, default_pack_sizes(cells, lengths, 3, "cpu"), True, "cpu")
    shapes = sorted((job.configs[0].cell, job.layout, sorted({c.seq_len for c in job.configs})) for job in jobs)
    assert shapes == [
        ("gru", "stacked", [5, 10]),
        ("indrnn", "mapped", [5]),
        ("indrnn", "mapped", [10]),
        ("mingru", "mapped", [5]),
        ("mingru", "mapped", [10]),
    ]
    assert all(job.note == "" and len(job.configs) == 3 for job in jobs if job.layout == "mapped")
