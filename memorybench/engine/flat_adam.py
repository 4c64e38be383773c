"""Adam over all of a model's parameters as one flat tensor: a handful of operations per step, not a handful per parameter.

On the CPU at the book's sizes an optimizer step costs its operations' dispatch, not their
arithmetic: torch's Adam runs about ten small operations per parameter tensor (a stacked pack has
seven) plus its bookkeeping, a tenth of a stacked SRN pack's step. `FlatAdam` moves the parameters
into one contiguous buffer (each parameter becomes a view of its slice, which starts on the 64 bytes
torch's CPU allocator aligns a fresh tensor to), gathers their gradients into one buffer (a copy),
and runs the operations of `torch.optim.Adam`'s single-tensor path, in the same order and with the
same scalars, once over the buffer. Each of them is elementwise, and torch's kernels give an element
the same bits whether it falls in a vectorized block or in the scalar tail, so every weight gets the
bits torch's Adam gives it (tests/engine/test_flat_adam.py holds the two side by side).

Example:
    >>> _ = torch.manual_seed(0)
    >>> a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    >>> _ = b.load_state_dict(a.state_dict())
    >>> ours, theirs = FlatAdam(a.parameters(), lr=0.1), torch.optim.Adam(b.parameters(), lr=0.1)
    >>> for model, optimizer in ((a, ours), (b, theirs)):
    ...     model(torch.ones(4, 3)).square().sum().backward()
    ...     optimizer.step()
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
"""
from __future__ import annotations

import torch

ALIGNMENT = 64  # bytes: where each parameter's slice starts, as a tensor of its own would (c10's CPU allocator)


class FlatAdam:
    """`torch.optim.Adam` without weight decay, amsgrad or capturable state, over the parameters as one buffer.
    Every parameter must have a gradient at every step (a stacked pack's do); a step without one is an error."""

    def __init__(self, params, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.steps = lr, betas, eps, 0
        first = self.params[0]
        align = ALIGNMENT // first.element_size()
        starts, end = [], 0
        for p in self.params:
            starts.append(-(-end // align) * align)
            end = starts[-1] + p.numel()
        self.flat = first.new_zeros(end)  # (elements,): every parameter's numbers, zeros between them
        self.gather = []  # what `step` concatenates into the gradient buffer: each gradient, then zeros up to the next slice
        with torch.no_grad():
            for p, start, following in zip(self.params, starts, starts[1:] + [end]):
                n = p.numel()
                self.flat[start : start + n].copy_(p.reshape(-1))
                p.data = self.flat[start : start + n].view_as(p)  # the same Parameter, its numbers now in the buffer
                self.gather.append((p, first.new_zeros(following - start - n)))
        self.grad = torch.zeros_like(self.flat)
        self.exp_avg, self.exp_avg_sq = torch.zeros_like(self.flat), torch.zeros_like(self.flat)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        pieces = []
        for i, (p, gap) in enumerate(self.gather):
            if p.grad is None:
                raise RuntimeError(f"FlatAdam updates every parameter at once, but parameter {i} {tuple(p.shape)} has no gradient")
            pieces += [p.grad.reshape(-1), gap] if gap.numel() else [p.grad.reshape(-1)]
        grad = torch.cat(pieces, out=self.grad)
        beta1, beta2 = self.betas
        self.steps += 1
        # torch.optim.Adam's single-tensor path, operation for operation (torch/optim/adam.py, _single_tensor_adam)
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = float(self.steps)
        bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
        denom = (self.exp_avg_sq.sqrt() / bias_correction2**0.5).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, denom, value=-(self.lr / bias_correction1))
