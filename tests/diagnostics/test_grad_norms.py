import pytest
import torch

from memorybench.config import protocol_config
from memorybench.diagnostics.grad_norms import GradientNorms
from memorybench.engine.loop import train_pack
from memorybench.models import model_for


@pytest.mark.parametrize("layout, seeds", [("single", 1), ("stacked", 2)])
def test_logged_norms_are_the_raw_ones_and_clipping_makes_each_min_of_raw_and_clip(layout, seeds):
    # one SGD step at lr 1: a parameter's update is its clipped gradient, so its norm is min(raw, clip)
    configs = [
        protocol_config(
            "nndl",
            cell="srn",
            seq_len=6,
            seed=s,
            steps=1,
            eval_interval=1,
            optimizer="sgd",
            lr=1.0,
            clip="per_param",
            clip_value=0.8,
            stop_on_perfect_dev=False,
            device="cpu",
        )
        for s in range(seeds)
    ]
    log = GradientNorms()
    outputs = train_pack(configs, layout, hooks=[log])
    table = log.table()
    assert len(table) == seeds * 7 and set(table["step"]) == {1}
    for e, (config, output) in enumerate(zip(configs, outputs)):
        before = model_for(config).state_dict()
        raw = table[table["replica"] == e].set_index("parameter")["grad_norm"]
        assert (raw > 0.8).any() and (raw < 0.8).any()  # one parameter above the clip value, one below
        for name, value in before.items():
            update = (output.state_dict[name] - value).norm().item()
            assert update == pytest.approx(min(raw[name], 0.8), rel=1e-4, abs=1e-7)
        assert output.result.curves[0]["grad_norm"] == pytest.approx(
            torch.tensor(raw.to_numpy()).norm().item(), rel=1e-5
        )


def test_norms_of_every_step_are_kept_and_read_back_at_evaluations():
    log = GradientNorms()
    config = protocol_config(
        "nndl", cell="gru", seq_len=5, steps=7, eval_interval=3, stop_on_perfect_dev=False, device="cpu"
    )
    train_pack([config], hooks=[log])
    assert sorted(log.table()["step"].unique()) == list(range(1, 8)) and not log._pending
