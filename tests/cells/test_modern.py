"""The modern cells of issue 25: each against a formula computed by hand on a tiny input, the scan against
the step form (outputs and gradients, float64), IndRNN's constraint applied by the engine and refused where
a layout cannot apply it."""

import math
from dataclasses import replace

import pytest
import torch

from memorybench.cells import get_cell, make_recurrent
from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack
from memorybench.engine.policy import refusal


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def g(v: float) -> float:  # the paper's positive activation
    return v + 0.5 if v >= 0 else sigmoid(v)


def one_unit(cell: str, weights: list[float], biases: list[float]):
    """A 1-input, 1-unit layer of `cell` with the given input weights and biases (one per chunk)."""
    layer = make_recurrent(cell, "transparent", 1, 1).double()
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.tensor(weights, dtype=torch.float64)[:, None])
        layer.bias_ih_l0.copy_(torch.tensor(biases, dtype=torch.float64))
    return layer


def test_mingru_is_its_formula_by_hand():
    layer = one_unit("mingru", [1.0, 2.0], [0.0, -1.0])  # z = sigmoid(x), h~ = g(2x - 1)
    h = 0.0
    xs = [0.3, -0.7, 1.2]
    for x in xs:
        z, h_tilde = sigmoid(x), g(2 * x - 1)
        h = (1 - z) * h + z * h_tilde
    output, h_n = layer(torch.tensor(xs, dtype=torch.float64)[None, :, None])
    assert output[0, -1, 0].item() == pytest.approx(h, abs=1e-12) and h_n[0, 0, 0].item() == pytest.approx(h, abs=1e-12)


def test_minlstm_is_its_formula_by_hand():
    layer = one_unit(
        "minlstm", [1.0, -0.5, 2.0], [0.2, 0.1, 0.0]
    )  # f = sigmoid(x + 0.2), i = sigmoid(-x/2 + 0.1), h~ = g(2x)
    h = 0.0
    xs = [0.3, -0.7, 1.2, 0.05]
    for x in xs:
        f, i, h_tilde = sigmoid(x + 0.2), sigmoid(-0.5 * x + 0.1), g(2 * x)
        h = f / (f + i) * h + i / (f + i) * h_tilde
    output, _ = layer(torch.tensor(xs, dtype=torch.float64)[None, :, None])
    assert output[0, -1, 0].item() == pytest.approx(h, abs=1e-12)


def test_indrnn_is_its_formula_by_hand():
    layer = make_recurrent("indrnn", "transparent", 1, 2).double()
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.tensor([[1.0], [-2.0]], dtype=torch.float64))
        layer.u_l0.copy_(torch.tensor([0.9, 0.5], dtype=torch.float64))
        layer.bias_l0.copy_(torch.tensor([0.1, 1.0], dtype=torch.float64))
    h = [0.0, 0.0]
    xs = [0.5, -1.0, 2.0]
    for x in xs:
        h = [max(0.0, 1.0 * x + 0.9 * h[0] + 0.1), max(0.0, -2.0 * x + 0.5 * h[1] + 1.0)]
    output, _ = layer(torch.tensor(xs, dtype=torch.float64)[None, :, None])
    assert output[0, -1].tolist() == pytest.approx(h, abs=1e-12)


CUDA = pytest.param(
    "cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
)


@pytest.mark.parametrize("device", ["cpu", CUDA])
@pytest.mark.parametrize("cell", ["mingru", "minlstm", "lru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch, steps", [(1, 1), (3, 7), (4, 200)])
def test_the_scan_equals_the_step_form_in_outputs_and_gradients(cell, bidirectional, batch, steps, device):
    torch.manual_seed(0)
    stepped = make_recurrent(cell, "transparent", 5, 6, 2, bidirectional).double().to(device)
    scanned = make_recurrent(cell, "scan", 5, 6, 2, bidirectional).double().to(device)
    scanned.load_state_dict(stepped.state_dict())
    x = torch.randn(batch, steps, 5, dtype=torch.float64, device=device) * 2
    results = []
    for layer in (stepped, scanned):
        xi = x.clone().requires_grad_(True)
        output, h_n = layer(xi)
        (output.square().sum() + h_n.sum()).backward()
        # a parameter a path does not reach (the LRU's eigenvalues over one step from s_0 = 0) has gradient 0
        results.append(
            (output, h_n, xi.grad, [torch.zeros_like(p) if p.grad is None else p.grad for p in layer.parameters()])
        )
    (o1, h1, gx1, gp1), (o2, h2, gx2, gp2) = results
    for a, b in [
        (o1, o2),
        (h1, h2),
        (gx1, gx2),
        *zip(gp1, gp2),
    ]:  # to 1e-10 of each tensor's scale (gradients sum T steps)
        assert (a - b).abs().max().item() <= 1e-10 * max(1.0, b.abs().max().item())


def test_the_scan_starts_from_a_zero_state():
    layer = make_recurrent("mingru", "scan", 1, 1).double()
    with torch.no_grad():
        layer.weight_ih_l0.zero_()
        layer.bias_ih_l0.zero_()  # z = 1/2, h~ = 1/2 every step: h_t = 1/2 - (1/2)^(t+1) from h_0 = 0
    output, _ = layer(torch.zeros(1, 3, 1, dtype=torch.float64))
    assert output[0, :, 0].tolist() == pytest.approx([0.25, 0.375, 0.4375], abs=1e-12)


def test_a_cell_with_a_scan_runs_it_by_default_on_cuda_only():
    # the scan took 1-9% of the step form's time on an H200; on the CPU it lost at batch 64 and above
    for device, expected in [("cpu", "transparent"), ("cuda", "scan"), ("cuda:1", "scan")]:
        assert [protocol_config("adding", cell=c, device=device).execution for c in ("mingru", "minlstm", "lru")] == [
            expected
        ] * 3
    assert [protocol_config("adding", cell=c, device="cuda").execution for c in ("indrnn", "gru")] == [
        "transparent",
        "fused",
    ]
    assert protocol_config("adding", cell="lru", device="cuda", execution="transparent").execution == "transparent"


def test_a_cell_without_a_scan_refuses_it():
    with pytest.raises(ValueError, match="cell 'gru' has no scan over time"):
        make_recurrent("gru", "scan", 1, 2)
    with pytest.raises(ValueError, match="execution='scan' is not allowed for cell 'indrnn'"):
        protocol_config("nndl", cell="indrnn", execution="scan")


def test_the_engine_bounds_indrnn_recurrent_weights_by_the_runs_own_length():
    config = protocol_config(
        "adding", cell="indrnn", seq_len=10, seed=0, steps=30, eval_interval=10, lr=0.5, device="cpu"
    )
    u = train_pack([config])[0].state_dict["rnn.u_l0"]
    assert (
        u.abs().max().item() <= 2 ** (1 / 10) + 1e-7
    )  # a learning rate of 0.5 pushes u past the bound; the engine clamps it
    assert (u.abs() == torch.tensor(2 ** (1 / 10), dtype=u.dtype)).any()


def test_a_layout_that_cannot_apply_the_constraint_refuses_indrnn_with_its_reason():
    configs = [protocol_config("nndl", cell="indrnn", seq_len=5, seed=s, device="cpu") for s in range(2)]
    assert (
        refusal(configs, "stacked")
        == "cell 'indrnn' constrains its weights after every optimizer step, which is not applied by the stacked layout"
    )
    assert refusal(configs[:1], "single") is None


def test_the_lru_is_its_formula_by_hand():
    from memorybench.cells.lru import readout

    layer = make_recurrent("lru", "transparent", 1, 1).double()
    lam = complex(0.8 * math.cos(0.3), 0.8 * math.sin(0.3))
    values = dict(
        nu_log=math.log(-math.log(0.8)),
        theta_log=math.log(0.3),
        gamma_log=math.log(0.6),
        B_re=0.5,
        B_im=-1.0,
        C_re=2.0,
        C_im=0.5,
        D=0.25,
        glu_weight=[[1.0], [0.5]],
        glu_bias=[0.1, -0.2],
    )
    with torch.no_grad():
        for name, value in values.items():
            getattr(layer, f"{name}_l0").copy_(
                torch.tensor(value, dtype=torch.float64).reshape(getattr(layer, f"{name}_l0").shape)
            )
    s, xs = 0j, [0.5, -1.0, 2.0]
    for x in xs:
        s = lam * s + 0.6 * complex(0.5, -1.0) * x
    y = (complex(2.0, 0.5) * s).real + 0.25 * xs[-1]
    expected = (1.0 * y + 0.1) * sigmoid(0.5 * y - 0.2)
    output, h_n = layer(torch.tensor(xs, dtype=torch.float64)[None, :, None])
    assert output[0, -1, 0].item() == pytest.approx(expected, abs=1e-12) and h_n[0, 0, 0].item() == pytest.approx(
        expected, abs=1e-12
    )
    trace = layer.trace(torch.tensor(xs, dtype=torch.float64)[None, :, None])
    assert (trace["h_re"][0, -1, 0].item(), trace["h_im"][0, -1, 0].item()) == pytest.approx(
        (s.real, s.imag), abs=1e-12
    )
    assert readout is get_cell("lru").readout


def test_the_lru_starts_on_its_ring_with_normalised_inputs():
    from memorybench.cells.lru import MAX_PHASE, R_MAX, R_MIN, eigenvalues

    torch.manual_seed(0)
    layer = make_recurrent("lru", "transparent", 3, 2000)
    params = {name[: -len("_l0")]: p for name, p in layer.named_parameters()}
    re, im = eigenvalues(params)
    modulus, phase = torch.sqrt(re**2 + im**2), torch.atan2(im, re)
    assert (
        R_MIN - 1e-6 <= modulus.min()
        and modulus.max() <= R_MAX + 1e-6
        and 0 <= phase.min()
        and phase.max() <= MAX_PHASE + 1e-6
    )
    assert torch.allclose(torch.exp(params["gamma_log"]), torch.sqrt(1 - modulus**2), atol=1e-5)
    squared = modulus.double() ** 2  # uniform between R_MIN^2 and R_MAX^2: its mean is halfway
    assert abs(squared.mean().item() - (R_MIN**2 + R_MAX**2) / 2) < 0.005


def test_the_modern_cells_name_their_gates_and_train_a_quick_run():
    for cell in ("indrnn", "mingru", "minlstm", "lru"):
        spec = get_cell(cell)
        assert set(spec.heatmap) <= set(spec.states) and spec.fused is None
        output = train_pack(
            [protocol_config("nndl", cell=cell, seq_len=5, seed=0, steps=20, eval_interval=10, device="cpu")]
        )[0]
        assert output.result.status == "ok" and 0 <= output.result.test_score <= 1


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(
    "cell, execution",
    [
        ("indrnn", "transparent"),
        ("mingru", "transparent"),
        ("mingru", "scan"),
        ("minlstm", "scan"),
        ("lru", "transparent"),
        ("lru", "scan"),
    ],
)
def test_a_modern_cell_trains_on_cuda_as_on_the_cpu(cell, execution):
    # the same seed on both devices: float32 on two devices rounds differently, so the curves agree to a
    # tolerance over a short run, not bit for bit; IndRNN's bound holds on CUDA too
    config = protocol_config(
        "adding", cell=cell, execution=execution, seq_len=12, seed=0, steps=60, eval_interval=20, lr=0.05
    )
    outputs = {device: train_pack([replace(config, device=device)])[0] for device in ("cpu", "cuda")}
    cpu, cuda = outputs["cpu"].result, outputs["cuda"].result
    assert cuda.status == "ok" and cuda.device.startswith("cuda") and len(cuda.curves) == len(cpu.curves) == 3
    for a, b in zip(cuda.curves, cpu.curves):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-3, abs=1e-4)
    if cell == "indrnn":
        assert outputs["cuda"].state_dict["rnn.u_l0"].abs().max().item() <= 2 ** (1 / 12) + 1e-6
