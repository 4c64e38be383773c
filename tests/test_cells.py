import pytest
import torch

from memorybench.cells import CELL_NAMES, STATES, TransparentRNN, make_recurrent

TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


def twin_layers(cell, input_size, hidden_size, dtype, seed=0):
    torch.manual_seed(seed)
    fused = make_recurrent(cell, "fused", input_size, hidden_size).to(dtype)
    transparent = make_recurrent(cell, "transparent", input_size, hidden_size).to(dtype)
    with torch.no_grad():  # random weights well away from torch's default range, biases too
        for p in fused.parameters():
            p.uniform_(-0.8, 0.8)
    transparent.load_state_dict(fused.state_dict())
    return fused, transparent


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize("batch, steps", [(1, 1), (3, 5), (8, 30)])
def test_fused_and_transparent_agree_on_outputs_and_gradients(cell, dtype, batch, steps):
    fused, transparent = twin_layers(cell, 6, 7, dtype)
    x = torch.randn(batch, steps, 6, dtype=dtype)
    tol = TOLERANCE[dtype]
    results = []
    for layer in (fused, transparent):
        xi = x.clone().requires_grad_(True)
        output, h_n = layer(xi)
        h_n = h_n[0] if cell == "lstm" else h_n
        (output.square().sum() + h_n.sin().sum()).backward()
        results.append((output, h_n, xi.grad, {n: p.grad for n, p in layer.named_parameters()}))
    (out_f, h_f, gx_f, g_f), (out_t, h_t, gx_t, g_t) = results
    assert out_f.shape == out_t.shape == (batch, steps, 7)
    torch.testing.assert_close(out_t, out_f, rtol=tol, atol=tol)
    torch.testing.assert_close(h_t, h_f, rtol=tol, atol=tol)
    torch.testing.assert_close(gx_t, gx_f, rtol=tol, atol=tol)
    assert g_t.keys() == g_f.keys() == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
    for name in g_f:
        torch.testing.assert_close(g_t[name], g_f[name], rtol=tol, atol=tol)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_trace_returns_every_gate_and_state_consistently(cell):
    fused, transparent = twin_layers(cell, 4, 5, torch.float64)
    x = torch.randn(2, 9, 4, dtype=torch.float64)
    trace = transparent.trace(x)
    assert tuple(trace) == STATES[cell]
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


def test_lstm_forget_gate_is_the_second_chunk():
    layer = TransparentRNN("lstm", 2, 3)
    with torch.no_grad():
        layer.weight_ih_l0.zero_(), layer.weight_hh_l0.zero_(), layer.bias_hh_l0.zero_()
        layer.bias_ih_l0.copy_(torch.tensor([0.0] * 3 + [9.0] * 3 + [0.0] * 6))  # i, f, g, o
    trace = layer.trace(torch.zeros(1, 2, 2))
    assert trace["f"].min() > 0.99 and trace["i"].max() == pytest.approx(0.5)


def test_unknown_cell_or_execution_lists_the_choices():
    with pytest.raises(ValueError, match="cell='rnn' .*srn, lstm, gru"):
        make_recurrent("rnn", "fused", 2, 2)
    with pytest.raises(ValueError, match="execution='jit' .*fused, transparent"):
        make_recurrent("lstm", "jit", 2, 2)
