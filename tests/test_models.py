import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from memorybench.cells import CELLS, CellSpec, cell_names, layer_weights, make_recurrent, register_cell
from memorybench.models import build_model, count_parameters
from memorybench.tasks import get_task

BUILT_IN = ("srn", "lstm", "gru")
LAYOUTS = [(1, False), (1, True), (2, False), (2, True)]  # (num_layers, bidirectional)
NNDL = get_task("nndl")
PER_STEP_VECTORS = replace(NNDL, input_kind="vectors", input_size=3, output_kind="class_per_step", output_size=5)


def indrnn_step(x_proj, h_proj, h, c):
    h = torch.relu(x_proj + h_proj)
    return h, c, {"h": h}


def indrnn_init_torch(params, hidden_size):
    nn.init.uniform_(params["weight_ih"], -1 / math.sqrt(hidden_size), 1 / math.sqrt(hidden_size))
    nn.init.uniform_(params["u"], 0.0, 1.0)
    params["bias_ih"].zero_(), params["bias_hh"].zero_()


def indrnn_init_book(params, hidden_size, chunks):
    nn.init.xavier_uniform_(params["weight_ih"])
    params["u"].fill_(1.0), params["bias_ih"].zero_(), params["bias_hh"].zero_()


INDRNN = CellSpec(  # Li et al. 2018: h = relu(W_ih x + b_ih + u*h + b_hh), u a vector
    name="my_indrnn",
    label="IndRNN (a user's)",
    color="#CC79A7",
    gates=(),
    states=("h",),
    heatmap=("h",),
    chunks=1,
    has_cell_state=False,
    step=indrnn_step,
    fused=None,
    torch_layout=False,
    parameter_shapes=lambda i, h: {"weight_ih": (h, i), "u": (h,), "bias_ih": (h,), "bias_hh": (h,)},
    project_hidden=lambda params, h: params["u"] * h + params["bias_hh"],
    init_torch=indrnn_init_torch,
    init_book=indrnn_init_book,
)


@pytest.fixture
def indrnn():
    yield register_cell(INDRNN)
    del CELLS[INDRNN.name]


@pytest.mark.parametrize("num_layers, bidirectional", LAYOUTS)
@pytest.mark.parametrize("cell, chunks", [("srn", 1), ("lstm", 4), ("gru", 3)])
def test_parameter_counts(cell, chunks, num_layers, bidirectional):
    model = build_model(NNDL, cell, num_layers=num_layers, bidirectional=bidirectional)
    D = 2 if bidirectional else 1
    first, upper = chunks * 32 * (32 + 32 + 2), chunks * 32 * (D * 32 + 32 + 2)
    embedding, recurrent, head = 10 * 32, D * (first + (num_layers - 1) * upper), D * 32 * 19 + 19
    assert count_parameters(model) == embedding + recurrent + head


@pytest.mark.parametrize("cell", BUILT_IN)
def test_book_initialisation(cell):
    model = build_model(NNDL, cell, init="book", seed=3)
    rnn = model.rnn
    per_gate = math.sqrt(6 / (32 + 32))
    assert rnn.weight_ih_l0.abs().max() <= per_gate and rnn.weight_ih_l0.abs().max() > 0.9 * per_gate
    assert rnn.weight_hh_l0.abs().max() <= per_gate
    assert rnn.bias_ih_l0.abs().max() <= math.sqrt(6 / 33) and rnn.bias_ih_l0.abs().max() > 0.3
    assert torch.count_nonzero(rnn.bias_hh_l0) == 0 and torch.count_nonzero(model.head.bias) == 0
    assert model.embedding.weight.abs().max() <= math.sqrt(6 / 42)


@pytest.mark.parametrize("cell", BUILT_IN)
def test_book_initialisation_of_every_layer_and_direction(cell):
    model = build_model(NNDL, cell, init="book", num_layers=2, bidirectional=True, seed=3)
    layers = layer_weights(model.rnn, cell)
    assert len(layers) == 4
    for index, params in enumerate(layers):
        per_gate = math.sqrt(6 / (32 + (32 if index < 2 else 64)))  # layer 1 reads both directions: 2H inputs
        assert 0.9 * per_gate < params["weight_ih"].abs().max() <= per_gate
        assert params["weight_hh"].abs().max() <= math.sqrt(6 / 64)
        assert 0.3 < params["bias_ih"].abs().max() <= math.sqrt(6 / 33) and torch.count_nonzero(params["bias_hh"]) == 0
    assert len({p["weight_hh"].sum().item() for p in layers}) == 4  # each drawn afresh


def test_torch_initialisation_differs_from_the_book():
    book, default = build_model(NNDL, "lstm", init="book"), build_model(NNDL, "lstm", init="torch")
    assert default.embedding.weight.abs().max() > 1.0  # N(0, 1)
    assert torch.count_nonzero(default.rnn.bias_hh_l0) > 0
    assert not torch.equal(book.rnn.weight_hh_l0, default.rnn.weight_hh_l0)


@pytest.mark.parametrize("init", ["book", "torch"])
@pytest.mark.parametrize("num_layers, bidirectional", LAYOUTS)
@pytest.mark.parametrize("cell", BUILT_IN)
def test_both_executions_draw_the_same_weights(cell, num_layers, bidirectional, init):
    fused, transparent = (
        build_model(NNDL, cell, execution=e, init=init, num_layers=num_layers, bidirectional=bidirectional, seed=2)
        for e in ("fused", "transparent")
    )
    assert list(fused.state_dict()) == list(transparent.state_dict())
    assert all(torch.equal(transparent.state_dict()[k], v) for k, v in fused.state_dict().items())


def test_build_is_pure_in_its_seed():
    torch.manual_seed(0)
    before = torch.rand(1)
    a, b, c = (build_model(NNDL, "gru", seed=s) for s in (1, 1, 2))
    assert torch.equal(a.rnn.weight_hh_l0, b.rnn.weight_hh_l0)
    assert not torch.equal(a.rnn.weight_hh_l0, c.rnn.weight_hh_l0)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(1), before)  # global RNG state untouched by building


@pytest.mark.parametrize("execution", ["fused", "transparent"])
def test_forget_bias_sets_the_total_forget_bias_of_every_layer_and_direction(execution):
    model = build_model(NNDL, "lstm", execution=execution, num_layers=2, bidirectional=True, forget_bias=1.0)
    for params in layer_weights(model.rnn, "lstm"):
        total = params["bias_ih"] + params["bias_hh"]
        assert torch.all(total[32:64] == 1.0) and not torch.all(total[:32] == 1.0)
    with pytest.raises(ValueError, match="cells with a forget gate \\(lstm\\), not 'gru'"):
        build_model(NNDL, "gru", forget_bias=1.0)


@pytest.mark.parametrize("num_layers, bidirectional", LAYOUTS)
@pytest.mark.parametrize("cell", BUILT_IN)
def test_weights_move_between_executions(cell, num_layers, bidirectional):
    fused = build_model(NNDL, cell, execution="fused", num_layers=num_layers, bidirectional=bidirectional, seed=5)
    transparent = build_model(
        NNDL, cell, execution="transparent", num_layers=num_layers, bidirectional=bidirectional, seed=6
    )
    transparent.load_state_dict(fused.state_dict())
    x = torch.randint(0, 10, (4, 12))
    torch.testing.assert_close(transparent(x), fused(x), rtol=1e-5, atol=1e-5)
    assert fused(x).shape == (4, 19) and (fused.cell, fused.spec) == (cell, CELLS[cell])


@pytest.mark.parametrize("execution", ["fused", "transparent"])
def test_a_bidirectional_model_reads_each_directions_final_state(execution):
    model = build_model(NNDL, "lstm", execution=execution, num_layers=2, bidirectional=True, seed=1)
    x = torch.randint(0, 10, (3, 7))
    _, (h_n, _) = model.rnn(model.embedding(x))  # h_n (4, B, H): l0, l0_reverse, l1, l1_reverse
    torch.testing.assert_close(model(x), model.head(torch.cat([h_n[2], h_n[3]], dim=-1)))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_vector_inputs_and_per_step_outputs(bidirectional):
    model = build_model(PER_STEP_VECTORS, "gru", hidden_size=4, bidirectional=bidirectional)
    assert model(torch.randn(2, 7, 3)).shape == (2, 7, 5)


def test_a_users_cell_trains_step_by_step(indrnn):
    assert cell_names() == (*BUILT_IN, "srn_book", "indrnn", "mingru", "minlstm", "lru", "my_indrnn")
    model = build_model(NNDL, "my_indrnn", execution="transparent", init="book", seed=0).double()
    assert torch.all(model.rnn.u_l0 == 1.0) and count_parameters(model) == 10 * 32 + 32 * (32 + 3) + 32 * 19 + 19
    x = torch.randint(0, 10, (4, 9))
    logits = model(x)
    by_hand = {name: p.detach().clone().requires_grad_(True) for name, p in model.named_parameters()}
    embedded, h = by_hand["embedding.weight"][x], torch.zeros(4, 32, dtype=torch.float64)  # (B, T, M), (B, H)
    for t in range(x.shape[1]):
        h = torch.relu(
            embedded[:, t] @ by_hand["rnn.weight_ih_l0"].T
            + by_hand["rnn.bias_ih_l0"]
            + by_hand["rnn.u_l0"] * h
            + by_hand["rnn.bias_hh_l0"]
        )
    expected = h @ by_hand["head.weight"].T + by_hand["head.bias"]
    torch.testing.assert_close(logits, expected, rtol=1e-12, atol=1e-12)
    logits.sin().sum().backward()
    expected.sin().sum().backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, by_hand[name].grad, rtol=1e-12, atol=1e-12)
    torch.manual_seed(0)
    two_way = make_recurrent("my_indrnn", "transparent", 3, 4, num_layers=2, bidirectional=True)
    assert (
        two_way.u_l1_reverse.shape == (4,)
        and two_way.weight_ih_l1.shape == (4, 8)
        and two_way(torch.randn(2, 5, 3))[0].shape == (2, 5, 8)
    )
    assert 0 <= two_way.u_l0.min() and torch.count_nonzero(two_way.bias_hh_l1_reverse) == 0  # its own torch-style init


def test_a_cell_without_a_fused_kernel_refuses_fused_execution(indrnn):
    for build in (
        lambda: make_recurrent("my_indrnn", "fused", 3, 4),
        lambda: build_model(NNDL, "my_indrnn", execution="fused"),
    ):
        with pytest.raises(
            ValueError,
            match="cell 'my_indrnn' has no fused kernel and runs step by step only: choose execution='transparent'",
        ):
            build()
    assert (
        build_model(NNDL, "my_indrnn").rnn.extra_repr().startswith("my_indrnn")
    )  # unasked, a model takes the step-by-step layer


def test_the_seeds_softmax_before_the_loss_is_kept_and_only_where_asked():
    import torch.nn.functional as F

    from memorybench.config import protocol_config
    from memorybench.engine.loop import train_pack
    from memorybench.engine.policy import refusal
    from memorybench.models import model_for

    config = protocol_config(
        "digits_rows",
        cell="lstm",
        seq_len=8,
        steps=6,
        eval_interval=3,
        device="cpu",
        bidirectional=True,
        hidden_size=8,
        softmax_before_loss=True,
    )
    sound = model_for(replace(config, softmax_before_loss=False))
    seed = model_for(config)
    x = torch.rand(5, 8, 8)
    probabilities, logits = seed(x), sound(x)
    assert torch.allclose(probabilities, logits.softmax(-1)) and torch.allclose(probabilities.sum(-1), torch.ones(5))
    y = torch.tensor([0, 1, 2, 3, 4])
    task = get_task("digits_rows")
    assert task.loss(probabilities, y).item() == pytest.approx(F.cross_entropy(logits.softmax(-1), y).item())
    unidirectional = replace(config, bidirectional=False)
    assert refusal([unidirectional, replace(unidirectional, seed=1)], "stacked").startswith("a softmax before the loss")
    assert (
        refusal(
            [
                replace(unidirectional, softmax_before_loss=False),
                replace(unidirectional, seed=1, softmax_before_loss=False),
            ],
            "stacked",
        )
        is None
    )
    (output,) = train_pack([config])
    assert output.result.status == "ok" and 0 <= output.result.test_score <= 1
    seed_protocol = protocol_config("mnist-seed", cell="lstm", seq_len=28)
    assert (
        seed_protocol.hidden_size,
        seed_protocol.bidirectional,
        seed_protocol.batch_size,
        seed_protocol.softmax_before_loss,
    ) == (64, True, 32, True)
    assert protocol_config("mnist-seed-sound", cell="lstm", seq_len=28).softmax_before_loss is False
