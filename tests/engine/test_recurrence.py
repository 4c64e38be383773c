"""The written-out backward through time (`engine.recurrence`) gives autograd's gradients bit for bit."""

import pytest
import torch

from memorybench.cells import get_cell
from memorybench.config import protocol_config
from memorybench.engine.recurrence import Recurrence
from memorybench.engine.stacked import StackedModel
from memorybench.models import model_for
from memorybench.tasks import get_task


def gradients(model: StackedModel, x, y, lengths, task, written: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.use_step_grad = written
    model.zero_grad(set_to_none=True)
    out = model(x, lengths)
    task.replica_losses(out, y, "mean", False).sum().backward()
    return out.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("ends", [(7, 7, 7), (7, 7, 5, 2, 2, 1), (6, 3)])
@pytest.mark.parametrize("hidden", [32, 5])  # the book's; one whose gate blocks are no whole number of SIMD lanes
def test_the_written_backward_gives_autograds_gradients_bit_for_bit(cell, ends, dtype, hidden):
    """Models of one length, and of several (the pack steps only the models still going): every parameter's
    gradient and every output equal autograd's through `engine.recurrence.run_trimmed`, in float32 and float64."""
    task = get_task("nndl")
    configs = [
        protocol_config("nndl", cell=cell, seq_len=10, seed=e, device="cpu", hidden_size=hidden)
        for e in range(len(ends))
    ]
    model = StackedModel([model_for(c, task) for c in configs]).to(dtype)
    generator = torch.Generator().manual_seed(len(ends))
    x = torch.randint(0, 10, (len(ends), 5, max(ends)), generator=generator)  # (E, B, T)
    y = torch.randint(0, 19, (len(ends), 5), generator=generator)
    lengths = None if len(set(ends)) == 1 else torch.tensor(ends)
    assert model.written_backward(x)
    out_auto, auto = gradients(model, x, y, lengths, task, written=False)
    out_written, written = gradients(model, x, y, lengths, task, written=True)
    assert torch.equal(out_auto, out_written)
    assert auto.keys() == written.keys()
    for name in auto:
        assert torch.equal(auto[name], written[name]), name


def test_the_recurrence_passes_gradcheck_in_float64():
    """Against finite differences too, through every input: the blocks, the recurrent weights and biases."""
    spec = get_cell("lstm")
    E, n, B, H = 3, 2, 2, 3
    gen = torch.Generator().manual_seed(0)
    make = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64, requires_grad=True)
    inputs = (make(E, 4 * H, H), make(E, 4 * H), make(E, n, B, 4 * H), make(E, 1, B, 4 * H))
    assert torch.autograd.gradcheck(lambda *t: Recurrence.apply(spec.step_grad, (3, 2, 1), *t), inputs)


def test_evaluation_the_srn_and_a_switched_off_pack_keep_autograds_path():
    task = get_task("nndl")
    stacked = lambda cell: StackedModel(
        [model_for(protocol_config("nndl", cell=cell, seq_len=4, seed=s, device="cpu"), task) for s in range(2)]
    )
    x = torch.zeros(2, 3, 4, dtype=torch.long)
    lstm, srn = stacked("lstm"), stacked("srn")
    assert lstm.written_backward(x) and not srn.written_backward(x)  # the SRN has no written backward (no faster)
    with torch.no_grad():
        assert not lstm.written_backward(x)
    lstm.use_step_grad = False
    assert not lstm.written_backward(x)
