"""A stacked run's result does not depend on its pack mates or on padding, bit for bit on the CPU: what lets
packs span lengths while a resumed sweep, a horizon search and --reuse get the bits a full sweep gets."""

import pytest
import torch

from memorybench.config import protocol_config
from memorybench.engine.loop import train_pack


def trained(configs, target):
    return train_pack(configs, layout="stacked")[configs.index(target)]


@pytest.mark.parametrize(
    "task, cell, lengths, clip",
    [
        ("nndl", "lstm", (30, 10, 5), "none"),
        ("adding", "gru", (100, 50, 25), "none"),
        ("nndl", "srn", (20, 10, 5), "global"),
        ("nndl", "gru", (5, 10, 20), "none"),
    ],
)
def test_a_stacked_runs_weights_and_scores_are_the_same_alone_and_beside_any_pack_mates(task, cell, lengths, clip):
    """Longest first (a sweep's order) the pack steps only the runs still going (`run_trimmed`); in another order
    it steps them all through the padding: the bits are a run's own either way."""
    config = lambda n, s: protocol_config(
        task, cell=cell, seq_len=n, seed=s, steps=60, eval_interval=20, device="cpu", clip=clip, clip_value=0.5
    )
    target = config(lengths[1], 1)
    alone = trained([target], target)
    uneven = [
        config(n, s) for n in lengths for s in range(3 if n == lengths[0] else 2)
    ]  # a run's place moves if the order slips
    for mates in ([config(lengths[1], s) for s in range(3)], uneven):
        packed = trained(mates, target)
        assert all(torch.equal(alone.state_dict[k], packed.state_dict[k]) for k in alone.state_dict)
        assert packed.result.test_score == alone.result.test_score
        assert packed.result.curves == alone.result.curves  # every logged number: losses, dev scores, gradient norms


@pytest.mark.parametrize("cell", ["lstm", "srn"])
def test_a_run_alone_in_its_packs_later_time_blocks_keeps_its_bits(cell):
    """The input projection skips each time block's models that have ended (`StackedModel.project_blocks`): a run of
    30 steps beside runs of 10 and 5 is the only one left in its second block of 16 steps, and still gets its own bits."""
    config = lambda n, s: protocol_config(
        "nndl", cell=cell, seq_len=n, seed=s, steps=60, eval_interval=20, device="cpu"
    )
    target = config(30, 0)
    alone = trained([target], target)
    packed = trained([target, config(10, 0), config(10, 1), config(5, 0)], target)
    assert all(torch.equal(alone.state_dict[k], packed.state_dict[k]) for k in alone.state_dict)
    assert packed.result.curves == alone.result.curves
