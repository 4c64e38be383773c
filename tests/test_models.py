import math

import pytest
import torch

from memorybench.cells import CELL_NAMES
from memorybench.models import build_model, count_parameters
from memorybench.tasks import get_task
from memorybench.tasks.base import TaskSpec

NNDL = get_task("nndl")


@pytest.mark.parametrize("cell, chunks", [("srn", 1), ("lstm", 4), ("gru", 3)])
def test_parameter_counts(cell, chunks):
    model = build_model(NNDL, cell)
    embedding, recurrent, head = 10 * 32, chunks * 32 * (32 + 32 + 2), 32 * 19 + 19
    assert count_parameters(model) == embedding + recurrent + head


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_book_initialisation(cell):
    model = build_model(NNDL, cell, init="book", seed=3)
    rnn = model.rnn
    per_gate = math.sqrt(6 / (32 + 32))
    assert rnn.weight_ih_l0.abs().max() <= per_gate and rnn.weight_ih_l0.abs().max() > 0.9 * per_gate
    assert rnn.weight_hh_l0.abs().max() <= per_gate
    assert rnn.bias_ih_l0.abs().max() <= math.sqrt(6 / 33) and rnn.bias_ih_l0.abs().max() > 0.3
    assert torch.count_nonzero(rnn.bias_hh_l0) == 0 and torch.count_nonzero(model.head.bias) == 0
    assert model.embedding.weight.abs().max() <= math.sqrt(6 / 42)


def test_torch_initialisation_differs_from_the_book():
    book, default = build_model(NNDL, "lstm", init="book"), build_model(NNDL, "lstm", init="torch")
    assert default.embedding.weight.abs().max() > 1.0  # N(0, 1)
    assert torch.count_nonzero(default.rnn.bias_hh_l0) > 0
    assert not torch.equal(book.rnn.weight_hh_l0, default.rnn.weight_hh_l0)


def test_build_is_pure_in_its_seed():
    torch.manual_seed(0)
    before = torch.rand(1)
    a, b, c = (build_model(NNDL, "gru", seed=s) for s in (1, 1, 2))
    assert torch.equal(a.rnn.weight_hh_l0, b.rnn.weight_hh_l0)
    assert not torch.equal(a.rnn.weight_hh_l0, c.rnn.weight_hh_l0)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(1), before)  # global RNG state untouched by building


def test_forget_bias_sets_the_total_forget_bias_for_lstm_only():
    model = build_model(NNDL, "lstm", forget_bias=1.0)
    total = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    assert torch.all(total[32:64] == 1.0) and not torch.all(total[:32] == 1.0)
    with pytest.raises(ValueError, match="lstm cell only, not 'gru'"):
        build_model(NNDL, "gru", forget_bias=1.0)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_weights_move_between_executions(cell):
    fused = build_model(NNDL, cell, execution="fused", seed=5)
    transparent = build_model(NNDL, cell, execution="transparent", seed=6)
    transparent.load_state_dict(fused.state_dict())
    x = torch.randint(0, 10, (4, 12))
    torch.testing.assert_close(transparent(x), fused(x), rtol=1e-5, atol=1e-5)
    assert fused(x).shape == (4, 19)


def test_vector_inputs_and_per_step_outputs():
    task = TaskSpec("toy", "", "vectors", 3, "class_per_step", 5, "accuracy", 0.2, make_data=None)
    model = build_model(task, "gru", hidden_size=4)
    assert model(torch.randn(2, 7, 3)).shape == (2, 7, 5)
