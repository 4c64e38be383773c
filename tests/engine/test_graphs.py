"""CUDA-graph replay of a pack's training step (`memorybench.engine.graphs`): needs a GPU, skipped without one.
The graphed runs against eager single runs: tests/engine/test_loop.py."""

import pytest
import torch

from memorybench.config import protocol_config
from memorybench.engine.graphs import GraphedStep
from memorybench.engine.loop import TrainStep, make_optimizer
from memorybench.engine.replicas import LAYOUTS
from memorybench.models import model_for
from memorybench.tasks import get_task

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def graphed_pack(clip: str):
    """A stacked pack of three SRNs at L=5 with one training batch each: (step, eager step, x (3, 8, 5), y (3, 8))."""
    configs = [protocol_config("nndl", cell="srn", seq_len=5, seed=s, clip=clip, device="cuda") for s in range(3)]
    task = get_task("nndl")
    replicas = LAYOUTS["stacked"]([model_for(c, task) for c in configs]).cuda()
    replicas.capturable = True
    eager = TrainStep(
        replicas, make_optimizer(configs[0], replicas.parameters(), capturable=True), task, configs[0], None, True, ()
    )
    data = [task.make_data(5, c.seed) for c in configs]
    x = torch.stack([d.train.inputs[:8] for d in data]).cuda()
    y = torch.stack([d.train.targets[:8] for d in data]).cuda()
    return GraphedStep(eager), eager, x, y


def test_a_step_that_does_not_clip_measures_gradient_norms_only_when_asked():
    graphed, eager, x, y = graphed_pack("none")
    graphed(x, y, False)
    assert not eager.grad_norm.any() and len(graphed.captured) == 1  # a plain step: no norms
    graphed(x, y, True)
    assert torch.equal(eager.grad_norm, eager.replicas.grad_norms()) and (eager.grad_norm > 0).all()  # this step's
    assert len(graphed.captured) == 2


def test_a_clipping_step_measures_them_every_step_from_one_graph():
    graphed, eager, x, y = graphed_pack("global")
    graphed(x, y, False)
    assert (eager.grad_norm > 0).all()  # clipping needs them
    graphed(x, y, True)
    assert len(graphed.captured) == 1
