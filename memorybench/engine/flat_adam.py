"""Adam over all of a model's parameters as one flat tensor: a handful of operations per step, not a handful per parameter.

On the CPU at the book's sizes an optimizer step costs its operations' dispatch, not their
arithmetic: torch's Adam runs about ten small operations and its bookkeeping per parameter tensor
(a model has five to nine), some 0.3 ms a step. `FlatAdam` moves the parameters into one contiguous
buffer (each parameter becomes a view of its slice, which starts on the 64 bytes torch's CPU
allocator aligns a fresh tensor to), gathers their gradients into one buffer (a copy), and runs the
operations of `torch.optim.Adam`'s single-tensor path, in the same order and with the same scalars,
once over the buffer, into buffers it keeps (no fresh tensor per step). Each of them is elementwise,
and torch's kernels give an element the same bits whether it falls in a vectorized block or in the
scalar tail, so every weight gets the bits torch's Adam gives it (tests/engine/test_flat_adam.py
holds the two side by side). Measured (`benchmarks/side_by_side.py`, 2-core AMD EPYC): the
default sweep's stacked packs train 1.06-1.12x faster, a single LSTM run 1.26x.

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
    """`torch.optim.Adam` without weight decay, amsgrad or capturable state, over the parameters as one buffer. A
    parameter without a gradient at a step is skipped, its step count too, as torch's Adam skips it; from then on the
    parameters step one slice at a time (the same arithmetic, as many operations as torch's)."""

    def __init__(self, params, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.counts = [0] * len(self.params)  # each parameter's steps, as torch keeps them
        first = self.params[0]
        align = ALIGNMENT // first.element_size()
        starts, end = [], 0
        for p in self.params:
            starts.append(-(-end // align) * align)
            end = starts[-1] + p.numel()
        self.flat = first.new_zeros(end)  # (elements,): every parameter's numbers, zeros between them
        self.slices = [slice(start, start + p.numel()) for start, p in zip(starts, self.params)]
        self.gaps = [
            first.new_zeros(following - start - p.numel())
            for p, start, following in zip(self.params, starts, starts[1:] + [end])
        ]
        with torch.no_grad():
            for p, part in zip(self.params, self.slices):
                self.flat[part].copy_(p.reshape(-1))
                p.data = self.flat[part].view_as(p)  # the same Parameter, its numbers now in the buffer
        self.grad, self.denom = (
            torch.zeros_like(self.flat),
            torch.zeros_like(self.flat),
        )  # reused: no allocation per step
        self.exp_avg, self.exp_avg_sq = torch.zeros_like(self.flat), torch.zeros_like(self.flat)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        if all(p.grad is not None for p in self.params) and len(set(self.counts)) == 1:
            pieces = [
                piece for p, gap in zip(self.params, self.gaps) for piece in (p.grad.reshape(-1), gap)
            ]  # empty gaps too
            self.counts = [count + 1 for count in self.counts]
            self.update(slice(None), torch.cat(pieces, out=self.grad), self.counts[0])
            return
        for i, (p, part) in enumerate(zip(self.params, self.slices)):
            if p.grad is not None:
                self.counts[i] += 1
                self.update(part, p.grad.reshape(-1), self.counts[i])

    def update(self, part: slice, grad: torch.Tensor, count: int) -> None:
        """torch.optim.Adam's single-tensor path, operation for operation (torch/optim/adam.py, _single_tensor_adam),
        on the buffer's `part` at step `count`."""
        beta1, beta2 = self.betas
        exp_avg, exp_avg_sq = self.exp_avg[part], self.exp_avg_sq[part]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1, bias_correction2 = 1 - beta1 ** float(count), 1 - beta2 ** float(count)
        denom = (
            torch.sqrt(exp_avg_sq, out=self.denom[part]).div_(bias_correction2**0.5).add_(self.eps)
        )  # the same kernels in place
        self.flat[part].addcdiv_(exp_avg, denom, value=-(self.lr / bias_correction1))
