import pytest
import torch

from memorybench.cells import get_cell
from memorybench.cli.run import main
from memorybench.models import build_model, count_parameters
from memorybench.sweep.plan import plan_sweep
from memorybench.sweep.settings import SweepAxes, matched_hidden, parameter_count
from memorybench.tasks import get_task

LAYOUTS = [(1, False), (1, True), (2, False), (2, True)]  # (num_layers, bidirectional)


@pytest.mark.parametrize("num_layers, bidirectional", LAYOUTS)
@pytest.mark.parametrize("task", ["nndl", "mnist_rows"])  # tokens (an embedding) and vectors
@pytest.mark.parametrize("cell", ["srn", "lstm", "gru", "srn_book"])
@pytest.mark.parametrize("hidden", [7, 32])
def test_parameter_count_is_the_models(cell, hidden, task, num_layers, bidirectional):
    execution = "fused" if get_cell(cell).fused else "transparent"
    model = build_model(
        get_task(task),
        cell,
        execution=execution,
        hidden_size=hidden,
        num_layers=num_layers,
        bidirectional=bidirectional,
    )
    assert parameter_count(cell, hidden, task, num_layers=num_layers, bidirectional=bidirectional) == count_parameters(
        model
    )


def test_the_mnist_seed_lstm_is_counted_with_both_directions():
    assert parameter_count("lstm", 64, "mnist_rows", bidirectional=True) == 49_418  # not 24,714, one direction's


@pytest.mark.parametrize("hidden", [16, 32, 64])
def test_matched_hidden_sizes_give_the_srns_parameter_count_within_a_step(hidden):
    target = parameter_count("srn", hidden)
    for cell in ("lstm", "gru"):
        h = matched_hidden(cell, hidden)
        counts = [parameter_count(cell, size) for size in (h - 1, h, h + 1)]
        assert abs(counts[1] - target) <= min(abs(c - target) for c in counts)  # no neighbour is closer
        assert abs(counts[1] - target) / target < 0.08
    assert matched_hidden("srn", hidden) == hidden


@pytest.mark.parametrize("num_layers, bidirectional", LAYOUTS)
def test_matched_hidden_is_the_closest_of_every_size_for_each_layout(num_layers, bidirectional):
    layout = dict(num_layers=num_layers, bidirectional=bidirectional)
    target = parameter_count("srn", 12, **layout)
    for cell in ("lstm", "gru", "srn_book"):
        closest = min(
            range(1, 49), key=lambda h: (abs(parameter_count(cell, h, **layout) - target), h)
        )  # every size tried
        assert matched_hidden(cell, 12, **layout) == closest


def test_matched_sizes_count_the_second_layer():
    assert [matched_hidden("lstm", 32, num_layers=n) for n in (1, 2)] == [13, 14]
    matched = SweepAxes(match="params")
    assert [matched.overrides("lstm", num_layers=2, bidirectional=b) for b in (False, True)] == [
        [{"hidden_size": 14}],
        [{"hidden_size": 15}],
    ]


@pytest.mark.parametrize("cell", ["srn", "lstm", "gru", "indrnn", "mingru", "minlstm", "lru"])
def test_a_state_matched_cell_carries_as_many_numbers_as_the_srn(cell):
    hidden = matched_hidden(cell, 32, match="state")
    assert get_cell(cell).state_size(hidden) == 32
    model = build_model(get_task("nndl"), cell, hidden_size=hidden)  # counted on the model: what step() carries
    x = model.embedding(torch.zeros(1, 3, dtype=torch.long))
    params = {name[: -len("_l0")]: p for name, p in model.rnn.named_parameters()}
    spec = model.spec
    h = x.new_zeros(1, spec.state_factor * hidden)
    h, c, _ = spec.step(spec.project_input(params, x[:, 0]), spec.project_hidden(params, h), h, x.new_zeros(1, hidden))
    assert h.numel() + (c.numel() if spec.has_cell_state else 0) == 32


def test_axes_multiply_into_configs_and_the_forget_bias_touches_the_lstm_only():
    axes = SweepAxes(lr=(1e-3, 1e-2), init=("book", "torch"), forget_bias=(None, 1.0))
    configs = plan_sweep("nndl", ["srn", "lstm"], [5, 10], seeds=2, device="cpu", axes=axes)
    assert len(configs) == 2 * 2 * (4 + 8)
    lstm = {(c.lr, c.init, c.forget_bias) for c in configs if c.cell == "lstm"}
    assert len(lstm) == 8 and {c.forget_bias for c in configs if c.cell == "srn"} == {None}
    assert len({c.run_id() for c in configs}) == len(configs)
    assert plan_sweep("nndl", ["srn"], [5], seeds=1, device="cpu") == plan_sweep(
        "nndl", ["srn"], [5], seeds=1, device="cpu", axes=SweepAxes()
    )


def test_matched_sweep_gives_each_cell_its_hidden_size():
    configs = plan_sweep(
        "nndl", ["srn", "lstm", "gru"], [5], seeds=1, device="cpu", axes=SweepAxes(hidden=(32, 64), match="params")
    )
    sizes = {(c.cell, c.hidden_size) for c in configs}
    assert sizes == {
        ("srn", 32),
        ("srn", 64),
        ("lstm", matched_hidden("lstm", 32)),
        ("lstm", matched_hidden("lstm", 64)),
        ("gru", matched_hidden("gru", 32)),
        ("gru", matched_hidden("gru", 64)),
    }


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "0"], "argument --lr: learning rate 0 is not allowed (allowed: finite numbers > 0)"),
        (["--lr", "inf"], "learning rate inf is not allowed"),
        (["--init", "xavier"], "argument --init: invalid choice: 'xavier'"),
        (["--hidden", "0"], "hidden size 0 is too small (allowed: integers >= 1)"),
        (["--forget-bias", "nan"], "forget bias nan is not allowed (allowed: finite numbers, or none)"),
        (["--forget-bias", "big"], "forget bias 'big' is not a number"),
    ],
)
def test_bad_axis_values_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_the_size_check_counts_the_settings(tmp_path, capsys):
    argv = [
        "--seeds",
        "500",
        "--lengths",
        "5",
        "10",
        "--cells",
        "srn",
        "--lr",
        "1e-3",
        "2e-3",
        "3e-3",
        "4e-3",
        "5e-3",
        "6e-3",
        "7e-3",
        "8e-3",
        "9e-3",
        "1e-2",
        "2e-2",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(argv) == 2
    assert "this sweep plans 11,000 runs (more than 10,000); pass --yes" in capsys.readouterr().err
