"""FlatAdam gives every weight the bits torch's Adam gives it, from one buffer: alone and inside a stacked pack."""

import pytest
import torch

from memorybench.config import protocol_config
from memorybench.engine import loop
from memorybench.engine.flat_adam import ALIGNMENT, FlatAdam

SHAPES = [
    (3,),
    (17,),
    (5, 33),
    (1,),
    (2, 7, 9),
    (64,),
]  # sizes that put elements in the kernels' vectorized blocks and scalar tails


def parameters(seed):
    generator = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in SHAPES]


def assert_same_bits(outputs, reference):
    """Every run's curves, test score and best-dev weights, bit for bit."""
    for a, b in zip(outputs, reference, strict=True):
        assert a.result.curves == b.result.curves and a.result.test_score == b.result.test_score
        assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in b.state_dict)


def test_flat_adam_gives_every_weight_the_bits_of_torch_adam_step_after_step():
    ours, theirs = parameters(0), parameters(0)
    flat, reference = FlatAdam(ours, lr=1e-2), torch.optim.Adam(theirs, lr=1e-2)
    generator = torch.Generator().manual_seed(1)
    for step in range(40):
        for a, b in zip(ours, theirs):
            grad = torch.randn(a.shape, generator=generator) * 10.0 ** (step % 7 - 4)  # tiny to large, eps's scale too
            grad[grad.abs() < 0.3 * grad.abs().mean()] = 0.0  # and exact zeros
            a.grad, b.grad = grad.clone(), grad.clone()
        flat.step()
        reference.step()
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs)), f"step {step + 1}"
        assert not all(torch.equal(a, b) for a, b in zip(ours, parameters(0)))  # the weights did move


def test_each_parameter_is_an_aligned_view_of_the_one_buffer():
    params = parameters(0)
    before = [p.detach().clone() for p in params]
    flat = FlatAdam(params, lr=1e-3)
    for p, old in zip(params, before):
        assert torch.equal(p, old) and p.is_contiguous()
        assert p.untyped_storage().data_ptr() == flat.flat.untyped_storage().data_ptr()
        assert p.data_ptr() % ALIGNMENT == 0
    with torch.no_grad():
        params[2][1, 4] = 7.0
    assert 7.0 in flat.flat  # a write to a parameter is a write to the buffer, and back


def test_a_stacked_pack_on_the_cpu_steps_with_flat_adam_and_gets_torch_adams_bits(monkeypatch):
    configs = [
        protocol_config("nndl", cell="gru", seq_len=n, seed=s, steps=60, eval_interval=20, device="cpu")
        for n in (9, 5)
        for s in range(2)
    ]
    made = []

    def spy(params, lr):
        made.append(FlatAdam(params, lr=lr))
        return made[-1]

    monkeypatch.setattr(loop, "FlatAdam", spy)
    flat = loop.train_pack(configs, layout="stacked")
    assert len(made) == 1 and set(made[0].counts) == {60}
    monkeypatch.setattr(loop, "FlatAdam", lambda params, lr: torch.optim.Adam(params, lr=lr))
    reference = loop.train_pack(configs, layout="stacked")
    assert_same_bits(flat, reference)


def test_a_parameter_without_a_gradient_is_skipped_step_count_and_all_as_torch_adam_skips_it():
    ours, theirs = parameters(0), parameters(0)
    flat, reference = FlatAdam(ours, lr=1e-2), torch.optim.Adam(theirs, lr=1e-2)
    generator = torch.Generator().manual_seed(2)
    for step in range(12):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            grad = (
                torch.randn(a.shape, generator=generator) if (i != 3 or step in (0, 5)) else None
            )  # parameter 3 rests
            a.grad, b.grad = (None, None) if grad is None else (grad.clone(), grad.clone())
        flat.step()
        reference.step()
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs)), f"step {step + 1}"
    assert flat.counts == [12, 12, 12, 2, 12, 12]


@pytest.mark.parametrize(
    "cell, layout", [("lstm", "single"), ("indrnn", "single"), ("lru", "single"), ("srn", "block")]
)
def test_every_layout_on_the_cpu_steps_with_flat_adam_and_gets_torch_adams_bits(monkeypatch, cell, layout):
    """Torch's fused LSTM reading its weights from the buffer, a cell constrained after every step, a modern cell."""
    configs = [
        protocol_config("nndl", cell=cell, seq_len=6, seed=s, steps=40, eval_interval=20, device="cpu")
        for s in range(1 if layout == "single" else 2)
    ]
    flat = loop.train_pack(configs, layout=layout)
    monkeypatch.setattr(loop, "FlatAdam", lambda params, lr: torch.optim.Adam(params, lr=lr))
    reference = loop.train_pack(configs, layout=layout)
    assert_same_bits(flat, reference)


def test_parameters_of_two_dtypes_or_complex_ones_keep_torch_adam():
    config = protocol_config("nndl", cell="srn", device="cpu")
    assert isinstance(loop.make_optimizer(config, parameters(0), flat=True), FlatAdam)
    mixed = parameters(0) + [torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))]
    complex_ = [torch.nn.Parameter(torch.zeros(3, dtype=torch.complex64))]
    for params in (mixed, complex_):
        assert isinstance(loop.make_optimizer(config, params, flat=True), torch.optim.Adam)
    assert isinstance(loop.make_optimizer(config, parameters(0), flat=False), torch.optim.Adam)
