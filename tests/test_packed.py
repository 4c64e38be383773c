import pytest
import torch
import torch.nn.functional as F

from memorybench.cells import CELL_NAMES
from memorybench.config import protocol_config
from memorybench.models import build_model
from memorybench.packed import PackedModel
from memorybench.packed_training import LAYOUTS, check_packable, train_packed
from memorybench.store import ResultsStore
from memorybench.sweep import packs, plan_sweep, run_sweep
from memorybench.tasks import get_task
from memorybench.training import train_run

NNDL = get_task("nndl")


@pytest.mark.parametrize("capturable", [False, True], ids=["gather", "capturable"])
@pytest.mark.parametrize("lengths", [None, [9, 5, 7]])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_a_pack_is_each_model_alone_outputs_and_gradients(cell, layout, lengths, capturable):
    models = [build_model(NNDL, cell, seed=s).double() for s in range(3)]
    packed = LAYOUTS[layout](models).double()
    packed.capturable = capturable  # what CUDA graphs use: one-hot lookups instead of gathers
    x, y = torch.randint(0, 10, (3, 5, 9)), torch.randint(0, 19, (3, 5))  # tokens past a model's length are noise it must ignore
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
    assert torch.count_nonzero(packed.rnn.weight_hh_l0 * off_diagonal) == 0 and torch.count_nonzero(packed.rnn.weight_hh_l0.grad * off_diagonal) == 0
    assert torch.count_nonzero(packed.rnn.weight_hh_l0.grad) > 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_state_dict_of_returns_each_models_weights(layout):
    models = [build_model(NNDL, "gru", seed=s) for s in range(4)]
    packed = LAYOUTS[layout](models)
    for e, model in enumerate(models):
        assert all(torch.equal(packed.state_dict_of(e)[k], v) for k, v in model.state_dict().items())


def compare(single, packed, tol=1e-4):
    assert (packed.best_step, packed.steps_done, packed.best_dev_accuracy) == (single.best_step, single.steps_done, single.best_dev_accuracy)
    assert packed.test_accuracy == single.test_accuracy and packed.test_loss == pytest.approx(single.test_loss, abs=tol)
    assert len(packed.curves) == len(single.curves)
    for a, b in zip(packed.curves, single.curves):
        assert a["step"] == b["step"] and a["dev_accuracy"] == b["dev_accuracy"]
        for key in ("train_loss", "dev_loss", "grad_norm"):
            assert a[key] == pytest.approx(b[key], rel=tol, abs=tol)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("protocol, cell", [("nndl", "lstm"), ("nndl-shuffled", "srn"), ("stream", "gru")])
def test_packed_training_gives_the_single_runs_results(protocol, cell, layout):
    configs = [protocol_config(protocol, cell=cell, seq_len=6, seed=s, steps=300, eval_interval=50, device="cpu") for s in range(3)]
    results, states = train_packed(configs, layout=layout)
    for config, result, state in zip(configs, results, states):
        checkpoint = {}
        compare(train_run(config, checkpoint), result)
        assert (result.pack_size, result.packing, result.graphed) == (3, layout, False)
        for k, v in checkpoint["state_dict"].items():
            torch.testing.assert_close(state[k], v, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_pack_of_lengths_and_seeds_gives_the_single_runs_results(layout):
    configs = [protocol_config("nndl-shuffled", cell="gru", seq_len=n, seed=s, steps=300, eval_interval=50, device="cpu")
               for n in (8, 4) for s in range(2)]
    results, _ = train_packed(configs, layout=layout)
    for config, result in zip(configs, results):
        compare(train_run(config), result)
        assert result.pack_size == 4


@pytest.mark.parametrize("layout", LAYOUTS)
def test_packed_runs_stop_where_single_runs_stop(layout):
    configs = [protocol_config("stream", cell="gru", seq_len=3, seed=s, steps=1500, eval_interval=50, batch_size=32, lr=1e-2,
                               task_params={"eval_size": 100}, device="cpu") for s in range(3)]
    results, _ = train_packed(configs, layout=layout)
    assert all(r.best_dev_accuracy == 1.0 for r in results) and len({r.steps_done for r in results}) > 1
    for config, result in zip(configs, results):
        compare(train_run(config), result, tol=2e-3)  # lr 1e-2 over ~1000 steps amplifies float32 rounding


def test_what_cannot_be_packed():
    base = protocol_config("nndl", cell="lstm", seq_len=5, device="cpu")
    check_packable([base, protocol_config("nndl", cell="lstm", seq_len=6, device="cpu")])  # lengths may differ
    with pytest.raises(ValueError, match="differ only in seed and seq_len"):
        check_packable([base, protocol_config("nndl", cell="gru", seq_len=5, seed=1, device="cpu")])
    with pytest.raises(ValueError, match="distinct"):
        check_packable([base, base])
    with pytest.raises(ValueError, match="clip='global' is not supported"):
        check_packable([protocol_config("nndl", clip="global", seed=s) for s in range(2)])
    with pytest.raises(ValueError, match="layout='diagonal' is not allowed"):
        train_packed([protocol_config("nndl", seed=s, steps=1, device="cpu") for s in range(2)], layout="diagonal")


def test_sweep_packs_seeds_and_matches_the_unpacked_sweep(quick_store, tmp_path):
    configs = plan_sweep("nndl", ["srn", "gru"], [5, 10], seeds=2, quick=True, device="cpu")
    assert [len(p) for p in packs(configs, 2)] == [2, 2, 2, 2] and [len(p) for p in packs(configs, 1)] == [1] * 8
    store = ResultsStore.open(tmp_path)
    run_sweep(store, configs, pack_size=2, progress=False)
    packed = store.collect()[0].set_index("run_id")
    single = quick_store.collect()[0].set_index("run_id").loc[packed.index]
    assert (packed["pack_size"] == 2).all()
    assert packed["test_accuracy"].tolist() == single["test_accuracy"].tolist()
    assert packed["best_step"].tolist() == single["best_step"].tolist()


def test_a_failing_pack_falls_back_to_single_runs(tmp_path, monkeypatch):
    def broken(configs):
        raise FloatingPointError("one seed diverged")

    monkeypatch.setattr("memorybench.store.train_packed", broken)
    configs = plan_sweep("nndl", ["srn"], [5], seeds=2, quick=True, device="cpu")
    results = ResultsStore.open(tmp_path).train_pack(configs)
    assert [(r.status, r.pack_size) for r in results] == [("ok", 1), ("ok", 1)]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_graphed_packed_cuda_runs_match_single_eager_runs(cell, layout):
    configs = [protocol_config("nndl", cell=cell, seq_len=n, seed=s, steps=400, eval_interval=100, device="cuda")
               for n in (10, 6) for s in range(2)]
    results, _ = train_packed(configs, layout=layout)
    assert all(r.graphed and r.pack_size == 4 and r.packing == layout for r in results)
    for config, result in zip(configs, results):
        compare(train_run(config), result, tol=1e-3)
