from dataclasses import replace

import pytest
import torch
from torch import nn

from memorybench.cells import (
    CELLS,
    TransparentRNN,
    cell_names,
    get_cell,
    layer_parameters,
    make_recurrent,
    register_cell,
)

BUILT_IN = ("srn", "lstm", "gru")
REGISTERED = (*BUILT_IN, "srn_book", "indrnn", "mingru", "minlstm", "lru")
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}
LAYOUTS = [(1, False), (1, True), (2, False), (2, True)]  # (num_layers, bidirectional)
TORCH_LAYERS = {
    "srn": lambda *args, **options: nn.RNN(*args, nonlinearity="tanh", **options),
    "lstm": nn.LSTM,
    "gru": nn.GRU,
}


def twin_layers(cell, input_size, hidden_size, dtype, num_layers=1, bidirectional=False, seed=0):
    """torch's own layer and the transparent one, with one state dict of weights well away from torch's default range."""
    torch.manual_seed(seed)
    reference = TORCH_LAYERS[cell](
        input_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional
    ).to(dtype)
    transparent = make_recurrent(cell, "transparent", input_size, hidden_size, num_layers, bidirectional).to(dtype)
    with torch.no_grad():
        for p in reference.parameters():
            p.uniform_(-0.8, 0.8)
    transparent.load_state_dict(reference.state_dict())
    return reference, transparent


def test_the_registry_holds_the_three_cells_in_order():
    assert cell_names() == tuple(CELLS) == REGISTERED
    assert [get_cell(c).label for c in BUILT_IN] == ["SRN", "LSTM", "GRU"]
    assert [get_cell(c).chunks for c in BUILT_IN] == [1, 4, 3]
    assert [c for c in BUILT_IN if get_cell(c).has_cell_state] == ["lstm"]


@pytest.mark.parametrize("num_layers, bidirectional", LAYOUTS)
@pytest.mark.parametrize("cell", BUILT_IN)
def test_fused_execution_is_torchs_layer(cell, num_layers, bidirectional):
    fused = make_recurrent(cell, "fused", 3, 4, num_layers, bidirectional)
    reference = TORCH_LAYERS[cell](3, 4, num_layers, batch_first=True, bidirectional=bidirectional)
    assert type(fused) is type(reference) and fused.batch_first
    assert (fused.mode, fused.num_layers, fused.bidirectional) == (reference.mode, num_layers, bidirectional)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("num_layers, bidirectional", LAYOUTS)
@pytest.mark.parametrize("cell", BUILT_IN)
# at least 2 steps: after one step from h0 = c0 = 0 the recurrent weights, the LSTM's forget gate and the GRU's z*h have no effect
@pytest.mark.parametrize("batch, steps", [(1, 2), (3, 5), (8, 30)])
def test_transparent_agrees_with_torchs_layer_on_outputs_and_gradients(
    cell, num_layers, bidirectional, dtype, batch, steps
):
    reference, transparent = twin_layers(cell, 6, 7, dtype, num_layers, bidirectional)
    x = torch.randn(batch, steps, 6, dtype=dtype)
    tol = TOLERANCE[dtype]
    results = []
    for layer in (reference, transparent):
        xi = x.clone().requires_grad_(True)
        output, h_n = layer(xi)
        h_n, c_n = h_n if cell == "lstm" else (h_n, torch.zeros(()))
        (output.square().sum() + h_n.sin().sum() + c_n.cos().sum()).backward()
        results.append((output, h_n, c_n, xi.grad, {n: p.grad for n, p in layer.named_parameters()}))
    (out_f, h_f, c_f, gx_f, g_f), (out_t, h_t, c_t, gx_t, g_t) = results
    directions = 2 if bidirectional else 1
    assert out_t.shape == out_f.shape == (batch, steps, directions * 7)
    assert h_t.shape == h_f.shape == (num_layers * directions, batch, 7)
    for transparent_value, fused_value in [(out_t, out_f), (h_t, h_f), (c_t, c_f), (gx_t, gx_f)]:
        torch.testing.assert_close(transparent_value, fused_value, rtol=tol, atol=tol)
    assert list(g_t) == list(g_f) and len(g_f) == 4 * num_layers * directions
    for name in g_f:
        torch.testing.assert_close(g_t[name], g_f[name], rtol=tol, atol=tol)


@pytest.mark.parametrize("num_layers, bidirectional", LAYOUTS)
@pytest.mark.parametrize("cell", BUILT_IN)
def test_transparent_draws_torchs_default_initialisation(cell, num_layers, bidirectional):
    torch.manual_seed(4)
    fused = make_recurrent(cell, "fused", 3, 5, num_layers, bidirectional)
    torch.manual_seed(4)
    transparent = make_recurrent(cell, "transparent", 3, 5, num_layers, bidirectional)
    assert fused.state_dict().keys() == transparent.state_dict().keys()
    assert all(torch.equal(transparent.state_dict()[k], v) for k, v in fused.state_dict().items())


@pytest.mark.parametrize("cell", BUILT_IN)
def test_layer_parameters_name_torchs_parameters(cell):
    fused = make_recurrent(cell, "fused", 3, 4, num_layers=2, bidirectional=True)
    names = [name for layer in (0, 1) for reverse in (False, True) for name in layer_parameters(cell, layer, reverse)]
    assert names == [name for name, _ in fused.named_parameters()]
    assert layer_parameters(cell) == ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    assert layer_parameters(cell, 1, reverse=True)[0] == "weight_ih_l1_reverse"


@pytest.mark.parametrize("cell", BUILT_IN)
def test_trace_returns_every_gate_and_state_consistently(cell):
    fused, transparent = twin_layers(cell, 4, 5, torch.float64)
    x = torch.randn(2, 9, 4, dtype=torch.float64)
    trace = transparent.trace(x)
    assert tuple(trace) == get_cell(cell).states
    assert all(v.shape == (2, 9, 5) for v in trace.values())
    torch.testing.assert_close(trace["h"], fused(x)[0])
    for gate in set(trace) & {"i", "f", "o", "r", "z"}:  # sigmoid gates
        assert 0 <= trace[gate].min() and trace[gate].max() <= 1
    if cell == "lstm":
        torch.testing.assert_close(trace["h"], trace["o"] * torch.tanh(trace["c"]))
        c_prev = torch.cat([torch.zeros_like(trace["c"][:, :1]), trace["c"][:, :-1]], dim=1)
        torch.testing.assert_close(trace["c"], trace["f"] * c_prev + trace["i"] * trace["g"])
    if cell == "gru":
        h_prev = torch.cat([torch.zeros_like(trace["h"][:, :1]), trace["h"][:, :-1]], dim=1)
        torch.testing.assert_close(trace["h"], (1 - trace["z"]) * trace["n"] + trace["z"] * h_prev)


@pytest.mark.parametrize("cell", BUILT_IN)
def test_trace_picks_a_layer_and_a_direction(cell):
    fused, transparent = twin_layers(cell, 4, 5, torch.float64, num_layers=2, bidirectional=True)
    x = torch.randn(2, 6, 4, dtype=torch.float64)
    output = fused(x)[0]  # (B, T, 2H)
    torch.testing.assert_close(transparent.trace(x)["h"], output[..., :5])
    torch.testing.assert_close(transparent.trace(x, layer=1, reverse=True)["h"], output[..., 5:])
    first = make_recurrent(cell, "transparent", 4, 5, bidirectional=True).double()
    first.load_state_dict({k: v for k, v in transparent.state_dict().items() if "_l0" in k})
    torch.testing.assert_close(transparent.trace(x, layer=0, reverse=True)["h"], first(x)[0][..., 5:])
    with pytest.raises(ValueError, match="layer=2 is not allowed"):
        transparent.trace(x, layer=2)
    with pytest.raises(ValueError, match="reverse=True needs a bidirectional layer"):
        make_recurrent(cell, "transparent", 4, 5).trace(x, reverse=True)


def test_lstm_forget_gate_is_the_second_chunk():
    layer = TransparentRNN("lstm", 2, 3)
    with torch.no_grad():
        layer.weight_ih_l0.zero_(), layer.weight_hh_l0.zero_(), layer.bias_hh_l0.zero_()
        layer.bias_ih_l0.copy_(torch.tensor([0.0] * 3 + [9.0] * 3 + [1.0] * 3 + [0.0] * 3))  # i, f, g, o
    trace = layer.trace(torch.zeros(1, 3, 2))
    assert trace["f"].min() > 0.99 and trace["i"].max() == pytest.approx(0.5)
    kept = trace["f"] * torch.cat([torch.zeros_like(trace["c"][:, :1]), trace["c"][:, :-1]], dim=1)
    torch.testing.assert_close(trace["c"], kept + 0.5 * torch.tanh(torch.tensor(1.0)))  # c_t = f*c_{t-1} + i*g


def test_unknown_cell_or_execution_lists_the_choices():
    with pytest.raises(ValueError, match="cell='rnn' is not allowed; choose one of srn, lstm, gru"):
        make_recurrent("rnn", "fused", 2, 2)
    with pytest.raises(ValueError, match="execution='jit' .*fused, transparent"):
        make_recurrent("lstm", "jit", 2, 2)


def test_register_cell_refuses_a_taken_or_malformed_name():
    with pytest.raises(ValueError, match="cell 'gru' is already registered; pass replace=True"):
        register_cell(replace(get_cell("srn"), name="gru"))
    for name in ("MyCell", "my-cell", "2cell"):
        with pytest.raises(ValueError, match=f"cell name '{name}' must be a lowercase identifier"):
            register_cell(replace(get_cell("srn"), name=name))
    assert cell_names() == REGISTERED and CELLS["gru"] is get_cell("gru")


def test_register_cell_replaces_only_when_asked():
    original = get_cell("srn")
    try:
        relabelled = register_cell(replace(original, label="Elman"), replace=True)
        assert get_cell("srn") is relabelled and cell_names() == REGISTERED
    finally:
        register_cell(original, replace=True)


def test_a_spec_must_be_consistent():
    srn = get_cell("srn")
    with pytest.raises(ValueError, match="2 gates for 1 chunks"):
        replace(srn, gates=("a", "b"))
    with pytest.raises(ValueError, match="heatmap .* names states it does not have"):
        replace(srn, heatmap=("c",))
    with pytest.raises(ValueError, match="declares its own parameters or projections: set torch_layout=False"):
        replace(srn, project_hidden=lambda params, h: h)
    with pytest.raises(ValueError, match="a fused torch layer has torch's layout; set fused=None"):
        replace(srn, torch_layout=False)


def test_the_one_bias_srn_is_the_srn_with_its_two_biases_summed():
    """Same outputs as torch's nn.RNN when b = bias_ih + bias_hh, and b's gradient equals each of torch's two."""
    torch.manual_seed(0)
    reference = nn.RNN(4, 3, batch_first=True).double()
    one_bias = make_recurrent("srn_book", "transparent", 4, 3).double()
    with torch.no_grad():
        one_bias.weight_ih_l0.copy_(reference.weight_ih_l0)
        one_bias.weight_hh_l0.copy_(reference.weight_hh_l0)
        one_bias.bias_l0.copy_(reference.bias_ih_l0 + reference.bias_hh_l0)
    x = torch.randn(2, 6, 4, dtype=torch.float64)
    (out_ref, h_ref), (out, h) = reference(x), one_bias(x)
    assert torch.allclose(out, out_ref, atol=1e-12) and torch.allclose(h, h_ref, atol=1e-12)
    out_ref.sum().backward()
    out.sum().backward()
    assert torch.allclose(reference.bias_ih_l0.grad, reference.bias_hh_l0.grad)
    assert torch.allclose(one_bias.bias_l0.grad, reference.bias_ih_l0.grad, atol=1e-12)
    assert [n for n, _ in one_bias.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "bias_l0"]


def test_the_one_bias_srn_book_init_draws_its_bias_like_the_srns_summed_biases():
    from memorybench.models import build_model
    from memorybench.tasks import get_task

    model = build_model(get_task("nndl"), "srn_book", execution="transparent", hidden_size=64, init="book", seed=3)
    bias = model.rnn.bias_l0.detach()
    bound = (6.0 / 65) ** 0.5
    assert bias.abs().max() <= bound and bias.abs().max() > 0.8 * bound and bias.std() > 0.4 * bound
    assert get_cell("srn_book").fused is None and get_cell("srn_book").step is get_cell("srn").step


def test_a_cell_names_its_group():
    from dataclasses import replace

    from memorybench.cells import cells_in

    assert cells_in("classic") == ("srn", "lstm", "gru") and cells_in("book") == ("srn_book",)
    with pytest.raises(ValueError, match=r"group='new' is not allowed; choose one of classic, modern, book, plugin"):
        replace(get_cell("srn"), name="x", group="new")
