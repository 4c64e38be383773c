"""A stacked pack's recurrence through time with its backward written out: no autograd graph per step.

At the book's sizes a CPU training step is dispatch-bound (issue 22): autograd records ~10
nodes a time step and its backward assembles each step's gradients with zero-filled
concatenations, then stacks them again for the input projection. `Recurrence` runs the
forward of `run_trimmed` (the same operations on the same values: each cell's `StepGrad.forward`
is its `step`) without a graph, keeps what the backward needs, and walks
back through time calling the operations autograd would call, in its order: the
recurrent matrices' and biases' gradients summed over time from the last step down, each
step's gradient written by the cell's backward straight into its time block of the input
projection's gradient.
So the gradients are autograd's, bit for bit (tests/engine/test_recurrence.py), up to the
sign of an exact zero, which no later number can see (Adam's moments, norms and clipping
treat +0 and -0 alike). The LSTM's and the GRU's packs of 18 train 1.08x faster so on a 2-core AMD
EPYC (`benchmarks/side_by_side.py --compare backward`); the SRN, whose step is one tanh, gained nothing (0.89x
when written straight into its blocks) and has no written backward.

Example:
    >>> from memorybench.cells import get_cell
    >>> spec = get_cell("gru")
    >>> E, n, B, H = 2, 3, 4, 5
    >>> blocks = [torch.randn(E, n, B, 3 * H, requires_grad=True)]  # the input projections, time blocks of n steps
    >>> weight_hh, bias_hh = torch.randn(E, 3 * H, H, requires_grad=True), torch.randn(E, 3 * H, requires_grad=True)
    >>> h = Recurrence.apply(spec.step_grad, (3, 2), weight_hh, bias_hh, *blocks)  # model 1 stops after 2 steps
    >>> h.shape  # (E, B, H): each model's state after its own last step
    torch.Size([2, 4, 5])
"""

from __future__ import annotations

import torch


def time_steps(blocks: list[torch.Tensor]) -> list[torch.Tensor]:
    """(E', n, B, G) time blocks -> T x (E', B, G) views, one a time step (E' may shrink from block to block)."""
    return [x_t for block in blocks for x_t in block.unbind(1)]


def run_trimmed(
    step,
    x_proj: list[torch.Tensor],
    ends: list[int],
    weight_hh: torch.Tensor,
    bias_hh: torch.Tensor,
    tape: list | None = None,
) -> torch.Tensor:
    """Each model's state after its own last step, for lengths `ends` in non-increasing order: at step t only
    the models longer than t are stepped (a prefix of the stack, sliced once per length), so a pack spends no
    time on its shorter runs' padding. A model's numbers are the ones it gets stepped through the padding and
    picked at its end (`block.last_states`): the same matmuls of its own rows, and exact zeros for the padded
    steps' gradients, which are not computed now (tests/engine/test_stacked.py).

    step: a cell's `step` or `StepGrad.forward`, (x_proj, h_proj, h, c) -> (h, c, extra); x_proj: T x (E', B, G), E'
    at least the models still going at step t;
    weight_hh (E, G, H); bias_hh (E, G). With `tape`, each step appends (models stepped, h before, extra).
    -> (E, B, H)"""
    h = c = x_proj[0].new_zeros(len(ends), x_proj[0].shape[1], weight_hh.shape[2])  # (E, B, H)
    recurrent, bias = weight_hh.transpose(1, 2), bias_hh[:, None]
    finished, active = [], len(ends)
    for t, x_t in enumerate(x_proj):
        running = active
        while running and ends[running - 1] <= t:  # the shortest still going ended before step t
            running -= 1
        if running < active:  # the models from `running` on have stopped: keep their states, step the rest
            finished.append(h[running:])
            h, c, active = h[:running], c[:running], running
            recurrent, bias = recurrent[:running], bias[:running]
        if not active:
            break
        x_t = x_t if active == len(ends) else x_t[:active]
        h_prev = h
        h, c, extra = step(x_t, torch.baddbmm(bias, h, recurrent), h, c)
        if tape is not None:
            tape.append((active, h_prev, extra))
    finished.append(h)
    return torch.cat(finished[::-1]) if len(finished) > 1 else finished[0]


class Recurrence(torch.autograd.Function):
    """(step_grad, ends, weight_hh (E, G, H), bias_hh (E, G), *blocks (E', n, B, G)) -> h (E, B, H), each model's
    state after its own last step (`run_trimmed`); `ends` the models' lengths, non-increasing (a sweep's packs
    are ordered so); a block may hold only its first E' models, those still going at its first step
    (`StackedModel.project_blocks`)."""

    @staticmethod
    def forward(ctx, step_grad, ends, weight_hh, bias_hh, *blocks):
        ctx.tape, ctx.step_grad, ctx.block_shapes = [], step_grad, [block.shape for block in blocks]
        ctx.save_for_backward(weight_hh)
        return run_trimmed(step_grad.forward, time_steps(blocks), ends, weight_hh, bias_hh, ctx.tape)

    @staticmethod
    def backward(ctx, g_out):
        (weight_hh,) = ctx.saved_tensors
        E, G, H = weight_hh.shape
        g_recurrent = weight_hh.new_zeros(E, H, G)  # summed from the last step down, as autograd sums it
        g_bias = weight_hh.new_zeros(E, 1, G)
        g_blocks = [weight_hh.new_empty(shape) for shape in ctx.block_shapes]
        g_x_proj = time_steps(g_blocks)  # T x (E', B, G), views of the blocks
        for g_t in g_x_proj[len(ctx.tape) :]:  # steps no model reached
            g_t.zero_()
        g_h = g_c = None
        below = 0  # the models still going one step later
        for t in range(len(ctx.tape) - 1, -1, -1):
            active, h_prev, saved = ctx.tape[t]
            if active > below:  # the models whose last step this is: their output's gradient
                g_h = g_out[:active] if g_h is None else torch.cat([g_h, g_out[below:active]])
                g_c = None if g_c is None else torch.cat([g_c, g_c.new_zeros(active - below, *g_c.shape[1:])])
            g_hp, g_h_direct, g_c = ctx.step_grad.backward(saved, g_h, g_c, g_x_proj[t][:active])
            g_x_proj[t][active:].zero_()  # the models that stopped
            g_recurrent[:active].add_(h_prev.transpose(1, 2).bmm(g_hp))  # baddbmm's gradients
            g_bias[:active].add_(g_hp.sum(1, keepdim=True))
            g_h = g_hp.bmm(weight_hh[:active])
            if g_h_direct is not None:
                g_h = g_h + g_h_direct
            below = active
        return None, None, g_recurrent.transpose(1, 2), g_bias[:, 0], *g_blocks
