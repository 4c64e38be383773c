import pytest
import torch
import torch.nn.functional as F

from memorybench.engine.block import PackedModel
from memorybench.engine.layout import clip_per_replica_
from memorybench.engine.replicas import LAYOUTS
from memorybench.models import build_model
from memorybench.tasks import get_task

NNDL = get_task("nndl")
PACKS = ["stacked", "block"]  # the fused cells' packs (the mapped layout's: tests/engine/test_mapped.py)


@pytest.mark.parametrize("capturable", [False, True], ids=["gather", "capturable"])
@pytest.mark.parametrize("lengths", [None, [9, 5, 7]])
@pytest.mark.parametrize("layout", PACKS)
@pytest.mark.parametrize("cell", ["srn", "lstm", "gru"])
def test_a_pack_is_each_model_alone_outputs_and_gradients(cell, layout, lengths, capturable):
    models = [build_model(NNDL, cell, seed=s).double() for s in range(3)]
    packed = LAYOUTS[layout](models).double()
    packed.capturable = capturable  # what CUDA graphs use: one-hot lookups instead of gathers
    x, y = (
        torch.randint(0, 10, (3, 5, 9)),
        torch.randint(0, 19, (3, 5)),
    )  # tokens past a model's length are noise it must ignore
    lengths = lengths and torch.tensor(lengths)
    logits = packed(x, lengths)
    sum(F.cross_entropy(logits[e], y[e]) for e in range(3)).backward()
    packed.mask_gradients_()
    norms = packed.grad_norms()
    for e, model in enumerate(models):
        own_logits = model(x[e] if lengths is None else x[e, :, : lengths[e]])
        F.cross_entropy(own_logits, y[e]).backward()
        torch.testing.assert_close(logits[e], own_logits, rtol=1e-10, atol=1e-10)
        grads = packed.state_dict_of(e, grads=True)
        for name, parameter in model.named_parameters():
            torch.testing.assert_close(grads[name], parameter.grad, rtol=1e-10, atol=1e-12)
        own = torch.cat([p.grad.flatten() for p in model.parameters()])
        assert norms[e].item() == pytest.approx(own.norm().item(), rel=1e-10)


def test_block_diagonal_packs_keep_their_off_diagonal_blocks_at_zero():
    packed = PackedModel([build_model(NNDL, "lstm", seed=s) for s in range(3)])
    F.cross_entropy(packed(torch.randint(0, 10, (3, 5, 9))).flatten(0, 1), torch.randint(0, 19, (15,))).backward()
    packed.mask_gradients_()
    off_diagonal = 1 - packed.mask_hh
    assert (
        torch.count_nonzero(packed.rnn.weight_hh_l0 * off_diagonal) == 0
        and torch.count_nonzero(packed.rnn.weight_hh_l0.grad * off_diagonal) == 0
    )
    assert torch.count_nonzero(packed.rnn.weight_hh_l0.grad) > 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_state_dict_of_returns_each_models_weights(layout):
    execution = "transparent" if layout == "mapped" else None  # torch's fused kernels do not run under vmap
    models = [build_model(NNDL, "gru", seed=s, execution=execution) for s in range(1 if layout == "single" else 4)]
    packed = LAYOUTS[layout](models)
    for e, model in enumerate(models):
        assert all(torch.equal(packed.state_dict_of(e)[k], v) for k, v in model.state_dict().items())


def test_a_stacked_pack_of_a_per_step_vector_task_is_each_model_alone():
    from dataclasses import replace

    task = replace(NNDL, input_kind="vectors", input_size=3, output_kind="class_per_step")
    models = [build_model(task, "gru", seed=s).double() for s in range(2)]
    stacked = LAYOUTS["stacked"](models).double()
    x = torch.randn(2, 4, 6, 3, dtype=torch.float64)  # (E, B, T, F)
    outputs = stacked(x)  # (E, B, T, C)
    for e, model in enumerate(models):
        torch.testing.assert_close(outputs[e], model(x[e]), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["global", "per_param"])
def test_clipping_per_replica_is_torchs_clipping_of_each_run_alone(mode):
    grads = [torch.randn(3, 4, 5) * 3, torch.randn(3, 7) * 0.1]  # two parameters, three replicas
    alone = [[torch.nn.Parameter(torch.zeros_like(g[e])) for g in grads] for e in range(3)]  # each run's own parameters
    for e, params in enumerate(alone):
        for p, g in zip(params, grads):
            p.grad = g[e].clone()
    norms = clip_per_replica_(grads, mode, 1.0)
    for e, params in enumerate(alone):
        if mode == "global":
            expected_norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
        else:
            expected_norm = torch.stack([torch.nn.utils.clip_grad_norm_([p], 1.0) for p in params]).norm()
        assert norms[e].item() == pytest.approx(expected_norm.item(), rel=1e-6)
        for g, p in zip(grads, params):
            torch.testing.assert_close(g[e], p.grad)
        parts = [torch.cat([g[e].flatten() for g in grads])] if mode == "global" else [g[e] for g in grads]
        assert max(part.norm().item() for part in parts) == pytest.approx(
            1.0, rel=1e-5
        )  # the large one clipped to the limit
